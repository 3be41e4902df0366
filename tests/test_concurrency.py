"""Concurrent writers: processes registering and moving aliases in one registry at once (on
a local directory and on an S3 server), and two scoring runs into one output. Slow: run
alone with ``make test-slow``."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyarrow.fs import FileSystem

from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.storage import SUCCESS

pytestmark = pytest.mark.slow
WRITERS, ROUNDS = 8, 3


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


def test_concurrent_writers_lose_no_version_no_alias_move_and_no_audit_entry(registry_root, tmp_path):
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(WRITERS)
    outs = [tmp_path / f"writer-{w}.json" for w in range(WRITERS)]
    workers = [spawn.Process(target=_writer, args=(registry_root, w, barrier, str(outs[w]))) for w in range(WRITERS)]
    for p in workers:
        p.start()
    deadline = time.monotonic() + 300  # generous: eight processes on a busy 2-core machine; a hang still fails
    for p in workers:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():  # hung: fail without leaving it behind
            p.kill()
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

    log = registry.audit("m")
    entries = log.entries()
    assert log.verify() is None and [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert sorted(e["version"] for e in entries if e["action"] == "register") == sorted(registered)  # no entry lost
    for writer, d in enumerate(done):  # each writer's moves, in its order
        mine = [[e["alias"], e["version"], "set" if e["action"] == "promote" else e["action"]] for e in entries if e["reason"].startswith(f"{writer}/")]
        assert mine == d["moves"]


def _launchbay(*args: str, cwd: Path) -> subprocess.Popen:
    cwd.mkdir()
    return subprocess.Popen([sys.executable, "-m", "launchbay", "run", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_into_one_output_leave_one_whole(tmp_path):
    registry = f"registry.path={tmp_path / 'registry'}"
    trained = _launchbay("job=train", "data.rows=2000", registry, cwd=tmp_path / "train")
    assert trained.wait(timeout=120) == 0, trained.communicate()[1]
    output, rows = tmp_path / "out" / "scores", {"a": 2000, "b": 3000}
    runs = {
        run: _launchbay("job=score", registry, f"score.output={output}", f"batch.rows={n}", "batch.chunk_rows=500", cwd=tmp_path / run)
        for run, n in rows.items()
    }
    ended = {run: (p.wait(timeout=180), p.communicate()[1]) for run, p in runs.items()}
    for code, stderr in ended.values():  # a run fails only by losing the commit, and says so in one line
        errors = [line for line in stderr.splitlines() if line.startswith("launchbay: error:")]
        assert code == 0 or (len(errors) == 1 and "was not committed" in errors[0] and "Traceback" not in stderr), stderr
    run_ids = {json.loads(next((tmp_path / run).glob("runs/*/*/summary.json")).read_text())["run_id"]: run
               for run, (code, _) in ended.items() if code == 0}
    assert run_ids, ended

    manifest = json.loads((output / SUCCESS).read_text())
    winner = run_ids[manifest["run_id"]]
    assert manifest["files"] == sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file() and p.name != SUCCESS)
    ids = pq.read_table(output, columns=["row_id"]).column("row_id").to_numpy()
    assert sorted(ids) == list(range(rows[winner]))  # every row of the winner's batch, once
    assert [p.name for p in output.parent.iterdir()] == ["scores"]  # no staging or retired folder left
