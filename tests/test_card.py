"""A version's model card (``launchbay models card``): every section from what the registry keeps, as
Markdown and as a self-contained page; a version trained without fairness or importance says so; the
refusals are one line and write nothing."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from in_process import launchbay_main

from launchbay.registry import Registry

DESCRIPTION = "Ranks accounts by churn risk for retention offers, not for credit decisions"
GAPS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")


def card(home: Path, *argv: str) -> subprocess.CompletedProcess:
    """``python -m launchbay models card ARGV``, run in ``home``."""
    return subprocess.run([sys.executable, "-m", "launchbay", "models", "card", *argv], capture_output=True, text=True, cwd=home)


def sections(text: str, heading: str) -> dict[str, str]:
    """Section title -> its text, the titles found by ``heading`` (a pattern with one group)."""
    parts = re.split(heading, text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def both_formats(markdown: Path, page: Path) -> list[dict[str, str]]:
    """The sections of the Markdown card and of the page (its text unescaped, cells apart as in Markdown: ``a | b``)."""
    shown = html.unescape(page.read_text()).replace("</td><td>", " | ")
    return [sections(markdown.read_text(), r"^## (.+)$"), sections(shown, r"<h2>(.+?)</h2>")]


def test_the_card_states_every_section(governed, tmp_path):
    registry = Registry(governed / ".launchbay" / "registry")
    logged = registry.audit("demo").lines()
    out = card(governed, "demo", "--out", str(tmp_path / "cards"))
    assert out.returncode == 0, out.stderr
    markdown, page = tmp_path / "cards" / "demo-v2-card.md", tmp_path / "cards" / "demo-v2-card.html"
    assert out.stdout.endswith(f"markdown: {markdown}\nhtml: {page}\n") and "model card of demo v2" in out.stdout  # the champion
    version = registry.get("demo", 2)
    meta, contract, calibration = version.meta, version.load_contract(), version.load_calibration()
    fairness, importance = meta["fairness"], meta["importance"]
    entries = [e for e in registry.audit("demo").entries() if e["version"] == 2]
    [decision] = [d for d in registry.decisions("demo") if d["challenger_version"] == 2]
    assert [e["action"] for e in entries] == ["register", "candidate", "approve", "promote"]
    for shown in both_formats(markdown, page):
        assert list(shown) == ["Model details", "Intended use", "Training data", "Metrics", "Calibration", "Fairness", "Feature importance",
                               "Lineage", "Approval", "Known limits"]
        for value in ("demo", meta["family"], meta["registered_at"], meta["sha256"], "risk-team", "champion", *meta["features"]):
            assert value in shown["Model details"], value
        assert DESCRIPTION in shown["Intended use"]
        data = meta["data"]
        for value in (data["source"], f"{data['rows']:,}", data["fingerprint"], f"{meta['train_rows']:,}", f"{meta['holdout_rows']:,}",
                      f"policy {contract.policy.value}", *(f"{c.name} | {c.kind}" for c in contract.columns)):
            assert value in shown["Training data"], value
        assert f"{meta['holdout_rows']:,} holdout rows" in shown["Metrics"]
        assert all(f"{metric} | {value:.4f}" in shown["Metrics"] for metric, value in meta["metrics"].items())
        assert f"{calibration['method']}, fitted on {calibration['rows']:,} holdout rows" in shown["Calibration"]
        for column, measured_by in fairness["columns"].items():
            assert f"By {column}" in shown["Fairness"]
            for group in measured_by["groups"]:
                rates = (f"{group[k]:.4f}" if group[k] is not None else "undefined" for k in ("selection_rate", "tpr", "fpr", "accuracy"))
                cells = [group["group"], f"{group['rows']:,}", f"{group['labelled']:,}", *rates, "yes" if group["judged"] else "no"]
                assert " | ".join(cells) in shown["Fairness"]
            gaps = (f"{measured_by[gap]:.4f}" if measured_by[gap] is not None else "undefined" for gap in GAPS)
            assert " | ".join([column, *gaps]) in shown["Fairness"]
        assert f"fewer than {fairness['min_rows']} rows" in shown["Fairness"]
        assert f"{importance['repeats']} repeats on {importance['rows']:,} rows" in shown["Feature importance"]
        for f in importance["features"]:
            assert f"{f['feature']} | {f['mean']:.4f} | {f['std']:.4f}" in shown["Feature importance"]
        for value in (meta["run_id"], meta["python"], *meta["model_plugin"], *meta["model_plugin"].values(), *meta["packages"].values()):
            assert value in shown["Lineage"], value
        assert "Candidate for champion: approved, 1 of 1 approval(s) (alice); trained by" in shown["Approval"]
        assert all(reason in shown["Approval"] for reason in decision["reasons"])
        for e in entries:
            assert f"{e['seq']} | {e['at']} | {e['action']}" in shown["Approval"]
        assert "holdout checked" in shown["Approval"] and f"the audit log's {len(logged)} entries chain intact" in shown["Approval"]
        limits = shown["Known limits"]
        assert all(f"Too small to judge: {entry}." in limits for entry in fairness["too_small"])
        assert all(f"{gap.replace('_', ' ').capitalize()} by {column} is undefined." in limits
                   for column, measured_by in fairness["columns"].items() for gap in GAPS if measured_by[gap] is None)
        assert "not measured" not in limits and "intended use" not in limits
    assert "<script" not in page.read_text() and not re.search(r"\b(src|href)=", page.read_text())
    assert registry.audit("demo").lines() == logged  # the card only reads


def test_a_card_says_what_its_run_did_not_measure(governed, tmp_path):
    registry = governed / ".launchbay" / "registry"
    out = card(tmp_path, "demo", "1", "--registry", str(registry))
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("markdown: demo-v1-card.md\nhtml: demo-v1-card.html\n")  # into the current directory
    for shown in both_formats(tmp_path / "demo-v1-card.md", tmp_path / "demo-v1-card.html"):
        assert "aliases | none" in shown["Model details"]
        assert "Never a candidate for approval." in shown["Approval"] and "first version of 'demo'" in shown["Approval"]
    again = card(tmp_path, "demo", "1", "--registry", str(registry))
    assert again.returncode == 0, again.stderr  # its own card is replaced
    trained = launchbay_main("run", "job=train", "data.rows=600", "job.model_name=plain", cwd=tmp_path)  # no fairness.groups
    assert trained.returncode == 0, trained.stderr
    assert card(tmp_path, "plain", "--out", "plain").returncode == 0
    for shown in both_formats(tmp_path / "plain" / "plain-v1-card.md", tmp_path / "plain" / "plain-v1-card.html"):
        assert "Not measured (fairness.groups not set)." in shown["Fairness"] and "Fairness not measured" in shown["Known limits"]
        assert "Intended use" in shown and "not stated" in shown["Intended use"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["nowhere"], "registry: no model 'nowhere' in {registry} (have: demo)"),
        (["demo", "9"], "registry: model 'demo' has no version or alias '9' (versions: [1, 2])"),
        (["demo", "--out", "taken"], "--out: {home}/taken is a file, so {home}/taken/demo-v2-card.md cannot be made"),
        (["demo", "--out", "theirs"], "--out: theirs/demo-v2-card.md exists and was not written by launchbay; name a new file or remove it yourself"),
    ],
    ids=["no model", "no version", "out is a file", "a card launchbay did not write"],
)
def test_refusals_are_one_line_and_write_nothing(governed, tmp_path, argv, says):
    registry = governed / ".launchbay" / "registry"
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "demo-v2-card.md").write_text("# our own notes")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    out = card(tmp_path, *argv, "--registry", str(registry))
    assert out.returncode == 1 and out.stderr.splitlines() == [f"launchbay: error: {says.format(registry=registry, home=tmp_path)}"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
