"""The README's governance walkthrough, run as written (each ``run`` on smaller synthetic data): manual
approval by two names, a rejection, the audit chain verified, fairness by group, the model card and the
fairness rule; then one line of the audit log is edited and ``--verify`` names it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from in_process import launchbay_main

from launchbay.registry import Registry

README = Path(__file__).parents[1] / "README.md"
SMALL = ["data.rows=3000", "batch.rows=2000"]  # the walkthrough's runs at a test's size


def walkthrough() -> list[list[str]]:
    """The commands of the README's governance walkthrough, as a shell would split them."""
    text = README.read_text()
    section = text[text.index("### Governance"):]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "the governance section has no command block"
    lines = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [line[1:] for line in lines if line and line[0] == "launchbay"]


def test_the_governance_walkthrough_runs_as_written_and_a_tampered_log_is_named(ray_session, tmp_path):
    commands = walkthrough()
    assert [c[:2] for c in commands].count(["models", "approve"]) == 2 and ["models", "card"] in [c[:2] for c in commands]
    for argv in commands:
        out = launchbay_main(*argv, *(SMALL if argv[0] == "run" else []), cwd=tmp_path)
        assert out.returncode == 0, (argv, out.stderr)
    registry = Registry(tmp_path / ".launchbay" / "registry")
    champion = registry.get("demo", "champion")
    assert champion.version == 2 or registry.audit("demo").entries()[-1]["action"] == "promote"  # the last run's challenger may win
    entries = registry.audit("demo").entries()
    assert [(e["action"], e["version"]) for e in entries][:9] == [
        ("register", 1), ("promote", 1), ("register", 2), ("candidate", 2), ("approve", 2), ("approve", 2), ("promote", 2),
        ("register", 3), ("candidate", 3),
    ]
    assert entries[9]["action"] == "reject" and entries[9]["by"] == "alice" and entries[9]["reason"] == "too risky"
    last = entries[-1]  # the fairness rule's run: the challenger refused (and why) or promoted
    assert last["action"] in ("refuse", "promote") and (last["action"] == "promote" or "approval.max_fairness_gap=0.05" in last["reason"]
                                                          or "did not win" in last["reason"])
    v2 = registry.get("demo", 2)
    assert "group" not in v2.meta["features"] and v2.load_contract().groups == ["group"] and v2.meta["owner"] == "risk-team"
    card = (tmp_path / "cards" / "demo-v2-card.md").read_text()
    assert "Ranks accounts by churn risk" in card and "By group" in card and "alice" in card and "bob" in card
    runs = sorted((tmp_path / "runs").glob("*/*-pipeline/summary.json"))
    assert all(json.loads(run.read_text())["fairness"]["columns"]["group"]["groups"] for run in runs)

    log = Path(registry.root) / "demo" / "audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    assert '"alice"' in lines[4]
    lines[4] = lines[4].replace('"alice"', '"mallory"')  # alice's approval, now in another name
    log.write_text("".join(lines))
    broken = launchbay_main("models", "audit", "demo", "--verify", cwd=tmp_path)
    assert broken.returncode == 1 and broken.stderr.strip().splitlines() == [
        f"launchbay: error: audit: {log}: line 5 was edited: line 6 does not chain to it"
    ]
