"""Concurrent writers: processes registering and moving aliases in one registry at once,
on a local directory and on an S3 server. Slow: run alone with ``make test-slow``."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from pathlib import Path

import pytest
from pyarrow.fs import FileSystem

from launchbay.errors import LaunchbayError
from launchbay.registry import Registry

pytestmark = pytest.mark.slow
WRITERS, ROUNDS = 8, 4


def _writer(root: str, writer: int, barrier, out: str) -> None:
    """Register ROUNDS versions, promote each to ``champion`` and ``own-<writer>``, roll back every other round."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from launchbay.drift import build_reference

    frame = pd.DataFrame({"x": np.arange(40.0), "c": ["a", "b"] * 20})
    model, profile = LogisticRegression().fit(frame[["x"]], np.arange(40) % 2), build_reference(frame)
    registry = Registry(root)
    barrier.wait()
    versions, moves, refused = [], [], []
    for i in range(ROUNDS):
        version = registry.register("m", model, profile, {"writer": writer, "round": i}).version
        versions.append(version)
        for alias in ("champion", f"own-{writer}"):
            registry.set_alias("m", alias, version, reason=f"{writer}/{i}")
            moves.append([alias, version, "set"])
        for alias in ("champion", f"own-{writer}") if i % 2 else ():
            try:
                moves.append([alias, registry.rollback("m", alias, reason=f"{writer}/{i}"), "rollback"])
            except LaunchbayError as exc:  # others' moves may leave champion nothing to roll back to
                refused.append(str(exc))
    Path(out).write_text(json.dumps({"versions": versions, "moves": moves, "refused": refused}))


@pytest.fixture(params=["local", "s3"])
def registry_root(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "registry")
    query = request.getfixturevalue("s3_server")
    bucket = f"launchbay-{uuid.uuid4().hex[:8]}"
    FileSystem.from_uri(f"s3://{bucket}?{query}")[0].create_dir(bucket)
    return f"s3://{bucket}/registry?{query}"


def test_concurrent_writers_lose_no_version_and_no_alias_move(registry_root, tmp_path):
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(WRITERS)
    outs = [tmp_path / f"writer-{w}.json" for w in range(WRITERS)]
    workers = [spawn.Process(target=_writer, args=(registry_root, w, barrier, str(outs[w]))) for w in range(WRITERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0] * WRITERS
    done = [json.loads(out.read_text()) for out in outs]

    registry = Registry(registry_root)
    registered = [v for d in done for v in d["versions"]]
    assert sorted(registered) == registry.versions("m") == list(range(1, WRITERS * ROUNDS + 1))
    for writer, d in enumerate(done):
        for i, v in enumerate(d["versions"]):
            version = registry.get("m", v)
            assert (version.meta["writer"], version.meta["round"]) == (writer, i)
            assert version.load_model() is not None and version.load_profile() is not None

    history = registry.history("m")
    assert len(history) == sum(len(d["moves"]) for d in done)  # no move lost
    for writer, d in enumerate(done):  # each writer's moves, in its order
        mine = [[r["alias"], r["version"], r["action"]] for r in history if r["reason"].startswith(f"{writer}/")]
        assert mine == d["moves"]
        own = registry.history("m", f"own-{writer}")
        assert [r["version"] for r in own] == [v for alias, v, _ in d["moves"] if alias == f"own-{writer}"]
        assert all(r["previous"] == (own[k - 1]["version"] if k else None) for k, r in enumerate(own))
    assert all(message.startswith("registry: 'm' has no earlier champion") for d in done for message in d["refused"])
    aliases = registry.aliases("m")
    assert set(aliases) == {"champion"} | {f"own-{w}" for w in range(WRITERS)}
    assert all(v in registry.versions("m") for v in aliases.values())
    champion = registry.history("m", "champion")
    assert aliases["champion"] == champion[-1]["version"]
    for k, record in enumerate(champion):  # each move follows from an earlier state: a push or a pop
        assert record["stack"][-1] == record["version"]
        before = [[]] + [r["stack"] for r in champion[:k]]
        if record["action"] == "set":
            assert record["stack"][:-1] in before and record["previous"] == (record["stack"][-2:-1] or [None])[0]
        else:
            assert any(s[:-1] == record["stack"] and s[-1] == record["previous"] for s in before if s)
