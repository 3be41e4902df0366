"""The cluster simulator: hand-computed cases, Ray's autoscaler rules, and invariants over random small traces."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, JobSpan, NodeSpan, NodeType, Outcome, PriceTable, Trace, TraceJob
from launchbay.cost.simulate import TaskRun, simulate, simulate_tasks, sizing
from launchbay.errors import LaunchbayError


def prices(cpus: float = 4, gpus: float = 0, boot_s: float = 100) -> PriceTable:
    return PriceTable(node_types={"m": NodeType(cpus=cpus, gpus=gpus, on_demand_per_h=1.0, boot_s=boot_s)})


def autoscaling(min_workers: int = 0, max_workers: int = 10, speed: float = 1.0, idle_timeout_s: float = 60, spot: bool = False) -> AutoscalingPolicy:
    return AutoscalingPolicy("auto", "m", min_workers, max_workers, upscaling_speed=speed, idle_timeout_s=idle_timeout_s, spot=spot)


def alive(nodes: list[NodeSpan], time: float) -> int:
    return sum(n.requested_s <= time < n.down_s for n in nodes)


def running(nodes: list[NodeSpan], time: float) -> int:
    """Nodes up at an update at ``time``, not counting those it launched."""
    return sum(n.up_s <= time < n.down_s and n.requested_s < time for n in nodes)


def pending(nodes: list[NodeSpan], time: float) -> int:
    """Nodes booting just after an update at ``time``, counting those it launched."""
    return sum(n.requested_s <= time < n.down_s and (time < n.up_s or n.requested_s == time) for n in nodes)


def busy_seconds(runs: list[TaskRun]) -> float:
    total, reach = 0.0, -math.inf
    for run in sorted(runs, key=lambda r: r.start_s):
        total += max(0.0, run.end_s - max(run.start_s, reach))
        reach = max(reach, run.end_s)
    return total


def check_timeline(trace: Trace, outcome: Outcome, runs: list[TaskRun], node: NodeType) -> None:
    """What holds on every cluster: each task ran once, inside its node's life, within the node's resources."""
    assert outcome.horizon_s == max([trace.horizon_s, *(j.end_s for j in outcome.jobs)])
    for index, (job, span) in enumerate(zip(trace.jobs, outcome.jobs)):
        mine = [r for r in runs if r.job == index]
        assert sum(r.tasks for r in mine) == job.tasks
        assert span.arrival_s == job.arrival_s
        assert span.start_s == min((r.start_s for r in mine), default=job.arrival_s) >= job.arrival_s
        assert span.end_s == max((r.end_s for r in mine), default=job.arrival_s)
    for index, span in enumerate(outcome.nodes):
        mine = [r for r in runs if r.node == index]
        assert span.requested_s <= span.up_s <= span.down_s
        for run in mine:  # no task before its node is up, no node gone under a task
            assert span.up_s <= run.start_s and run.end_s <= span.down_s
        assert span.busy_s == pytest.approx(busy_seconds(mine))
        for time in {r.start_s for r in mine}:
            used = [r for r in mine if r.start_s <= time < r.end_s]
            assert sum(r.tasks * trace.jobs[r.job].cpus for r in used) <= node.cpus + 1e-9
            assert sum(r.tasks * trace.jobs[r.job].gpus for r in used) <= node.gpus + 1e-9


def check_autoscaler(outcome: Outcome, runs: list[TaskRun], policy: AutoscalingPolicy) -> None:
    """Ray's rules: max_workers, min_workers, the pending-node limit and the idle timeout."""
    nodes = outcome.nodes
    for time in {n.requested_s for n in nodes}:
        assert alive(nodes, time) <= policy.max_workers
        allowed = max(5, int(policy.upscaling_speed * max(running(nodes, time), 1)))
        assert pending(nodes, time) <= max(allowed, policy.min_workers)
    for time in {n.down_s for n in nodes if n.down_s < outcome.horizon_s}:
        assert alive(nodes, time) >= policy.min_workers
    for index, span in enumerate(nodes):
        if span.down_s < outcome.horizon_s:  # gone before the end: idle, unused for longer than the timeout
            last_used = max([span.up_s, *(r.end_s for r in runs if r.node == index)])
            assert last_used < span.down_s - policy.idle_timeout_s + 1e-9


def test_fixed_cluster_node_seconds_is_nodes_times_horizon() -> None:
    trace = Trace("t", [TraceJob(10, tasks=6, task_s=50)], horizon_s=1000)
    outcome = simulate(trace, FixedPolicy("fixed", "m", 3, spot=True), prices(boot_s=120))
    assert outcome.node_seconds() == 3 * 1000
    assert all(n.requested_s == 0 and n.up_s == 120 and n.spot and n.node_type == "m" for n in outcome.nodes)
    assert outcome.source == "simulated" and outcome.policy == "fixed" and outcome.trace == "t"


def test_fixed_cluster_runs_past_the_horizon_until_the_last_job_ends() -> None:
    trace = Trace("t", [TraceJob(90, tasks=1, task_s=50)], horizon_s=100)
    outcome = simulate(trace, FixedPolicy("fixed", "m", 2), prices(boot_s=0))
    assert outcome.horizon_s == 140 and outcome.node_seconds() == 2 * 140


def test_fixed_cluster_hand_computed_job_spans() -> None:
    # One 4-CPU node up at 100: the first job's 4 tasks fill it until 150, the second waits for them.
    trace = Trace("t", [TraceJob(0, tasks=4, task_s=50, cpus=1), TraceJob(10, tasks=2, task_s=30, cpus=2)], horizon_s=200)
    outcome = simulate(trace, FixedPolicy("fixed", "m", 1), prices(boot_s=100))
    assert outcome.jobs == [JobSpan(0, 100, 150), JobSpan(10, 150, 180)]
    assert outcome.nodes == [NodeSpan("m", 0, 100, 200, busy_s=80, cpu_s=4 * 1 * 50 + 2 * 2 * 30)]  # tasks x CPUs x seconds


def test_autoscaler_hand_computed_spans() -> None:
    # Arrives at 3, seen by the update at 5, the node is up at 65; idle from 165, then busy from 170 to 180,
    # and gone at the first update more than 30 s after that (215).
    trace = Trace("t", [TraceJob(3, task_s=100, cpus=2), TraceJob(170, task_s=10, cpus=2)], horizon_s=300)
    outcome = simulate(trace, autoscaling(max_workers=2, idle_timeout_s=30), prices(cpus=2, boot_s=60))
    assert outcome.jobs == [JobSpan(3, 65, 165), JobSpan(170, 170, 180)]
    assert outcome.nodes == [NodeSpan("m", 5, 65, 215, busy_s=110, cpu_s=2 * 100 + 2 * 10)]


def test_a_waiting_gpu_task_does_not_hold_back_a_cpu_task() -> None:
    trace = Trace("t", [TraceJob(0, tasks=2, task_s=100, cpus=1, gpus=1), TraceJob(1, tasks=1, task_s=10, cpus=4)], horizon_s=50)
    outcome = simulate(trace, FixedPolicy("fixed", "m", 1), prices(cpus=8, gpus=1, boot_s=0))
    assert outcome.jobs == [JobSpan(0, 0, 200), JobSpan(1, 1, 11)]


def test_a_freed_node_goes_to_the_oldest_waiting_job_first() -> None:
    # At 50 the second job takes the 2 CPUs freed; at 100 the 1.5-CPU job, older than the last 2-CPU one, goes first.
    jobs = [TraceJob(0, task_s=100, cpus=2), TraceJob(0, task_s=50, cpus=2), TraceJob(1, task_s=1000, cpus=2),
            TraceJob(2, task_s=10, cpus=1.5), TraceJob(3, task_s=10, cpus=2)]
    outcome = simulate(Trace("t", jobs, horizon_s=10), FixedPolicy("fixed", "m", 1), prices(boot_s=0))
    assert outcome.jobs[2:] == [JobSpan(1, 50, 1050), JobSpan(2, 100, 110), JobSpan(3, 110, 120)]


def test_no_load_keeps_exactly_min_workers_for_the_horizon() -> None:
    outcome = simulate(Trace("idle", [], horizon_s=3600), autoscaling(min_workers=2, idle_timeout_s=0), prices(boot_s=90))
    assert outcome.nodes == [NodeSpan("m", 0, 90, 3600)] * 2
    assert outcome.node_seconds() == 2 * 3600


def test_burst_scales_up_then_back_down_after_the_idle_timeout() -> None:
    trace = Trace("burst", [TraceJob(0, tasks=40, task_s=300, cpus=4)], horizon_s=5000)
    policy = autoscaling(min_workers=1, max_workers=50, idle_timeout_s=120)
    outcome, runs = simulate_tasks(trace, policy, prices(boot_s=100))
    nodes = outcome.nodes
    assert max(alive(nodes, n.up_s) for n in nodes) > 5
    check_autoscaler(outcome, runs, policy)
    gone = [(i, n) for i, n in enumerate(nodes) if n.down_s < outcome.horizon_s]
    assert len(nodes) - len(gone) == 1  # back to min_workers
    for index, span in gone:
        last_used = max(r.end_s for r in runs if r.node == index)
        assert last_used + 120 < span.down_s <= last_used + 120 + 5


def test_min_workers_stay_after_a_burst_and_the_most_recently_used_stay() -> None:
    trace = Trace("t", [TraceJob(0, tasks=6, task_s=100, cpus=4), TraceJob(500, tasks=1, task_s=100, cpus=4)], horizon_s=2000)
    outcome, runs = simulate_tasks(trace, autoscaling(min_workers=2, idle_timeout_s=60), prices(boot_s=50))
    kept = [i for i, n in enumerate(outcome.nodes) if n.down_s == outcome.horizon_s]
    assert len(kept) == 2
    assert any(r.node in kept and r.job == 1 for r in runs)


def test_pending_nodes_respect_the_upscaling_speed() -> None:
    trace = Trace("t", [TraceJob(0, tasks=100, task_s=1000, cpus=4)], horizon_s=100)
    for speed, first in ((0.5, 5), (1.0, 5), (10.0, 10)):
        outcome, runs = simulate_tasks(trace, autoscaling(max_workers=100, speed=speed), prices(boot_s=100))
        assert sum(n.requested_s == 0 for n in outcome.nodes) == first
        check_autoscaler(outcome, runs, autoscaling(max_workers=100, speed=speed))


def test_booting_nodes_count_toward_the_demand() -> None:
    # Three 1-CPU tasks fit one 4-CPU node: the updates while it boots launch no other.
    outcome = simulate(Trace("t", [TraceJob(0, tasks=3, task_s=10, cpus=1)], horizon_s=10), autoscaling(), prices(boot_s=100))
    assert len(outcome.nodes) == 1


def test_the_demand_is_packed_heaviest_first() -> None:
    # First fit decreasing puts 3 + 1 CPUs on each of two 4-CPU nodes; lightest first would need three. The
    # scheduler then starts the older 1-CPU tasks first, both on one node, and the last 3-CPU task needs a third
    # node: Ray's packing does not promise the scheduler will place tasks its way either (get_bin_pack_residual).
    jobs = [TraceJob(0, tasks=2, task_s=10, cpus=1), TraceJob(0, tasks=2, task_s=10, cpus=3)]
    outcome = simulate(Trace("t", jobs, horizon_s=10), autoscaling(), prices(boot_s=100))
    assert [n.requested_s for n in outcome.nodes] == [0, 0, 100]


def test_a_node_that_boots_after_its_work_is_done_is_idle_from_its_boot() -> None:
    # The second job launches a node at 120 but starts at 150 on the first node; the new one, up at 220 and
    # never used, goes at the first update more than 60 s later (285).
    jobs = [TraceJob(0, task_s=50, cpus=4), TraceJob(120, task_s=10, cpus=4)]
    outcome = simulate(Trace("t", jobs, horizon_s=400), autoscaling(idle_timeout_s=60), prices(boot_s=100))
    assert outcome.jobs == [JobSpan(0, 100, 150), JobSpan(120, 150, 160)]
    assert outcome.nodes == [NodeSpan("m", 0, 100, 225, busy_s=60, cpu_s=4 * 50 + 4 * 10), NodeSpan("m", 120, 220, 285)]


def test_the_autoscaler_sees_at_most_1000_waiting_tasks() -> None:
    trace = Trace("t", [TraceJob(0, tasks=2000, task_s=10, cpus=1)], horizon_s=10)
    outcome = simulate(trace, autoscaling(max_workers=5000, speed=5000), prices(cpus=1, boot_s=100))
    assert sum(n.requested_s == 0 for n in outcome.nodes) == 1000


def test_the_autoscaler_never_exceeds_max_workers() -> None:
    trace = Trace("t", [TraceJob(0, tasks=30, task_s=100, cpus=4)], horizon_s=10)
    outcome, runs = simulate_tasks(trace, autoscaling(max_workers=3), prices(boot_s=10))
    assert len(outcome.nodes) == 3 and max(j.end_s for j in outcome.jobs) == 10 + 10 * 100
    check_autoscaler(outcome, runs, autoscaling(max_workers=3))


def test_an_impossible_task_is_a_one_line_error() -> None:
    trace = Trace("t", [TraceJob(0, cpus=1), TraceJob(0, cpus=8, name="big")], horizon_s=10)
    for policy in (FixedPolicy("fixed", "m", 2), autoscaling()):
        with pytest.raises(LaunchbayError, match="job 'big' of trace 't' asks for 8 CPUs") as error:
            simulate(trace, policy, prices())
        assert "\n" not in str(error.value)
    with pytest.raises(LaunchbayError, match="GPUs"):
        simulate(Trace("t", [TraceJob(0, gpus=1)], horizon_s=10), autoscaling(), prices())


def test_a_cluster_with_no_workers_for_a_trace_with_tasks_is_an_error() -> None:
    trace = Trace("t", [TraceJob(0)], horizon_s=10)
    with pytest.raises(LaunchbayError, match="no workers"):
        simulate(trace, autoscaling(max_workers=0), prices())
    assert simulate(Trace("t", [TraceJob(0, tasks=0)], horizon_s=10), FixedPolicy("none", "m", 0), prices()).jobs == [JobSpan(0, 0, 0)]


def test_sizing_at_peak_p95_and_mean() -> None:
    # 8 CPUs from 10 to 40, 4 CPUs from 0 to 10 and 40 to 50, nothing after: 2 nodes for 30 s, 1 for 20 s.
    trace = Trace("t", [TraceJob(0, tasks=4, task_s=50, cpus=1), TraceJob(10, tasks=2, task_s=30, cpus=2)], horizon_s=200)
    assert sizing(trace, NodeType(cpus=4)) == {"peak": 2, "p95": 2, "mean": 1}
    steady = Trace("s", [TraceJob(0, tasks=10, task_s=1000, cpus=4), TraceJob(990, tasks=40, task_s=10, cpus=4)], horizon_s=1000)
    assert sizing(steady, NodeType(cpus=4)) == {"peak": 50, "p95": 10, "mean": 11}
    assert sizing(Trace("e", [], horizon_s=100), NodeType(cpus=4)) == {"peak": 1, "p95": 1, "mean": 1}
    gpus = Trace("g", [TraceJob(0, tasks=3, task_s=100, cpus=1, gpus=1)], horizon_s=100)
    assert sizing(gpus, NodeType(cpus=16, gpus=1))["peak"] == 3


job_strategy = st.builds(
    TraceJob,
    arrival_s=st.integers(0, 600).map(float),
    tasks=st.integers(0, 6),
    task_s=st.sampled_from([1.0, 5.0, 30.0, 62.5, 200.0]),
    cpus=st.sampled_from([0.5, 1.0, 1.5, 2.0, 4.0]),
)
trace_strategy = st.builds(Trace, name=st.just("random"), jobs=st.lists(job_strategy, max_size=8), horizon_s=st.integers(0, 1200).map(float))


@settings(max_examples=150, deadline=None)
@given(
    trace=trace_strategy,
    bounds=st.tuples(st.integers(0, 3), st.integers(1, 6)).map(sorted),
    speed=st.sampled_from([0.25, 0.5, 1.0, 2.0, 10.0]),
    idle_timeout_s=st.sampled_from([0.0, 10.0, 60.0, 200.0]),
    boot_s=st.sampled_from([0.0, 30.0, 100.0]),
    update_interval_s=st.sampled_from([1.0, 5.0, 7.5]),
)
def test_autoscaler_invariants_over_random_traces(trace, bounds, speed, idle_timeout_s, boot_s, update_interval_s) -> None:
    policy = autoscaling(bounds[0], max(bounds[1], 1), speed, idle_timeout_s)
    table = prices(boot_s=boot_s)
    outcome, runs = simulate_tasks(trace, policy, table, update_interval_s=update_interval_s)
    check_timeline(trace, outcome, runs, table.node("m"))
    check_autoscaler(outcome, runs, policy)
    if not any(job.tasks for job in trace.jobs):
        assert len(outcome.nodes) == policy.min_workers
    assert simulate(trace, policy, table, update_interval_s=update_interval_s) == outcome


@settings(max_examples=100, deadline=None)
@given(trace=trace_strategy, nodes=st.integers(1, 4), boot_s=st.sampled_from([0.0, 30.0, 100.0]))
def test_fixed_invariants_over_random_traces(trace, nodes, boot_s) -> None:
    table = prices(boot_s=boot_s)
    outcome, runs = simulate_tasks(trace, FixedPolicy("fixed", "m", nodes), table)
    check_timeline(trace, outcome, runs, table.node("m"))
    assert outcome.node_seconds() == pytest.approx(nodes * outcome.horizon_s)
