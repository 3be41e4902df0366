"""Cost per 1,000 predictions: the arithmetic on hand-computed cases (a price of 3.6 an hour is 0.001 a
second), then real runs priced with ``cost=aws``: their summaries, ``runs list --cost``, per model
version, the monitor's series, and ``bench cost trace=from_runs trace.scale=2`` on them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from in_process import launchbay_main

import launchbay
from launchbay.cost.model import NodeType, PriceTable
from launchbay.cost.predictions import amount, by_version, cost_section, per_1000, predictions
from launchbay.errors import LaunchbayError
from launchbay.history import Run

PRICES = PriceTable(provider="test", node_types={"small": NodeType(cpus=4, on_demand_per_h=3.6), "big": NodeType(cpus=16, on_demand_per_h=7.2)})
AWS_SMALLEST_PER_S = 0.2016 / 3600  # m7i.xlarge on demand: the cheapest aws type with the session Ray's 2 CPUs


def summary(node_s: float | None, rows: int | None = None, cpus: float = 2, version: str = "1", trained: bool = False) -> dict:
    """A run's summary: ``node_s`` seconds of one node (None: usage not measured), ``rows`` scored (None: a training run)."""
    model = {"name": "demo", "version": version}
    usage = {"node_s": {"head": node_s}, "node_types": {"head": {"cpus": cpus, "gpus": 0}}} if node_s is not None else {"error": "usage not measured: no Ray"}
    return {"usage": usage, **({"scores": {"rows": rows}, "model": model} if rows is not None else {}), **({"model": model} if trained else {})}


def test_cost_per_1000_predictions_is_the_runs_cost_over_its_rows():
    section = cost_section(summary(120.0, rows=4000), PRICES)
    assert section["total"] == pytest.approx(0.12)  # 120 s at 0.001 a second, on the cheaper type that holds 2 CPUs
    assert section["predictions"] == 4000
    assert section["per_1000_predictions"] == pytest.approx(0.03)  # 0.12 / 4000 * 1000
    assert section["nodes"] == [{"kind": "head", "seconds": 120.0, "billed_s": 120.0, "node_type": "small", "on_demand_per_h": 3.6,
                                 "cost": pytest.approx(0.12)}]
    assert (section["provider"], section["currency"]) == ("test", "USD") and "scores.rows" in section["method"]
    short = cost_section(summary(30.0, rows=3000), PRICES)
    assert (short["total"], short["per_1000_predictions"]) == (pytest.approx(0.06), pytest.approx(0.02))  # the 60 s minimum
    assert cost_section(summary(30.0, rows=3000, cpus=8), PRICES)["total"] == pytest.approx(60 * 0.002)  # 8 CPUs: the big type


def test_a_run_without_predictions_has_no_figure():
    trained = cost_section(summary(120.0, trained=True), PRICES)
    assert trained["total"] == pytest.approx(0.12) and trained["predictions"] is None and trained["per_1000_predictions"] is None
    assert cost_section(summary(120.0, rows=0), PRICES)["per_1000_predictions"] is None  # an empty batch: none, not a division by zero
    assert predictions({"scores": {"rows": 10}}) == 10 and predictions({"train": {}}) is None
    assert per_1000(1.0, None) is None and per_1000(1.0, 0) is None and per_1000(0.5, 250) == pytest.approx(2.0)


def test_what_cannot_be_priced_is_said_in_the_section():
    assert cost_section(summary(None, rows=10), PRICES)["error"] == "not priced: usage not measured: no Ray"
    unfit = cost_section(summary(10.0, rows=10, cpus=64), PRICES)
    assert unfit["error"] == "cost: no node type of test has 64 CPUs and 0 GPUs (for head)" and "total" not in unfit


def test_amounts_keep_four_significant_digits_without_exponents():
    assert [amount(v) for v in (0.00336, 12.5, 1.133e-05, 0.0, 1234.5)] == ["0.003360", "12.5000", "0.00001133", "0.0000", "1,234.5000"]
    assert amount(None) == ""


def test_versions_sum_their_runs_training_included():
    runs = [
        Run(Path("a"), summary(120.0, rows=4000)),  # 0.12
        Run(Path("b"), summary(30.0, rows=3000)),  # 0.06 (the minimum)
        Run(Path("c"), summary(None, rows=5000)),  # not metered: neither its cost nor its rows count
        Run(Path("d"), summary(60.0, version="10", trained=True)),  # 0.06, no predictions
        Run(Path("e"), summary(90.0, rows=1000, version="2")),  # 0.09
        Run(Path("f"), {"job": "drift"}),  # no model: not a version's
    ]
    entries = by_version(runs, PRICES)
    assert [(e.model, e.version, e.runs, e.unmetered, e.predictions) for e in entries] == [
        ("demo", "1", 3, 1, 7000), ("demo", "2", 1, 0, 1000), ("demo", "10", 1, 0, 0)]
    assert [e.total for e in entries] == [pytest.approx(0.18), pytest.approx(0.09), pytest.approx(0.06)]
    assert entries[0].per_1000_predictions == pytest.approx(0.18 / 7) and entries[1].per_1000_predictions == pytest.approx(0.09)
    assert entries[2].per_1000_predictions is None


DATA = ["data.rows=2000", "data.chunk_rows=1000"]
BATCH = ["batch.rows=3000", "batch.chunk_rows=1500"]


@pytest.fixture(scope="module")
def priced(ray_session, tmp_path_factory) -> tuple[Path, list[dict]]:
    """A folder with three real runs of model demo: a pipeline run and a score run priced with cost=aws, then a training run without."""
    home = tmp_path_factory.mktemp("priced")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        runs = [
            launchbay.run(["job=pipeline", *DATA, *BATCH, "approval.trigger=never", "cost=aws"]),
            launchbay.run(["job=score", *BATCH, "batch.seed=5", "cost=aws"]),
            launchbay.run(["job=train", *DATA]),
        ]
    return home, runs


def billed_at_aws(run: dict) -> float:
    """The run's node-seconds billed by hand: each node rounded up to the second, at least a minute, at m7i.xlarge's price."""
    return sum(max(60, math.ceil(seconds)) for seconds in run["usage"]["node_s"].values()) * AWS_SMALLEST_PER_S


def test_a_priced_run_says_what_its_predictions_cost(priced):
    _, (pipeline, score, train) = priced
    for run in (pipeline, score):
        section = run["cost"]
        assert (section["provider"], section["currency"]) == ("aws", "USD")
        assert section["predictions"] == run["scores"]["rows"] == 3000
        assert section["total"] == pytest.approx(billed_at_aws(run))
        assert section["per_1000_predictions"] == pytest.approx(billed_at_aws(run) / 3)
        assert {node["node_type"] for node in section["nodes"]} == {"m7i.xlarge"} and "cheapest aws node type" in section["method"]
    assert "cost" not in train  # without cost= nothing changes
    assert json.loads((Path(pipeline["run_dir"]) / "summary.json").read_text())["cost"] == pipeline["cost"]


def table_rows(stdout: str, holding: str) -> list[list[str]]:
    """The cells of each table row with a cell ``holding``."""
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in stdout.splitlines() if line.startswith("│")]
    return [row for row in rows if holding in row]


def table_cells(stdout: str, holding: str) -> list[str]:
    """The cells of the one table row with a cell ``holding``."""
    (row,) = table_rows(stdout, holding)
    return row


def test_runs_list_adds_the_cost_per_1000_predictions(priced):
    home, runs = priced
    out = launchbay_main("runs", "list", "--cost", "aws", cwd=home, COLUMNS="250")
    assert out.returncode == 0, out.stderr
    assert "cost (aws, USD)" in out.stdout and "per 1,000 predictions" in out.stdout
    for run in runs:
        cells = table_cells(out.stdout, run["run_id"])
        per_1000 = billed_at_aws(run) / run["scores"]["rows"] * 1000 if "scores" in run else None
        assert cells[-3:] == [amount(billed_at_aws(run)), amount(per_1000), run["run_id"]]
    assert table_cells(out.stdout, runs[2]["run_id"])[-2] == ""  # the training run: a cost, no figure per 1,000


def test_runs_list_by_version_sums_each_versions_runs(priced):
    home, (pipeline, score, train) = priced
    out = launchbay_main("runs", "list", "--cost", "aws", "--by-version", cwd=home, COLUMNS="250")
    assert out.returncode == 0, out.stderr
    first = billed_at_aws(pipeline) + billed_at_aws(score)
    assert table_rows(out.stdout, "demo") == [
        ["demo", "1", "2", "6,000", amount(first), amount(first / 6)],
        ["demo", "2", "1", "0", amount(billed_at_aws(train)), ""],  # the version the training run made: no predictions yet
    ]
    assert "training included" in out.stdout
    alone = launchbay_main("runs", "list", "--by-version", cwd=home)
    assert alone.returncode == 1 and alone.stderr.strip() == "launchbay: error: runs list: --by-version needs --cost PRICES (conf/cost: aws, gcp)"


def test_the_monitor_charts_the_cost_per_1000_predictions(priced):
    home, (pipeline, score, _) = priced
    out = launchbay_main("monitor", "demo", cwd=home, COLUMNS="250")
    assert out.returncode == 0, out.stderr
    values = [pipeline["cost"]["per_1000_predictions"], score["cost"]["per_1000_predictions"]]
    assert table_cells(out.stdout, "cost per 1,000 predictions · aws, USD")[2:5] == [f"{v:.3g}" for v in values] + [""]
    page = (home / "runs" / "monitor-demo.html").read_text()
    assert "<h2>Cost per 1,000 predictions</h2>" in page and "<h3>cost per 1,000 predictions · aws, USD</h3>" in page
    assert all(f"<title>run {i}: aws, USD {v:.4g}</title>" in page for i, v in enumerate(values, 1))
    assert "run 3: aws, USD" not in page  # the training run: a gap


def test_bench_from_runs_at_twice_the_rate(priced):
    home, runs = priced
    out = launchbay_main("bench", "cost", "trace=from_runs", f"trace.path={home / 'runs'}", "trace.scale=2", cwd=home)
    assert out.returncode == 0, out.stderr
    (report,) = home.glob("bench/*/*-from_runs/cost.json")
    trace = json.loads(report.read_text())["trace"]
    assert (trace["jobs"], trace["name"], trace["horizon_s"]) == (2 * len(runs), "runs:runs ×2", 86400.0)


def test_an_unknown_price_table_is_one_line_before_any_work(tmp_path, monkeypatch):
    out = subprocess.run([sys.executable, "-m", "launchbay", "run", "job=score", "cost=nope"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == "launchbay: error: config: Could not find 'cost/nope' (available: aws, gcp)\n"
    assert list(tmp_path.iterdir()) == []  # no run directory, no registry
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LaunchbayError, match=r"cost/nope") as error:
        launchbay.run(["job=score", "cost=nope"])
    assert "\n" not in str(error.value)
