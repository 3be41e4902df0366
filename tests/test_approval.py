"""Human sign-off (approval.mode=manual): a winning challenger is a candidate, promoted only once
``approval.required`` distinct names approve it; rejections, expiry and separation of duties; every
step in the audit log, whose chain still verifies."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest
from in_process import launchbay_main

from launchbay.registry import Registry

MANUAL = ["approval.mode=manual", "approval.trigger=always", "approval.margin=-1", "data.rows=2000", "batch.rows=1000"]


def pipeline(home: Path, *overrides: str):
    out = launchbay_main("run", "job=pipeline", *MANUAL, "+alerts.console={}", *overrides, cwd=home)
    assert out.returncode == 0, out.stderr
    return out


def refused(home: Path, *argv: str) -> str:
    out = launchbay_main(*argv, cwd=home)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1 and lines[0].startswith("launchbay: error: "), out
    return lines[0]


def test_a_candidate_is_promoted_by_two_approvers_and_every_step_is_audited(ray_session, tmp_path):
    out = pipeline(tmp_path, "approval.required=2")
    assert "ALERT model demo v2 awaits 2 approval(s)" in out.stderr
    registry = Registry(tmp_path / ".launchbay" / "registry")
    assert registry.aliases("demo") == {"champion": 1}  # the first version is crowned; the challenger waits
    [pending] = registry.pending("demo")
    assert (pending.version, pending.required, pending.approvers) == (2, 2, [])
    assert set(pending.evidence) == {"metrics", "holdout_rows", "reasons", "drift", "fairness", "importance"} and pending.evidence["drift"]["verdict"]

    listed = launchbay_main("models", "pending", cwd=tmp_path)
    assert listed.returncode == 0 and "demo" in listed.stdout and "0/2" in listed.stdout
    assert "needs approval to become champion (pending, 0 of 2 approvals)" in refused(tmp_path, "models", "promote", "demo", "2")
    assert "cannot approve it (approval.separate_duties=true)" in refused(tmp_path, "models", "approve", "demo", "2", "--by", getpass.getuser())

    first = launchbay_main("models", "approve", "demo", "2", "--by", "alice", "--reason", "holdout checked", cwd=tmp_path)
    assert first.stdout == "demo v2: approved by alice; 1 more approval(s) needed\n" and registry.aliases("demo")["champion"] == 1
    assert "alice has approved demo v2 already" in refused(tmp_path, "models", "approve", "demo", "2", "--by", "alice")
    second = launchbay_main("models", "approve", "demo", "2", "--by", "bob", cwd=tmp_path)
    assert second.stdout == "demo: champion -> v2 (approved by alice, bob)\n" and registry.aliases("demo")["champion"] == 2
    assert "awaits no decision: it is approved" in refused(tmp_path, "models", "reject", "demo", "2", "--by", "carol")

    entries = registry.audit("demo").entries()
    actions = [(e["action"], e["version"]) for e in entries]
    assert actions == [("register", 1), ("promote", 1), ("register", 2), ("candidate", 2), ("approve", 2), ("approve", 2), ("promote", 2)]
    assert [e["by"] for e in entries if e["action"] == "approve"] == ["alice", "bob"] and entries[4]["reason"] == "holdout checked"
    assert launchbay_main("models", "audit", "demo", "--verify", cwd=tmp_path).returncode == 0


def test_a_rejected_or_expired_candidate_is_never_promoted(ray_session, tmp_path):
    pipeline(tmp_path)
    registry = Registry(tmp_path / ".launchbay" / "registry")
    launchbay_main("models", "reject", "demo", "2", "--by", "alice", "--reason", "too risky", cwd=tmp_path)
    assert registry.pending("demo") == [] and "(rejected, 0 of 1 approvals)" in refused(tmp_path, "models", "promote", "demo", "2")
    pipeline(tmp_path, "approval.expires_h=0.0003")  # about a second
    time.sleep(1.5)
    assert registry.pending("demo") == []
    assert "awaits no decision: it is expired" in refused(tmp_path, "models", "approve", "demo", "3", "--by", "alice")
    actions = [(e["action"], e["version"]) for e in registry.audit("demo").entries()]
    assert ("reject", 2) in actions and ("expire", 3) in actions and registry.aliases("demo") == {"champion": 1}
    assert registry.audit("demo").verify() is None


@pytest.mark.parametrize(("key", "value"), [("approval.required", "0"), ("approval.expires_h", "0"), ("approval.mode", "maybe")])
def test_bad_approval_settings_are_one_line(tmp_path, key, value):
    assert key in refused(tmp_path, "run", "job=pipeline", f"{key}={value}")
