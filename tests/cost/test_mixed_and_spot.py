"""Mixed clusters (several worker types, the type to launch picked by Ray's utilisation scorer) and
spot interruptions played as seeded events, on hand-computed cases and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbay.cost.autoscaler import UNITS, WorkerType, demand_order, nodes_for, units, utilization_score
from launchbay.cost.billing import cost_of
from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, NodeType, PriceTable, Trace, TraceJob
from launchbay.cost.simulate import simulate, simulate_tasks

PRICES = PriceTable(
    node_types={
        "small": NodeType(cpus=2, on_demand_per_h=0.1, spot_per_h=0.04, boot_s=60),
        "big": NodeType(cpus=8, on_demand_per_h=0.4, spot_per_h=0.16, boot_s=60),
        "gpu": NodeType(cpus=4, gpus=1, on_demand_per_h=1.0, spot_per_h=0.4, boot_s=120),
    },
    spot_interruptions_per_h=2.0,
)
CPU = (units(1), 0)


def worker(name: str, max_workers: int = 10) -> WorkerType:
    node = PRICES.node_types[name]
    return WorkerType(name, units(node.cpus), units(node.gpus), node.boot_s, 0, max_workers)


def test_the_scorer_ranks_as_rays_resource_based_scorer():
    small, big, gpu = worker("small"), worker("big"), worker("gpu")
    # one 1-CPU task: half of small (2 * 0.5**3 = 0.25) against an eighth of big (8 / 8**3)
    assert utilization_score(small, {CPU: 1}) == (True, 1, pytest.approx(0.25), pytest.approx(0.25))
    assert utilization_score(big, {CPU: 1}) == (True, 1, pytest.approx(8 / 512), pytest.approx(8 / 512))
    # eight fill big: 8 * 1 against small's 2 * 1
    assert utilization_score(big, {CPU: 8})[2] == pytest.approx(8.0)
    assert utilization_score(small, {CPU: 8})[2] == pytest.approx(2.0)
    assert utilization_score(gpu, {CPU: 4})[0] is False  # no GPU work: a GPU node ranks last
    assert utilization_score(small, {(units(4), 0): 1}) is None  # fits nothing
    assert nodes_for([small, big, gpu], {CPU: 1}, [0, 0, 0], [10, 10, 10], 30) == [1, 0, 0]
    assert nodes_for([small, big, gpu], {CPU: 16}, [0, 0, 0], [10, 10, 10], 30) == [0, 2, 0]
    assert nodes_for([small, big, gpu], {CPU: 17}, [0, 0, 0], [10, 10, 10], 30) == [1, 2, 0]  # the last one alone: small
    assert nodes_for([small, big, gpu], {(units(1), units(1)): 2, CPU: 2}, [0, 0, 0], [10, 10, 10], 30) == [0, 0, 2]
    assert nodes_for([small, big, gpu], {CPU: 16}, [0, 0, 0], [10, 1, 10], 30) == [4, 1, 0]  # big capped at 1
    assert nodes_for([small, big, gpu], {CPU: 16}, [0, 0, 0], [10, 10, 10], 1) == [0, 1, 0]  # one node in all


SHAPES = st.sampled_from([(1, 0), (2, 0), (4, 0), (1, 1), (2, 1), (0.5, 0), (3, 2)])
NODES = st.sampled_from([(2, 0), (4, 0), (8, 0), (16, 0), (4, 1), (8, 2), (3, 0)])


def ray_demand(wanted: dict) -> list[dict]:
    """The demand as Ray's resource dicts, in get_bin_pack_residual's order."""
    shapes = sorted(wanted, key=demand_order, reverse=True)
    return [{k: v / UNITS for k, v in zip(("CPU", "GPU"), shape) if v} for shape in shapes for _ in range(wanted[shape])]


@settings(max_examples=150, deadline=None)
@given(nodes=st.lists(NODES, min_size=1, max_size=3, unique=True), demand=st.dictionaries(SHAPES, st.integers(1, 12), min_size=1, max_size=3),
       limit=st.integers(1, 6), max_to_add=st.integers(1, 20))
def test_the_type_to_launch_is_what_rays_own_functions_pick(nodes, demand, limit, max_to_add):
    from ray.autoscaler._private.resource_demand_scheduler import _default_utilization_scorer, get_nodes_for

    types = [WorkerType(f"t{i}", units(c), units(g), 0.0, 0, limit) for i, (c, g) in enumerate(nodes)]
    wanted = {(units(c), units(g)): n for (c, g), n in demand.items()}
    resources = {t.name: {k: v / UNITS for k, v in (("CPU", t.cpu), ("GPU", t.gpu)) if v} for t in types}
    for t in types:
        theirs = _default_utilization_scorer(resources[t.name], ray_demand(wanted), t.name, node_availability_summary=None)
        ours = utilization_score(t, wanted)
        assert (ours is None) == (theirs is None) and (ours is None or ours == pytest.approx(theirs)), (t, wanted)
    config = {t.name: {"resources": resources[t.name], "max_workers": limit} for t in types}

    def scorer(node_resources, demands, node_type):
        return _default_utilization_scorer(node_resources, demands, node_type, node_availability_summary=None)

    added, _ = get_nodes_for(config, {}, "head", max_to_add, ray_demand(wanted), scorer)
    assert nodes_for(types, wanted, [0] * len(types), [limit] * len(types), max_to_add) == [added.get(t.name, 0) for t in types]


def mixed_trace() -> Trace:
    cpu_jobs = [TraceJob(10.0 * i, tasks=2, task_s=100, cpus=1) for i in range(6)]
    gpu_jobs = [TraceJob(5.0 + 30 * i, tasks=1, task_s=200, cpus=1, gpus=1) for i in range(3)]
    return Trace("mixed", sorted(cpu_jobs + gpu_jobs, key=lambda j: j.arrival_s), horizon_s=1800)


def test_a_mixed_autoscaler_launches_gpu_nodes_for_gpu_work():
    policy = AutoscalingPolicy("mixed", "small", max_workers=6, idle_timeout_s=60, extra_types={"big": 2, "gpu": 3})
    outcome, runs = simulate_tasks(mixed_trace(), policy, PRICES)
    kinds = [n.node_type for n in outcome.nodes]
    trace = mixed_trace()
    assert all(kinds[run.node] == "gpu" for run in runs if trace.jobs[run.job].gpus > 0)
    assert all(job.end_s < float("inf") for job in outcome.jobs)
    # GPU nodes for the GPU jobs only (the scorer ranks them last for CPU work), CPU types for the rest
    assert kinds.count("gpu") <= 3 and {"gpu"} < set(kinds)
    assert sum(n.gpu_s for n in outcome.nodes) == pytest.approx(3 * 200)
    assert sum(n.cpu_s for n in outcome.nodes) == pytest.approx(trace.cpu_seconds())
    assert cost_of(outcome, PRICES, trace).gpu_allocation > 0


def test_a_mixed_fixed_cluster_keeps_cpu_work_off_its_gpu_nodes():
    policy = FixedPolicy("fixed", "small", 3, extra_types={"gpu": 1})
    outcome, runs = simulate_tasks(mixed_trace(), policy, PRICES)
    assert [n.node_type for n in outcome.nodes] == ["small"] * 3 + ["gpu"]
    assert all(n.requested_s == 0 for n in outcome.nodes)
    cpu_runs_on_gpu = [r for r in runs if outcome.nodes[r.node].node_type == "gpu" and mixed_trace().jobs[r.job].gpus == 0]
    # the three small nodes (6 CPUs) hold three 2-task jobs at once; CPU work reaches the GPU node only when they are full
    assert all(sum(r.start_s <= t.start_s < r.end_s for r in runs if outcome.nodes[r.node].node_type == "small") >= 3 for t in cpu_runs_on_gpu)


@pytest.mark.parametrize("policy", [FixedPolicy("fixed", "big", 2, spot=True), AutoscalingPolicy("auto", "big", max_workers=3, spot=True)])
def test_spot_interruptions_are_seeded_events_whose_tasks_run_again(policy):
    trace = Trace("t", [TraceJob(60.0 * i, tasks=4, task_s=600, cpus=1) for i in range(40)], horizon_s=4 * 3600)
    outcome, runs = simulate_tasks(trace, policy, PRICES, seed=3)
    assert outcome.interruptions and outcome.interruptions > 0
    again, _ = simulate_tasks(trace, policy, PRICES, seed=3)
    assert again == outcome  # the seed decides
    assert simulate(trace, policy, PRICES, seed=4) != outcome
    lost = [r for r in runs if r.lost]
    assert lost and all(r.end_s - r.start_s < 600 for r in lost)
    # every task ended once; the CPUs reserved are the trace's and what the lost runs held until their node went
    assert sum(r.tasks for r in runs if not r.lost) == 4 * 40
    held = sum(r.tasks * (r.end_s - r.start_s) for r in lost)
    assert sum(n.cpu_s for n in outcome.nodes) == pytest.approx(trace.cpu_seconds() + held)
    assert all(job.end_s < float("inf") for job in outcome.jobs)
    if isinstance(policy, FixedPolicy):  # each lost node is replaced at once
        assert len(outcome.nodes) == 2 + outcome.interruptions
    assert cost_of(outcome, PRICES, trace).interruptions == 0.0  # played, not expected
    calm = simulate(trace, policy, PRICES)
    assert calm.interruptions is None and cost_of(calm, PRICES, trace).interruptions > 0


def test_on_demand_nodes_are_never_interrupted():
    trace = Trace("t", [TraceJob(60.0 * i, tasks=4, task_s=600, cpus=1) for i in range(40)], horizon_s=4 * 3600)
    outcome = simulate(trace, FixedPolicy("fixed", "big", 2), PRICES, seed=1)
    assert outcome.interruptions is None and len(outcome.nodes) == 2
