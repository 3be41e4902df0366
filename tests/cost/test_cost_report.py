"""The cost report on a hand-made set of policies whose frontier and recommendation are known."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from launchbay.cost.billing import Cost, cost_of
from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, JobSpan, NodeSpan, NodeType, Outcome, PriceTable, Trace
from launchbay.cost.report import frontier_figure, pareto_front, write_report

PRICES = PriceTable(provider="aws", currency="USD")
# (policy, cost, p95 latency): the frontier runs auto-a, fixed-2, auto-c, fixed-4, fixed-8
POINTS = [
    (FixedPolicy("fixed-2", "m7i.2xlarge", nodes=2), 10.0, 500.0),
    (FixedPolicy("fixed-3", "m7i.2xlarge", nodes=3), 25.0, 250.0),  # fixed-4 is cheaper and faster
    (FixedPolicy("fixed-4", "m7i.2xlarge", nodes=4), 20.0, 200.0),
    (FixedPolicy("fixed-8", "m7i.2xlarge", nodes=8), 40.0, 190.0),
    (AutoscalingPolicy("auto-a", "m7i.2xlarge", max_workers=2), 8.0, 800.0),
    (AutoscalingPolicy("auto-b", "m7i.2xlarge", max_workers=3), 12.0, 600.0),  # fixed-2 is cheaper and faster
    (AutoscalingPolicy("auto-c", "m7i.2xlarge", max_workers=6), 15.0, 300.0),
]
FRONTIER = {"auto-a", "fixed-2", "auto-c", "fixed-4", "fixed-8"}


def row(policy, cost: float, p95_s: float, node_s: float = 36000.0, source: str = "simulated"):
    outcome = Outcome("t", policy.name, 86400.0, [NodeSpan("m7i.2xlarge", 0.0, 180.0, node_s, busy_s=node_s / 2)], [], source=source)
    bill = Cost(total=cost, idle=cost / 4, head=0.0, interruptions=0.0, by_node_type={"m7i.2xlarge": cost}, node_hours=node_s / 3600,
                cpu_allocation=0.25, busy_share=0.5, latency_p50_s=p95_s / 2, latency_p95_s=p95_s, slo_misses=int(p95_s > 400))
    return policy, outcome, bill


def report(tmp_path, slo_s: float | None = 400.0, rows=None):
    out = io.StringIO()
    trace = Trace("steady", [], horizon_s=86400.0, slo_s=slo_s)
    written = write_report(trace, PRICES, rows or [row(*point) for point in POINTS], tmp_path, Console(file=out, width=200))
    return written, out.getvalue()


def cells(table: str, policy: str) -> list[str]:
    (line,) = [line for line in table.splitlines() if line.startswith(f"│ {policy} ")]
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_the_frontier_is_what_no_point_beats_on_both():
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 1.0)]) == [0]
    assert pareto_front([(1.0, 5.0), (2.0, 5.0), (1.0, 5.0), (3.0, 1.0), (3.0, 2.0)]) == [0, 2, 3]
    assert [POINTS[i][0].name for i in pareto_front([(p95, cost) for _, cost, p95 in POINTS])] == ["fixed-2", "fixed-4", "fixed-8", "auto-a", "auto-c"]


def test_the_report_writes_a_table_cost_json_and_a_plot(tmp_path):
    written, table = report(tmp_path)
    saved = json.loads((tmp_path / "cost.json").read_text())
    assert saved == written
    assert {e["policy"] for e in saved["policies"] if e["on_frontier"]} == FRONTIER
    fixed_2 = saved["policies"][0]
    assert fixed_2 | {"settings": None} == fixed_2 | {
        "policy": "fixed-2", "kind": "fixed", "source": "simulated", "cost": 10.0, "idle_cost": 2.5, "node_hours": 10.0, "node_seconds": 36000.0,
        "cpu_allocation": 0.25, "gpu_allocation": None, "busy_share": 0.5, "latency_p50_s": 250.0, "latency_p95_s": 500.0, "slo_misses": 1, "settings": None,
    }
    assert fixed_2["settings"] == {"name": "fixed-2", "node_type": "m7i.2xlarge", "nodes": 2, "spot": False, "extra_types": {}}
    assert saved["trace"] == {"name": "steady", "horizon_s": 86400.0, "slo_s": 400.0, "jobs": 0} and saved["validation"] == []
    for header in ("policy", "kind", "cost", "idle cost", "node-h", "CPU alloc", "busy nodes", "p50 s", "p95 s", "> 400 s", "frontier"):
        assert header in table
    assert not re.search(r"\bsource\b", table) and "GPU alloc │" not in table  # one source, no GPU
    assert set(saved["definitions"]) == {"cpu_allocation", "gpu_allocation", "busy_share", "idle_cost"}
    assert "OpenCost" in saved["definitions"]["idle_cost"] and "Idle cost: the price of the billed CPU- and GPU-seconds" in " ".join(table.split())
    assert cells(table, "auto-c") == ["auto-c", "autoscaling", "15.00", "3.75", "10.0", "25%", "50%", "150", "300", "0", "*"]
    assert cells(table, "auto-b")[-1] == ""
    assert (tmp_path / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_plot_draws_the_frontier_through_the_right_points(tmp_path):
    written, _ = report(tmp_path)
    axes = frontier_figure(written["policies"], 400.0, "USD").axes[0]
    (frontier,) = [line for line in axes.lines if line.get_label() == "Pareto frontier"]
    assert list(zip(frontier.get_xdata(), frontier.get_ydata())) == [(190.0, 40.0), (200.0, 20.0), (300.0, 15.0), (500.0, 10.0), (800.0, 8.0)]
    assert sorted(text.get_text() for text in axes.texts) == sorted(policy.name for policy, _, _ in POINTS)
    assert [line.get_xdata()[0] for line in axes.lines if line.get_label() == "SLO 400 s"] == [400.0]


def test_the_recommendation_is_the_cheapest_policy_that_meets_the_slo(tmp_path):
    assert report(tmp_path)[0]["recommendation"] == (
        "Use auto-c (autoscaling): 15.00 USD over 24 h, the cheapest policy that meets the 400 s SLO; "
        "it saves 5.00 USD (25%) against fixed-4, the cheapest fixed policy that meets the 400 s SLO."
    )
    written, table = report(tmp_path, slo_s=None)
    assert written["recommendation"] == (
        "Use auto-a (autoscaling): 8.00 USD over 24 h, the cheapest policy; it saves 2.00 USD (20%) against fixed-2, the cheapest fixed policy."
    )
    assert "> " not in table and written["recommendation"] in table
    assert report(tmp_path, slo_s=100.0)[0]["recommendation"] == "No policy meets the 100 s SLO; the fastest is fixed-8 (p95 190 s, 40.00 USD)."
    only_fixed = [row(*point) for point in POINTS if isinstance(point[0], FixedPolicy)]
    assert report(tmp_path, rows=only_fixed)[0]["recommendation"].endswith("the cheapest policy that meets the 400 s SLO; no autoscaling policy meets it.")


def test_measured_rows_are_shown_beside_the_simulated_ones_with_the_error(tmp_path):
    auto_c = POINTS[-1][0]
    rows = [row(*point) for point in POINTS] + [row(auto_c, 16.0, 330.0, node_s=40000.0, source="measured")]
    written, table = report(tmp_path, rows=rows)
    assert written["validation"] == [{
        "policy": "auto-c", "node_seconds_simulated": 36000.0, "node_seconds_measured": 40000.0, "node_seconds_error_pct": pytest.approx(-10.0),
        "latency_p95_s_simulated": 300.0, "latency_p95_s_measured": 330.0, "latency_p95_error_pct": pytest.approx(-100 / 11),
    }]
    measured = [e for e in written["policies"] if e["source"] == "measured"]
    assert len(measured) == 1 and not measured[0]["on_frontier"]  # the frontier compares the simulated rows
    assert {e["policy"] for e in written["policies"] if e["on_frontier"]} == FRONTIER
    assert "simulated vs measured" in table and "-10.0%" in table and "-9.1%" in table and "measured" in table.split("simulated vs measured")[0]
    labels = [text.get_text() for text in frontier_figure(written["policies"], None, "USD").axes[0].texts]
    assert "auto-c (measured)" in labels


def test_a_billed_outcome_goes_into_the_report(tmp_path):
    prices = PriceTable(node_types={"cpu": NodeType(cpus=8, on_demand_per_h=3.6)})
    policy = FixedPolicy("fixed-1", "cpu", nodes=1)
    outcome = Outcome("t", "fixed-1", 3600.0, [NodeSpan("cpu", 0, 100, 3600, busy_s=1800, cpu_s=1800 * 2)], [JobSpan(0, 100, 400), JobSpan(10, 100, 1000)])
    trace = Trace("t", [], horizon_s=3600.0, slo_s=600.0)
    written = write_report(trace, prices, [(policy, outcome, cost_of(outcome, prices, trace))], tmp_path, Console(file=io.StringIO()))
    (only,) = written["policies"]
    assert (only["cost"], only["busy_share"], only["slo_misses"], only["on_frontier"]) == (pytest.approx(3.6), 0.5, 1, True)
    assert (only["cpu_allocation"], only["idle_cost"]) == (pytest.approx(0.125), pytest.approx(0.875 * 3.6))
