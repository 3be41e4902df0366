"""``launchbay monitor MODEL`` after three real pipeline runs: the terminal table, the trend page,
the links between the page and the runs' reports."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from in_process import launchbay_main

from launchbay.history import Run
from launchbay.ownership import MARK
from launchbay.report.trend import Point, Series


def launchbay(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``launchbay ARGS`` in a process of its own, as a user runs it (the first page and the one-line errors)."""
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd)


class Page(HTMLParser):
    """What a page holds: every element with its attributes, the text of each h3 and each title,
    and the titles (tooltips) of each chart by the heading of its card."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {"h3": [], "title": []}
        self.open: list[str] = []
        self.feed(text)
        self.charts: dict[str, list[str]] = {}
        self.lines: dict[str, list[dict[str, str | None]]] = {}  # each card's polylines
        heading = ""
        for tag, attrs in self.elements:
            if tag == "h3":
                heading = self.texts["h3"][len(self.charts)].removesuffix(" — crossed")
                self.charts[heading], self.lines[heading] = [], []
            elif tag == "title" and heading:
                self.charts[heading].append(attrs["text"] or "")
            elif tag == "polyline" and heading:
                self.lines[heading].append(attrs)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs, text=None) if tag == "title" else dict(attrs)))
        self.open.append(tag)
        if tag in self.texts:
            self.texts[tag].append("")

    def handle_endtag(self, tag):
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data):
        if self.open and self.open[-1] in self.texts:
            self.texts[self.open[-1]][-1] += data
            if self.open[-1] == "title":
                self.elements[-1][1]["text"] = self.texts["title"][-1]

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


def summaries(home: Path) -> list[tuple[Path, dict]]:
    """The runs' folders and summaries, oldest first."""
    found = [(p.parent, json.loads(p.read_text())) for p in (home / "runs").rglob("summary.json")]
    return sorted(found, key=lambda run: run[1]["usage"]["started_at"])


def heights(line: dict) -> list[float]:
    """The y coordinates of a polyline's points (SVG: larger is lower on the chart)."""
    return [float(point.split(",")[1]) for point in str(line["points"]).split()]


def marked(value: float, crossed: bool) -> str:
    """A table cell: the value, with "!" when it crossed."""
    return f"{value:.3g} !" if crossed else f"{value:.3g}"


def series_names(summary: dict) -> list[str]:
    return [f"{row['feature']} · {row['metric']}" for row in summary["drift"]["metrics"]]


def table_row(stdout: str, name: str) -> list[str]:
    """The cells of the table row that starts with ``name``."""
    (line,) = [line for line in stdout.splitlines() if line.startswith(f"│ {name} ")]
    return [cell.strip() for cell in line.strip("│").split("│")]


@pytest.fixture(scope="module")
def monitored(demo_history):
    """``launchbay monitor demo`` run once in the folder of the three runs."""
    out = launchbay("monitor", "demo", cwd=demo_history)
    assert out.returncode == 0, out.stderr
    return demo_history, out.stdout, demo_history / "runs" / "monitor-demo.html"


def test_table_shows_every_feature_per_run_and_the_creep(monitored):
    home, stdout, _ = monitored
    runs = summaries(home)
    assert len(runs) == 3 and "page: runs/monitor-demo.html" in stdout
    assert all(f"#{i}" in stdout for i in (1, 2, 3))
    for name in series_names(runs[-1][1]):
        assert table_row(stdout, name)
    values = [next(r["value"] for r in s["drift"]["metrics"] if r["feature"] == "num_0") for _, s in runs]
    assert values == sorted(values), "the batch drifts further each run"
    num_0 = table_row(stdout, "num_0 · wasserstein_norm")
    assert num_0[1] == "≥ 0.1"
    assert num_0[2:5] == [f"{v:.3g} !" for v in values]  # every run crossed the threshold: marked
    assert num_0[5] == "↑"
    steady = table_row(stdout, "num_4 · wasserstein_norm")
    assert not any("!" in c for c in steady)
    share = table_row(stdout, "share of drifted features")
    assert share[2:5] == [marked(s["drift"]["share_drifted"], s["drift"]["share_drifted"] >= s["drift"]["drift_share"]) for _, s in runs]


def test_page_charts_every_feature_with_its_threshold(monitored):
    home, _, page_path = monitored
    runs = summaries(home)
    text = page_path.read_text()
    assert MARK in text[:200] and "<script" not in text and "http" not in text
    page = Page(text)
    names = series_names(runs[-1][1])
    metrics = list(dict.fromkeys(m for _, s in runs for part in ("reference", "realized", "estimated") for m in s["performance"][part] or {}))
    multivariate = f"multivariate · {runs[-1][1]['drift']['multivariate']['metric']}"
    assert list(page.charts) == ["share of drifted features", *metrics, multivariate, *names]
    svgs = page.all("svg")
    assert len(svgs) == 1 + len(metrics) + 1 + len(names)
    thresholds = [a for a in page.all("polyline") if a.get("stroke-dasharray")]
    # each chart draws its threshold; the multivariate one both ends of its band; a performance one its reference and alert line
    assert len(thresholds) == len(svgs) + 1 + len(metrics)
    for (_, summary), i in zip(runs, (1, 2, 3)):
        num_0 = next(r for r in summary["drift"]["metrics"] if r["feature"] == "num_0")
        assert f"run {i}: wasserstein_norm {num_0['value']:.4g} (crossed)" in page.texts["title"]
    assert "num_0 · wasserstein_norm — crossed" in page.texts["h3"]


def test_page_links_every_run_report_and_each_report_links_the_page(monitored):
    home, _, page_path = monitored
    runs = summaries(home)
    links = [a["href"] for a in Page(page_path.read_text()).all("a")]
    assert [(page_path.parent / str(href)).resolve() for href in links] == [(folder / "report.html").resolve() for folder, _ in runs]
    assert all(not str(href).startswith("/") for href in links)
    for folder, summary in runs:
        assert summary["run_id"] in page_path.read_text()
        report = Page((folder / "report.html").read_text())
        (href,) = [a["href"] for a in report.all("a")]
        assert href == "../../monitor-demo.html"
        assert (folder / str(href)).resolve() == page_path.resolve()


def test_last_keeps_the_newest_runs(monitored, tmp_path):
    home, _, _ = monitored
    runs = summaries(home)
    out = launchbay_main("monitor", "demo", "--last", "2", "--out", str(tmp_path / "two.html"), cwd=home)
    assert out.returncode == 0, out.stderr
    assert "#2" in out.stdout and "#3" not in out.stdout
    text = (tmp_path / "two.html").read_text()
    assert runs[0][1]["run_id"] not in text and all(s["run_id"] in text for _, s in runs[1:])
    for href in (a["href"] for a in Page(text).all("a")):
        assert (tmp_path / str(href)).resolve().is_file()


def test_replaces_only_a_page_it_wrote(monitored, tmp_path):
    home, _, page_path = monitored
    again = launchbay_main("monitor", "demo", cwd=home)
    assert again.returncode == 0, again.stderr
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my notes</p>")
    out = launchbay_main("monitor", "demo", "--out", str(notes), cwd=home)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == f"launchbay: error: --out: {notes} exists and was not written by launchbay; name a new file or remove it yourself"
    assert notes.read_text() == "<p>my notes</p>"


def test_bad_input_is_one_line(monitored, tmp_path):
    home, _, _ = monitored
    unknown = launchbay("monitor", "nope", cwd=home)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "launchbay: error: monitor: no run of model 'nope' (models with runs: demo)"
    missing = launchbay("monitor", "demo", "--dir", str(tmp_path / "none"), cwd=home)
    assert missing.returncode == 1 and missing.stderr.strip() == f"launchbay: error: monitor: --dir {tmp_path / 'none'} is not a folder of runs"
    zero = launchbay("monitor", "demo", "--last", "0", cwd=home)
    assert zero.returncode == 2 and "--last: expected a whole number of at least 1, got '0'" in zero.stderr
    assert not list(tmp_path.iterdir())


def test_the_multivariate_band_is_drawn_and_judged_as_each_run_decided(monitored):
    home, stdout, page_path = monitored
    runs = summaries(home)
    entries = [s["drift"]["multivariate"] for _, s in runs]
    inputs = [r["feature"] for r in runs[-1][1]["drift"]["metrics"] if r["kind"] == "numeric" and r["feature"] not in ("prediction", "score")]
    assert all(sorted(e["features"]) == sorted(inputs) for e in entries)  # the model's inputs, not its outputs (rows: by importance)
    name = f"multivariate · {entries[-1]['metric']}"
    row = table_row(stdout, name)
    assert row[1] == f"[{entries[-1]['lower']:.3g}, {entries[-1]['upper']:.3g}]"
    assert row[2:5] == [marked(e["value"], e["drifted"]) for e in entries]
    assert [e["value"] < e["lower"] or e["value"] > e["upper"] for e in entries] == [e["drifted"] for e in entries]
    page = Page(page_path.read_text())
    value, upper, lower = page.lines[name]
    assert upper["stroke-dasharray"] and lower["stroke-dasharray"] and not value.get("stroke-dasharray")
    for top, bottom, y, e in zip(heights(upper), heights(lower), heights(value), entries, strict=True):
        assert top < bottom and (top <= y <= bottom) != e["drifted"]  # drawn outside the band where it drifted
    for i, e in enumerate(entries, 1):
        assert f"run {i}: {e['metric']} {e['value']:.4g}{' (crossed)' if e['drifted'] else ''}" in page.charts[name]
    assert (f"{name} — crossed" in page.texts["h3"]) == entries[-1]["drifted"]


def crossed_by(metric: str, section: dict, part: str) -> bool:
    """Whether ``part``'s value of ``metric`` crossed: as the run decided for the value it judged by (realized, else
    estimated), by the drop rule otherwise."""
    from launchbay.performance.metrics import LOWER_IS_BETTER

    value, reference, limit = section[part][metric], section["reference"][metric], section["max_drop"][metric]
    if part == "realized" or (section["realized"] or {}).get(metric) is None:
        return metric in section["dropped"]
    return value > reference + limit if metric in LOWER_IS_BETTER else value < reference - limit


def assert_performance(stdout: str, page: Page, runs: list[dict]) -> None:
    """The table and the page show each run's performance section: per metric and part a cell marked as it crossed,
    the alert line below the reference (above it for lower-is-better metrics)."""
    from launchbay.performance.metrics import LOWER_IS_BETTER

    last = runs[-1]["performance"]
    for metric, reference in last["reference"].items():
        higher = metric not in LOWER_IS_BETTER
        for part in ("realized", "estimated"):
            if not any(metric in (s["performance"][part] or {}) for s in runs):
                assert f"{metric} · {part}" not in stdout  # no run measured it
                continue
            row = table_row(stdout, f"{metric} · {part}")
            alert = reference - last["max_drop"][metric] if higher else reference + last["max_drop"][metric]
            assert row[1] == f"{'<' if higher else '≥'} {alert:.3g}"
            cells = [marked(s["performance"][part][metric], crossed_by(metric, s["performance"], part))
                     if metric in (s["performance"][part] or {}) else "" for s in runs]
            assert row[2:2 + len(runs)] == cells
        lines = {line["stroke"]: line for line in page.lines[metric]}
        reference_line, alert_line = lines["#8a8a8a"], lines["#c0392b"]
        assert all((a > r) == higher for a, r in zip(heights(alert_line), heights(reference_line)))


def test_performance_is_read_from_each_run(monitored):
    home, stdout, page_path = monitored
    runs = [s for _, s in summaries(home)]
    assert all(s["performance"]["realized"] and s["performance"]["estimated"] for s in runs)
    assert "log_loss" in runs[-1]["performance"]["reference"]  # a lower-is-better metric among them
    assert_performance(stdout, Page(page_path.read_text()), runs)


@pytest.fixture(scope="module")
def unlabelled(demo_history, tmp_path_factory):
    """A copy of the three runs and a fourth, real one: the model scores a batch without its label column, its
    performance estimated only; the batch's numeric features squeezed to 0.3 of their spread, so that the scores
    crowd the middle and the estimate drops (by about 0.08 to 0.1 against max_drop 0.05)."""
    import pyarrow.parquet as pq

    from launchbay import run as run_job
    from launchbay.data.synthetic import DriftSpec, SyntheticConfig, generate

    home = tmp_path_factory.mktemp("unlabelled")
    shutil.copytree(demo_history, home, dirs_exist_ok=True)
    (home / "runs" / "monitor-demo.html").unlink(missing_ok=True)
    squeezed = DriftSpec(features=[f"num_{i}" for i in range(8)], scale=0.3)
    batch = generate(SyntheticConfig(rows=3000, chunk_rows=3000, seed=6, drift=squeezed), 0)
    pq.write_table(batch.drop_columns(["label"]), home / "unlabelled.parquet")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        run_job(["job=score", "data@batch=parquet", f"batch.path={home / 'unlabelled.parquet'}"])
    out = launchbay_main("monitor", "demo", cwd=home)
    assert out.returncode == 0, out.stderr
    return home, out.stdout


def test_a_run_without_labels_shows_its_estimate_only(unlabelled):
    home, stdout = unlabelled
    runs = [s for _, s in summaries(home)]
    section = runs[-1]["performance"]
    assert len(runs) == 4 and section["realized"] is None and section["estimated"] and section["dropped"] == list(section["estimated"])
    assert_performance(stdout, Page((home / "runs" / "monitor-demo.html").read_text()), runs)
    assert table_row(stdout, "accuracy · realized")[5] == ""  # a gap: no labels


def with_an_undefined_metric(home: Path, target: Path) -> list[Path]:
    """Copies of the three real runs, in the second of which num_2's metric is undefined, written by hand: real data
    that overflows the reference variance would not score at all."""
    folders = []
    for i, (folder, summary) in enumerate(summaries(home)):
        copy = target / "runs" / folder.parent.name / folder.name
        shutil.copytree(folder, copy)
        if i == 1:
            row = next(r for r in summary["drift"]["metrics"] if r["feature"] == "num_2")
            row.update(value=None, drifted=False, undefined="the reference variance overflows float64")
        (copy / "summary.json").write_text(json.dumps(summary))
        folders.append(copy)
    return folders


def test_an_undefined_metric_is_a_gap_with_its_reason(monitored, tmp_path):
    home, _, _ = monitored
    with_an_undefined_metric(home, tmp_path)
    out = launchbay_main("monitor", "demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert table_row(out.stdout, "num_2 · wasserstein_norm")[3] == "undefined"
    page = Page((tmp_path / "runs" / "monitor-demo.html").read_text())
    assert "run 2: wasserstein_norm undefined: the reference variance overflows float64" in page.texts["title"]
    num_2 = page.charts["num_2 · wasserstein_norm"]
    assert [t.split(":")[0] for t in num_2] == ["run 1", "run 3", "run 2"]  # points of runs 1 and 3, a gap and a ? for run 2
    assert num_2[2].startswith("run 2: wasserstein_norm undefined")


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(st.lists(st.one_of(st.none(), finite), min_size=2, max_size=20), st.floats(0.01, 10))
def test_trend_is_the_least_squares_slope_over_the_runs(values, threshold):
    from scipy.stats import linregress

    series = Series("x", [None if v is None else Point(v, threshold) for v in values])
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2 or len({v for _, v in known}) == 1:
        assert abs(series.change) <= 1e-6 * max([1.0, *(abs(v) for _, v in known)])
        return
    x, y = zip(*known)
    expected = linregress(x, y).slope * (x[-1] - x[0])
    assert math.isclose(series.change, expected, rel_tol=1e-6, abs_tol=1e-6 * max(abs(v) for v in y))
    if abs(expected) > 0.2 * threshold:
        assert series.trend == ("rising" if expected > 0 else "falling")
    assert series.towards_threshold == (series.trend == "rising")


def test_runs_are_ordered_by_when_they_started(monitored):
    from launchbay.history import runs

    home, _, _ = monitored
    found = runs(home / "runs")
    assert [r.summary["run_id"] for r in found] == [s["run_id"] for _, s in summaries(home)]
    assert all(isinstance(r, Run) and r.model == "demo" for r in found)


@pytest.mark.parametrize(
    ("pattern", "run_dir", "link"),
    [
        ("runs/${now:%Y-%m-%d}/${now:%H-%M-%S-%f}-${job.name}", "runs/2026-12-01/10-00-00-000000-pipeline", "../../monitor-demo.html"),
        ("runs/${now:%Y-%m-%d}/${now:%H-%M-%S-%f}-${job.name}", "runs/multirun/2026-12-01_10-00-00/0-pipeline", "../../../monitor-demo.html"),
        ("out/run-${now:%f}", "out/run-1", "../monitor-demo.html"),
        ("runs/${now:%Y-%m-%d}/${now:%H-%M-%S-%f}", "elsewhere/2026-12-01/10-00", None),
        ("${oc.env:HOME}/runs/${now:%f}", "runs/1", None),
    ],
)
def test_a_run_links_the_page_under_its_runs_root(pattern, run_dir, link, in_tmp):
    """The root is hydra.run.dir up to its first interpolation; sweeps (runs/multirun/...) lie in it too."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from launchbay.app import prepare
    from launchbay.history import trend_link
    from launchbay.settings import CONF_DIR

    prepare([])
    GlobalHydra.instance().clear()
    before = HydraConfig.instance().cfg
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            HydraConfig.instance().set_config(compose("config", overrides=[f"hydra.run.dir={pattern}"], return_hydra_config=True))
        assert trend_link(in_tmp / run_dir, "demo") == link
    finally:
        HydraConfig.instance().cfg = before
    if link:
        assert (in_tmp / run_dir / link).resolve() == (in_tmp / run_dir.split("/")[0] / "monitor-demo.html").resolve()


def test_a_summary_that_reads_wrong_is_one_line_naming_it(monitored, tmp_path):
    home, _, _ = monitored
    folders = with_an_undefined_metric(home, tmp_path)
    summary = json.loads((folders[1] / "summary.json").read_text())
    summary["drift"]["metrics"][0]["threshold"] = "high"
    (folders[1] / "summary.json").write_text(json.dumps(summary))
    out = launchbay_main("monitor", "demo", cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith(f"launchbay: error: monitor: {Path('runs') / folders[1].relative_to(tmp_path / 'runs') / 'summary.json'}: ")
    assert "could not convert string to float: 'high'" in out.stderr and not (tmp_path / "runs" / "monitor-demo.html").exists()
