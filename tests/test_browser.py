"""The run report, the trend page and the model card as a browser shows them: headless Chromium, driven by its
command line (the DOM after loading, console messages on stderr, a screenshot kept as an artifact)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BROWSER = "chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, installed with apt when missing and this runs as root; skipped otherwise."""
    found = shutil.which(BROWSER)
    if not found and os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "update"], ["apt-get", "install", "-y", BROWSER]):
            subprocess.run(step, capture_output=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which(BROWSER)
    if not found:
        pytest.skip(f"no {BROWSER} on PATH, and it cannot be installed here (needs root and apt-get)")
    return found


def browse(chromium: str, page: Path, *flags: str) -> subprocess.CompletedProcess:
    """Load ``page`` in headless Chromium with ``flags`` (as root it needs --no-sandbox)."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", *flags, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the console (errors, uncaught exceptions, logs): Chromium logs each as a CONSOLE line."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def dom(chromium: str, page: Path) -> str:
    """The page's DOM after loading, with no console message on the way."""
    loaded = browse(chromium, page, "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == [], f"{page.name} wrote to the console"
    return loaded.stdout


def screenshot(chromium: str, page: Path, target: Path) -> Path:
    """A PNG of ``page``, kept under ``target`` and, when ``LAUNCHBAY_ARTIFACTS`` is set, copied there."""
    shot = target / f"{page.stem}.png"
    taken = browse(chromium, page, f"--screenshot={shot}", "--window-size=1200,2400", "--hide-scrollbars")
    assert taken.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", taken.stderr[-2000:]
    assert shot.stat().st_size > 20_000, "a blank page"
    if artifacts := os.environ.get("LAUNCHBAY_ARTIFACTS"):
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot.name)
    return shot


@pytest.fixture(scope="module")
def pages(demo_history):
    """The newest run's report and the trend page ``launchbay monitor demo`` writes."""
    out = subprocess.run([sys.executable, "-m", "launchbay", "monitor", "demo"], capture_output=True, text=True, cwd=demo_history)
    assert out.returncode == 0, out.stderr
    reports = sorted((demo_history / "runs").glob("*/*/report.html"))
    return reports[-1], demo_history / "runs" / "monitor-demo.html"


def test_console_messages_are_caught(chromium, tmp_path):
    page = tmp_path / "noisy.html"
    page.write_text('<html><body><script>console.error("boom")</script></body></html>')
    assert any('"boom"' in line for line in console_messages(browse(chromium, page, "--dump-dom").stderr))


def test_run_report_in_a_browser(chromium, pages, tmp_path):
    import json

    report, _ = pages
    shown = dom(chromium, report)
    summary = json.loads((report.parent / "summary.json").read_text())
    assert shown.count("<svg") == summary["drift"]["features"]
    assert shown.count("<table") == 1 + bool(summary["performance"])  # the drift table and the performance one
    assert 'href="../../monitor-demo.html"' in shown
    screenshot(chromium, report, tmp_path)


def test_trend_page_in_a_browser(chromium, pages, tmp_path):
    import json

    _, trend = pages
    shown = dom(chromium, trend)
    newest = sorted((trend.parent).glob("*/*/summary.json"))
    summaries = [json.loads(p.read_text()) for p in newest]
    series = {(row["feature"], row["metric"]) for s in summaries for row in s["drift"]["metrics"]}
    metrics = {m for s in summaries for part in ("reference", "realized", "estimated") for m in s["performance"][part] or {}}
    multivariate = any(s["drift"].get("multivariate") for s in summaries)
    # a chart per feature and metric, the share of drifted features, the multivariate row, each performance metric
    assert shown.count("<svg") == len(series) + 1 + multivariate + len(metrics) and multivariate and metrics
    assert shown.count("<table") == 1 and shown.count(">report</a>") == len(newest)
    assert "<script" not in shown and "http" not in shown.replace("http-equiv", "")
    screenshot(chromium, trend, tmp_path)


def test_model_card_in_a_browser(chromium, governed, tmp_path):
    import json

    out = subprocess.run([sys.executable, "-m", "launchbay", "models", "card", "demo", "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=governed)
    assert out.returncode == 0, out.stderr
    page = tmp_path / "demo-v2-card.html"
    shown = dom(chromium, page)
    meta = json.loads((governed / ".launchbay" / "registry" / "demo" / "2" / "meta.json").read_text())
    calibrated = "calibration.json" in meta["files"]
    # model details, training data, contract, metrics, calibration, a table per fairness column and one of the gaps,
    # importance, lineage, the search if there was one, promotion decisions, audit log
    assert shown.count("<table") == 8 + calibrated + len(meta["fairness"]["columns"]) + 1 + bool(meta.get("search"))
    assert shown.count("<svg") == calibrated + 1  # the calibration curve, the importance bars
    assert "<script" not in shown and "http" not in shown.replace("http-equiv", "")
    screenshot(chromium, page, tmp_path)
