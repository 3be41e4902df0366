"""The audit log: every change to a model, hash-chained, printed by ``models audit`` and checked
by ``--verify``, which names the first entry edited, removed, added or reordered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from in_process import launchbay_main
from sklearn.linear_model import LogisticRegression

import launchbay
from launchbay.drift import build_reference
from launchbay.registry import Registry


@pytest.fixture
def registry(tmp_path) -> Registry:
    """A registry with 3 versions of "m": champion v1, then v2 (by Ann), then rolled back to v1 (by Bob)."""
    frame = pd.DataFrame({"x": np.arange(40.0)})
    model, profile = LogisticRegression().fit(frame, np.arange(40) % 2), build_reference(frame)
    registry = Registry(tmp_path / "registry")
    for i in range(3):
        registry.register("m", model, profile, {"run_id": f"run-{i}"})
    registry.set_alias("m", "champion", 1, reason="first")
    registry.set_alias("m", "champion", 2, reason="better on the holdout", by="Ann", run_id="run-1")
    registry.rollback("m", "champion", reason="a complaint", by="Bob")
    return registry


def test_every_change_is_an_entry_chained_to_the_one_before(registry):
    entries = registry.audit("m").entries()
    assert [(e["seq"], e["action"], e["version"]) for e in entries] == [
        (1, "register", 1), (2, "register", 2), (3, "register", 3), (4, "promote", 1), (5, "promote", 2), (6, "rollback", 1)
    ]
    assert [e["run_id"] for e in entries[:3]] == ["run-0", "run-1", "run-2"] and entries[4]["run_id"] == "run-1"
    assert (entries[4]["by"], entries[4]["reason"], entries[4]["alias"], entries[4]["previous"]) == ("Ann", "better on the holdout", "champion", 1)
    assert (entries[5]["by"], entries[5]["reason"]) == ("Bob", "a complaint") and "@" in entries[0]["by"]  # the OS user
    assert all(e["at"] for e in entries) and registry.audit("m").verify() is None


def log_path(registry: Registry) -> Path:
    return Path(registry.root) / "m" / "audit.jsonl"


def tampered(registry: Registry, change) -> str:
    path = log_path(registry)
    lines = path.read_text().splitlines()
    path.write_text("".join(f"{line}\n" for line in change(lines)))
    return str(registry.audit("m").verify())


def edit(k: int, key: str, value):
    def change(lines):
        entry = json.loads(lines[k - 1])
        entry[key] = value
        return [*lines[: k - 1], json.dumps(entry, sort_keys=True, separators=(",", ":")), *lines[k:]]

    return change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (edit(5, "by", "Mallory"), "line 5 was edited: line 6 does not chain to it"),
        (edit(1, "version", 9), "line 1 was edited: line 2 does not chain to it"),
        (edit(6, "reason", "no reason"), "line 6 was edited: it is not the last line the head records"),
        (lambda lines: lines[:2] + lines[3:], "line 3 holds entry 4: an entry before it was removed, or entries were reordered"),
        (lambda lines: [lines[1], lines[0], *lines[2:]], "line 1 holds entry 2: an entry before it was removed, or entries were reordered"),
        (lambda lines: lines[:-1], "line 6 was removed: the log ends at entry 5, its head records 6"),
        (lambda lines: [*lines, lines[-1]], "line 7 holds entry 6: an entry was added, or entries were reordered"),
        (lambda lines: [*lines[:3], "{not json", *lines[4:]], "line 4 was edited: it is not valid JSON"),
    ],
)
def test_verify_names_the_first_entry_that_was_changed(registry, change, named):
    assert tampered(registry, change) == named


def test_models_audit_prints_the_log_and_verify_fails_in_one_line_naming_the_entry(registry, tmp_path):
    where = str(Path(registry.root).parent)
    shown = launchbay_main("models", "audit", "m", "--registry", registry.root, cwd=tmp_path)
    assert shown.returncode == 0 and "audit log of m" in shown.stdout and "Ann" in shown.stdout and "rollback" in shown.stdout
    as_json = launchbay_main("models", "audit", "m", "--json", "--registry", registry.root, cwd=tmp_path)
    assert [json.loads(line)["seq"] for line in as_json.stdout.splitlines()] == [1, 2, 3, 4, 5, 6]
    intact = launchbay_main("models", "audit", "m", "--verify", "--registry", registry.root, cwd=tmp_path)
    assert intact.returncode == 0 and intact.stdout == "m: the audit log's 6 entries chain intact\n"
    tampered(registry, edit(5, "by", "Mallory"))
    broken = launchbay_main("models", "audit", "m", "--verify", "--registry", registry.root, cwd=tmp_path)
    assert broken.returncode == 1 and broken.stderr.strip().splitlines() == [
        f"launchbay: error: audit: {where}/registry/m/audit.jsonl: line 5 was edited: line 6 does not chain to it"
    ]


def test_a_pipeline_records_its_versions_and_promotions_with_its_run(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = launchbay.run(["job=pipeline", "data.rows=2000", "batch.rows=1000", "approval.trigger=always", "approval.margin=-1"])
    registry = Registry(tmp_path / ".launchbay" / "registry")
    entries = registry.audit("demo").entries()
    assert [(e["action"], e["version"]) for e in entries] == [("register", 1), ("promote", 1), ("register", 2), ("promote", 2)]
    assert {e["run_id"] for e in entries} == {first["run_id"]} and registry.audit("demo").verify() is None
