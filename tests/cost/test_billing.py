"""The bill of an outcome on hand-computed cases: prices of 3.6 and 1.8 an hour are 0.001 and 0.0005 a second."""

from __future__ import annotations

import pytest

from launchbay.cost.billing import cost_of
from launchbay.cost.model import JobSpan, NodeSpan, NodeType, Outcome, PriceTable, Trace, TraceJob
from launchbay.errors import LaunchbayError


def prices(**rules) -> PriceTable:
    node_types = {
        "cpu": NodeType(cpus=4, on_demand_per_h=3.6, spot_per_h=1.8, boot_s=100),
        "gpu": NodeType(cpus=4, gpus=1, on_demand_per_h=7.2, boot_s=300),
    }
    return PriceTable(node_types=node_types, **{"granularity_s": 1.0, "minimum_s": 60.0, **rules})


def outcome(*nodes: NodeSpan, jobs: list[JobSpan] | None = None, horizon_s: float = 3600.0) -> Outcome:
    return Outcome(trace="t", policy="p", horizon_s=horizon_s, nodes=list(nodes), jobs=jobs or [])


def test_a_short_node_is_billed_the_minimum():
    cost = cost_of(outcome(NodeSpan("cpu", requested_s=10, up_s=20, down_s=40, busy_s=15, cpu_s=15 * 4)), prices())
    assert cost.total == pytest.approx(60 * 0.001)
    assert cost.node_hours == pytest.approx(60 / 3600)
    assert cost.idle == pytest.approx(45 * 0.001)
    assert cost.cpu_allocation == cost.busy_share == pytest.approx(15 / 60)
    assert cost.gpu_allocation is None


def test_billed_time_is_rounded_up_to_the_increment():
    span = NodeSpan("cpu", requested_s=0, up_s=100, down_s=61.2, busy_s=0)
    assert cost_of(outcome(span), prices(granularity_s=10.0)).total == pytest.approx(70 * 0.001)
    assert cost_of(outcome(span), prices(granularity_s=1.0)).total == pytest.approx(62 * 0.001)
    assert cost_of(outcome(span), prices(granularity_s=1.0, minimum_s=0.0)).total == pytest.approx(62 * 0.001)


def test_boot_time_is_billed_and_counted_idle():
    # requested at 0, up at 100 (the boot), busy 500 of the 600 s it was up, gone at 700
    cost = cost_of(outcome(NodeSpan("cpu", requested_s=0, up_s=100, down_s=700, busy_s=500, cpu_s=500 * 4)), prices())
    assert cost.total == pytest.approx(700 * 0.001)
    assert cost.idle == pytest.approx(200 * 0.001)  # 100 s boot + 100 s idle
    assert cost.busy_share == pytest.approx(500 / 700)
    assert cost.head == 0.0


def test_a_spot_node_is_billed_the_spot_price():
    cost = cost_of(outcome(NodeSpan("cpu", requested_s=0, up_s=100, down_s=1000, busy_s=900, spot=True, cpu_s=900 * 4)), prices())
    assert cost.total == pytest.approx(1000 * 0.0005)
    assert cost.idle == pytest.approx(100 * 0.0005)
    assert cost.interruptions == 0.0


def test_spot_on_a_type_without_a_spot_market_is_one_line():
    with pytest.raises(LaunchbayError, match="node type 'gpu' has no spot price") as error:
        cost_of(outcome(NodeSpan("gpu", 0, 300, 900, spot=True)), prices())
    assert "\n" not in str(error.value)


def test_the_head_is_billed_on_demand_over_the_horizon_and_apart():
    cost = cost_of(outcome(NodeSpan("gpu", 0, 300, 1800, busy_s=1500, cpu_s=1500 * 4, gpu_s=1500), horizon_s=7200.0), prices(head="cpu"))
    assert cost.head == pytest.approx(7200 * 0.001)
    assert cost.by_node_type == {"gpu": pytest.approx(1800 * 0.002)}
    assert cost.total == pytest.approx(7200 * 0.001 + 1800 * 0.002)
    assert cost.node_hours == pytest.approx(0.5)  # the head is not a worker
    assert cost.idle == pytest.approx(300 * 0.002)


def test_costs_add_up_by_node_type():
    nodes = [
        NodeSpan("cpu", 0, 100, 3600, busy_s=3000, cpu_s=3000 * 4),
        NodeSpan("cpu", 0, 100, 1800, busy_s=1200, cpu_s=1200 * 4),
        NodeSpan("gpu", 600, 900, 2400, busy_s=1500, cpu_s=1500 * 4, gpu_s=1500),
    ]
    cost = cost_of(outcome(*nodes), prices())
    assert cost.by_node_type == {"cpu": pytest.approx(5400 * 0.001), "gpu": pytest.approx(1800 * 0.002)}
    assert cost.total == pytest.approx(5.4 + 3.6)
    assert cost.idle == pytest.approx(1200 * 0.001 + 300 * 0.002)
    assert cost.node_hours == pytest.approx(2.0)
    assert cost.busy_share == pytest.approx(5700 / 7200)
    assert cost.cpu_allocation == pytest.approx(5700 * 4 / (7200 * 4))
    assert cost.gpu_allocation == pytest.approx(1500 / 1800)


def test_spot_interruptions_bill_a_replacement_boot_and_half_a_task_when_busy():
    # 0.5 interruptions per node-hour over 2 billed hours: 1 expected; it bills the replacement's
    # 100 s boot and, half the time busy, half of a 200 s task: 100 + 0.5 * 100 = 150 s at the spot price
    span = NodeSpan("cpu", requested_s=0, up_s=100, down_s=7200, busy_s=3600, spot=True, cpu_s=3600 * 4)
    trace = Trace("t", [TraceJob(0, tasks=3, task_s=100), TraceJob(10, tasks=1, task_s=500)], horizon_s=7200)
    cost = cost_of(outcome(span), prices(spot_interruptions_per_h=0.5), trace)
    assert cost.interruptions == pytest.approx(150 * 0.0005)
    assert cost.total == pytest.approx((7200 + 150) * 0.0005)
    assert cost.idle == pytest.approx(3600 * 0.0005)  # the interruptions are apart
    without_trace = cost_of(outcome(span), prices(spot_interruptions_per_h=0.5))
    assert without_trace.interruptions == pytest.approx(100 * 0.0005)  # no task length: the boot only
    on_demand = NodeSpan("cpu", requested_s=0, up_s=100, down_s=7200, busy_s=3600)
    assert cost_of(outcome(on_demand), prices(spot_interruptions_per_h=0.5), trace).interruptions == 0.0


def test_latency_and_slo_misses_come_from_the_outcome():
    jobs = [JobSpan(arrival_s=0, start_s=0, end_s=latency) for latency in (100, 200, 300, 400, 1000)]
    trace = Trace("t", [], horizon_s=3600, slo_s=350)
    cost = cost_of(outcome(jobs=jobs), prices(), trace)
    assert cost.latency_p50_s == pytest.approx(300)
    assert cost.latency_p95_s == pytest.approx(880)  # numpy's linear quantile: 400 + 0.8 * 600
    assert cost.slo_misses == 2
    assert cost_of(outcome(jobs=jobs), prices()).slo_misses is None
    assert cost_of(outcome(jobs=jobs), prices(), Trace("t", [], horizon_s=3600)).slo_misses is None


def test_nothing_ran_costs_nothing_but_the_head():
    cost = cost_of(outcome(horizon_s=30.0), prices(head="cpu"))
    assert (cost.total, cost.idle, cost.node_hours, cost.busy_share) == (pytest.approx(0.06), 0.0, 0.0, 0.0)


def test_a_busy_node_whose_cpus_are_mostly_unreserved_is_mostly_idle():
    # one 1-CPU task on a 4-CPU node for the whole hour: the node is busy all along, its CPUs 25% reserved
    cost = cost_of(outcome(NodeSpan("cpu", 0, 0, 3600, busy_s=3600, cpu_s=3600)), prices())
    assert (cost.busy_share, cost.cpu_allocation) == (pytest.approx(1.0), pytest.approx(0.25))
    assert cost.idle == pytest.approx(0.75 * 3.6)


def test_a_gpu_nodes_price_is_split_between_its_cpus_and_its_gpus():
    # the CPU-only rate is 3.6 / 4 an hour per CPU: the gpu type's 4 CPUs are 3.6 of its 7.2, its GPU the rest
    cpus_only = cost_of(outcome(NodeSpan("gpu", 0, 0, 3600, busy_s=3600, cpu_s=4 * 3600)), prices())
    assert (cpus_only.cpu_allocation, cpus_only.gpu_allocation) == (pytest.approx(1.0), 0.0)
    assert cpus_only.idle == pytest.approx(3.6)  # the unreserved GPU
    gpu_only = cost_of(outcome(NodeSpan("gpu", 0, 0, 3600, busy_s=3600, cpu_s=0.0, gpu_s=1800)), prices())
    assert gpu_only.idle == pytest.approx(3.6 + 0.5 * 3.6)
    no_cpu_type = PriceTable(node_types={"gpu": NodeType(cpus=4, gpus=1, on_demand_per_h=7.2)})
    assert cost_of(outcome(NodeSpan("gpu", 0, 0, 3600, busy_s=3600, gpu_s=3600)), no_cpu_type).idle == pytest.approx(3.6)  # half
