"""The model registry: versions and lineage on pyarrow filesystems, aliases, hash checks, rollback, diff."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from pyarrow import fs as pafs

from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.validation import ColumnRule, Contract


class Profile:
    def to_json(self) -> str:
        return "{}"


def test_versions_and_aliases(tmp_path):
    registry = Registry(tmp_path)
    first = registry.register("m", {"w": 1}, Profile(), {"metrics": {"auc": 0.8}})
    second = registry.register("m", {"w": 2}, Profile(), {"metrics": {"auc": 0.9}})
    assert (first.version, second.version) == (1, 2)
    assert registry.get("m").load_model() == {"w": 2}
    registry.set_alias("m", "champion", 1)
    assert registry.get("m", "champion").load_model() == {"w": 1}
    assert registry.models() == ["m"] and registry.versions("m") == [1, 2]


@pytest.mark.parametrize("where", ["uri", "subtree"])
def test_round_trip_on_pyarrow_filesystems(tmp_path, where):
    registry = (
        Registry(f"file://{tmp_path}/reg")
        if where == "uri"
        else Registry("reg", filesystem=pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem()))
    )
    contract = Contract([ColumnRule("x", "float", nullable=False, min=0.0, max=1.0)], policy="quarantine")
    lineage = {"metrics": {"auc": 0.9}, "data": {"fingerprint": "abc"}, "git_commit": None, "packages": {"ray": "2"}}
    registry.register("m", [1, 2], Profile(), lineage, contract=contract)
    version = registry.get("m", 1)
    assert version.load_model() == [1, 2]
    assert version.load_contract() == contract
    assert version.meta["data"] == {"fingerprint": "abc"} and set(version.meta["files"]) == {"model.pkl", "profile.json", "contract.json"}
    assert (tmp_path / "reg" / "m" / "1" / "meta.json").exists()


def test_tampered_artifact_is_refused(tmp_path):
    version = Registry(tmp_path).register("m", [1, 2, 3], Profile(), {})
    (version.path / "model.pkl").write_bytes(b"\x80\x05N.")
    with pytest.raises(LaunchbayError, match="model.pkl does not match its recorded sha256"):
        Registry(tmp_path).get("m", 1).load_model()
    (version.path / "profile.json").write_text('{"features": {}}')
    with pytest.raises(LaunchbayError, match="profile.json does not match"):
        Registry(tmp_path).get("m", 1).load_profile()


def test_half_written_version_is_invisible_and_skipped(tmp_path):
    registry = Registry(tmp_path)
    registry.register("m", 1, Profile(), {})
    (tmp_path / "m" / "2").mkdir()
    (tmp_path / "m" / "2" / "model.pkl").write_bytes(b"partial")
    assert registry.versions("m") == [1]
    assert registry.register("m", 3, Profile(), {}).version == 3


def test_unknown_names_are_one_line(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(LaunchbayError, match="no model 'x'"):
        registry.get("x")
    registry.register("m", 1, Profile(), {})
    with pytest.raises(LaunchbayError, match=r"no version or alias 'gold' \(versions: \[1\]\)"):
        registry.get("m", "gold")
    with pytest.raises(LaunchbayError, match="alias name 'latest' is not valid"):
        registry.set_alias("m", "latest", 1)
    with pytest.raises(LaunchbayError, match="registry.path: cannot open 'nosuchscheme://x'"):
        Registry("nosuchscheme://x")


def test_rollback_walks_back_one_move_at_a_time(tmp_path):
    registry = Registry(tmp_path)
    for w in range(3):
        registry.set_alias("m", "champion", registry.register("m", w, Profile(), {}).version, reason=f"round {w}")
    assert registry.rollback("m") == 2 and registry.rollback("m") == 1
    assert registry.get("m", "champion").load_model() == 0
    with pytest.raises(LaunchbayError, match="no earlier champion to roll back to"):
        registry.rollback("m")
    actions = [(r["action"], r["version"]) for r in registry.history("m", "champion")]
    assert actions == [("set", 1), ("set", 2), ("set", 3), ("rollback", 2), ("rollback", 1)]


def test_diff_and_decisions(tmp_path):
    registry = Registry(tmp_path)
    registry.register("m", 1, Profile(), {"metrics": {"auc": 0.8}, "config": {"model": {"C": 1}}, "packages": {"ray": "2.60"}})
    registry.register("m", 2, Profile(), {"metrics": {"auc": 0.9}, "config": {"model": {"C": 1}}, "packages": {"ray": "2.61"}})
    assert registry.diff("m", 1, 2) == {"metrics.auc": (0.8, 0.9), "packages.ray": ("2.60", "2.61")}
    registry.record_decision("m", {"promote": False, "reasons": ["too small a gain"]})
    assert [d["reasons"] for d in registry.decisions("m")] == [["too small a gain"]]


def _move_aliases(root: str, writer: int, rounds: int) -> None:
    registry = Registry(root)
    for i in range(rounds):
        registry.set_alias("m", "champion", 1 + (writer + i) % 2, reason=f"writer {writer} round {i}")
        registry.set_alias("m", f"own-{writer}", 1 + i % 2)


def _register(root: str, writer: int, rounds: int) -> None:
    for i in range(rounds):
        Registry(root).register("n", (writer, i), Profile(), {})


def test_two_concurrent_writers(tmp_path):
    registry = Registry(tmp_path)
    registry.register("m", "a", Profile(), {})
    registry.register("m", "b", Profile(), {})
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_move_aliases, args=(str(tmp_path), w, 20)) for w in range(2)]
    workers += [spawn.Process(target=_register, args=(str(tmp_path), w, 5)) for w in range(2)]
    for p in workers:
        p.start()
    seen = set()
    while any(p.is_alive() for p in workers):
        seen.add(registry.aliases("m").get("champion"))  # a reader never sees a torn or missing alias
    assert all(p.join() or p.exitcode == 0 for p in workers)
    assert seen <= {None, 1, 2}
    history = registry.history("m")
    assert len(history) == 80  # no move lost
    champion_moves = [r for r in history if r["alias"] == "champion"]
    assert registry.aliases("m") == {"champion": champion_moves[-1]["version"], "own-0": 2, "own-1": 2}
    assert registry.versions("n") == list(range(1, 11))
    assert sorted(registry.get("n", v).load_model() for v in range(1, 11)) == [(w, i) for w in range(2) for i in range(5)]


def test_rollback_replays_records_written_without_their_stack(tmp_path):
    registry = Registry(tmp_path)
    for w in range(3):
        registry.set_alias("m", "champion", registry.register("m", w, Profile(), {}).version)
    registry.rollback("m")
    for record in (tmp_path / "m" / "aliases" / "champion").iterdir():
        record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items() if k != "stack"}))
    assert registry.rollback("m") == 1
    assert registry.history("m", "champion")[-1]["stack"] == [1]
