"""Play a trace on a fixed or an autoscaling cluster in simulated time, as Ray would.

The loop is a heap (``heapq``) of timed events: a node comes up, a batch of tasks ends, a job
arrives, the autoscaler updates. SimPy is on the package index but not installed. It would
add a dependency and run one generator per process, which is slower per event. A heap of
plain tuples is shorter to read, and fast enough: ``benchmarks/cost_simulator.py`` plays a
day of a 1,000-node cluster with 100,000 tasks.

Scheduling stands in for Ray's raylet; it is not a copy. Tasks wait in FIFO queues, one per
shape (CPUs, GPUs), much as Ray queues per scheduling class, so a small task is not held
behind a big one. A task starts on the up node with the lowest slot that has room (first
fit). Like Ray's hybrid policy below its 50% threshold, this packs work, but it never
spreads above that threshold. So fewer nodes are busy than on Ray, and idle ones are freed
sooner. Resources are counted in ten-thousandths, Ray's smallest unit, so sums stay exact.
A task that asks for no resources still keeps its node in use.

The autoscaler follows Ray 2.60's StandardAutoscaler (autoscaler v1, ``ray/autoscaler/_private``)
for one worker type, with a head that runs no tasks; the policy's ``max_workers`` is both the
cluster's and the type's. Every ``update_interval_s`` (autoscaler.py: StandardAutoscaler._update):

- idle nodes go: sorted by last use, the first ``min_workers`` kept, the rest unused for over
  ``idle_timeout_s`` terminated (autoscaler.py: terminate_nodes_to_enforce_config_constraints,
  _sort_based_on_last_used, _keep_worker_of_node_type; load_metrics.py: LoadMetrics.update);
- the demand is at most 1,000 waiting tasks (monitor.py: parse_resource_demands;
  load_metrics.py: LoadMetrics.get_resource_demand_vector);
- nodes up to ``min_workers`` are added (resource_demand_scheduler.py: _add_min_workers_nodes),
  then the demand is packed first fit, heaviest first, onto booting nodes and then new ones,
  never past ``max_workers`` (resource_demand_scheduler.py: get_nodes_to_launch,
  get_bin_pack_residual, get_nodes_for);
- the launches are capped so that at most max(5, int(upscaling_speed * max(up nodes, 1))) nodes
  boot at once, except those for ``min_workers`` (resource_demand_scheduler.py:
  ResourceDemandScheduler._get_concurrent_resource_demand_to_launch);
- a launched node is billed from then on and up ``boot_s`` later.

Simplifications: no placement groups, ``request_resources`` or node failures, and no spot
interruptions (billing prices those). Launches are not batched: ``AUTOSCALER_MAX_LAUNCH_BATCH``
splits the provider calls but does not limit how many nodes are requested. Load metrics have no
heartbeat lag: the autoscaler sees the cluster as it is.
"""

from __future__ import annotations

import heapq
import itertools
import math
import sys
from collections import deque
from dataclasses import dataclass

import numpy as np

from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, JobSpan, NodeSpan, NodeType, Outcome, Policy, PriceTable, Trace
from launchbay.errors import LaunchbayError

UNITS = 10_000  # resource units per CPU or GPU: ray_constants.py: MIN_RESOURCE_GRANULARITY is 1 / 10,000
ALL = sys.maxsize  # room on a node for tasks that ask for no resources
# constants.py: AUTOSCALER_UPSCALING_INITIAL_NUM_NODES, the pending nodes always allowed per type
UPSCALING_INITIAL_NUM_NODES = 5
# constants.py: AUTOSCALER_MAX_RESOURCE_DEMAND_VECTOR_SIZE, the queued tasks the autoscaler sees
MAX_RESOURCE_DEMAND_VECTOR_SIZE = 1000

# Event kinds, in the order they run at the same instant.
NODE_UP, TASKS_END, ARRIVAL, UPDATE = range(4)

Shape = tuple[int, int]  # (CPU units, GPU units) of one task


@dataclass
class TaskRun:
    """Tasks of one job that ran together on one node: ``job`` indexes the trace's jobs, ``node`` the outcome's nodes."""

    job: int
    node: int
    start_s: float
    end_s: float
    tasks: int


def simulate(trace: Trace, policy: Policy, prices: PriceTable, *, update_interval_s: float = 5.0) -> Outcome:
    """What happens when ``trace`` runs on ``policy``'s cluster (``update_interval_s``: the autoscaler's period)."""
    return simulate_tasks(trace, policy, prices, update_interval_s=update_interval_s)[0]


def simulate_tasks(trace: Trace, policy: Policy, prices: PriceTable, *, update_interval_s: float = 5.0) -> tuple[Outcome, list[TaskRun]]:
    """:func:`simulate`, with the timeline of the tasks: where and when each batch of them ran."""
    if update_interval_s <= 0:
        raise LaunchbayError(f"cost: the autoscaler's update interval must be positive, got {update_interval_s!r}")
    cluster = _Cluster(trace, policy, prices, update_interval_s)
    return cluster.run(), cluster.runs


def sizing(trace: Trace, node: NodeType) -> dict[str, int]:
    """Fixed cluster sizes of ``node`` at the ``peak``, ``p95`` and ``mean`` of the demand: the CPUs and
    GPUs of the tasks running if every task started on arrival, weighted by time over the horizon.

    Demand counts resources only, with no loss to packing; each size is at least 1 node.
    """
    jobs = [job for job in trace.jobs if job.tasks > 0]
    if node.gpus == 0 and any(job.gpus > 0 for job in jobs):
        raise LaunchbayError(f"cost: trace '{trace.name}' asks for GPUs and the node type has none")
    starts = np.array([job.arrival_s for job in jobs])
    ends = starts + np.array([job.task_s for job in jobs])
    horizon = max([trace.horizon_s, *ends])
    times = np.concatenate([starts, ends, [0.0, horizon]])
    order = np.argsort(times, kind="stable")

    def nodes_running(amounts: list[float], per_node: float) -> np.ndarray:
        step = np.array(amounts) / per_node
        return np.cumsum(np.concatenate([step, -step, [0.0, 0.0]])[order])

    level = nodes_running([job.tasks * job.cpus for job in jobs], node.cpus)
    if node.gpus > 0:
        level = np.maximum(level, nodes_running([job.tasks * job.gpus for job in jobs], node.gpus))
    # level[i] holds from times[order[i]] to the next time
    seconds = np.diff(np.clip(times[order], 0.0, horizon), append=horizon)
    level, seconds = level[seconds > 0], seconds[seconds > 0]
    if not len(level):
        return {"peak": 1, "p95": 1, "mean": 1}
    by_level = np.argsort(level, kind="stable")
    covered = np.cumsum(seconds[by_level])
    p95 = level[by_level][np.searchsorted(covered, 0.95 * covered[-1])]
    mean = np.dot(level, seconds) / seconds.sum()
    return {name: max(1, math.ceil(round(float(value), 9))) for name, value in (("peak", level.max()), ("p95", p95), ("mean", mean))}


def _units(amount: float) -> int:
    return round(amount * UNITS)


def _room(free_cpu: int, free_gpu: int, shape: Shape) -> int:
    """How many tasks of ``shape`` fit in the free resources."""
    cpu, gpu = shape
    return min(free_cpu // cpu if cpu else ALL, free_gpu // gpu if gpu else ALL)


def _demand_order(shape: Shape) -> tuple:
    """resource_demand_scheduler.py: get_bin_pack_residual packs demands with more resource kinds first, then heavier ones."""
    items = sorted((name, amount) for name, amount in (("CPU", shape[0]), ("GPU", shape[1])) if amount)
    return len(items), sum(amount for _, amount in items), items


class _Node:
    __slots__ = ("span", "slot", "running", "busy_since")

    def __init__(self, span: int) -> None:
        self.span = span  # index in the outcome's nodes
        self.slot = -1  # its column in the free-resource arrays once up
        self.running = 0  # tasks on it
        self.busy_since = 0.0


class _Cluster:
    """The nodes, queues and clock of one simulation."""

    def __init__(self, trace: Trace, policy: Policy, prices: PriceTable, update_interval_s: float) -> None:
        self.trace, self.policy, self.update_interval_s = trace, policy, update_interval_s
        node_type = prices.node(policy.node_type)
        self.node_cpu, self.node_gpu, self.boot_s = _units(node_type.cpus), _units(node_type.gpus), node_type.boot_s
        self.shapes = [(_units(job.cpus), _units(job.gpus)) for job in trace.jobs]
        for index, (job, shape) in enumerate(zip(trace.jobs, self.shapes)):
            if job.tasks > 0 and _room(self.node_cpu, self.node_gpu, shape) == 0:
                raise LaunchbayError(
                    f"cost: job '{job.name or index}' of trace '{trace.name}' asks for {job.cpus:g} CPUs and {job.gpus:g} GPUs a task, "
                    f"more than one '{policy.node_type}' node has ({node_type.cpus:g} CPUs, {node_type.gpus:g} GPUs)"
                )
        slots = policy.nodes if isinstance(policy, FixedPolicy) else policy.max_workers
        if slots <= 0 and any(job.tasks > 0 for job in trace.jobs):
            raise LaunchbayError(f"cost: policy '{policy.name}' has no workers to run trace '{trace.name}'")
        slots = max(slots, 0)
        # Free resources of the node in each slot (-1: no node up there), for a vectorised first fit.
        self.free_cpu = np.full(slots, -1, dtype=np.int64)
        self.free_gpu = np.full(slots, -1, dtype=np.int64)
        self.node_at: list[_Node | None] = [None] * slots
        self.free_slots = list(range(slots))  # a heap: the lowest free slot first
        self.spans: list[NodeSpan] = []
        self.pending = 0  # nodes launched and not up yet
        self.up = 0
        self.idle: dict[_Node, float] = {}  # up nodes with no task, by the time they were last used (oldest first)
        self.queues: dict[Shape, deque[list[int]]] = {}  # per shape with tasks waiting: [job, tasks not started]
        self.queued: dict[Shape, int] = {}  # tasks waiting, per shape
        self.tasks_left = [job.tasks for job in trace.jobs]
        self.jobs_left = len(trace.jobs)
        self.start_s = [math.inf] * len(trace.jobs)
        self.end_s = [math.inf] * len(trace.jobs)
        self.runs: list[TaskRun] = []
        self.events: list[tuple] = []
        self.sequence = itertools.count()

    def push(self, time: float, kind: int, node: _Node | None = None, job: int = -1, count: int = 0) -> None:
        """Schedule an event; ``count`` is the tasks of a batch, or an update's number."""
        heapq.heappush(self.events, (time, kind, next(self.sequence), node, job, count))

    def run(self) -> Outcome:
        for index, job in enumerate(self.trace.jobs):
            self.push(job.arrival_s, ARRIVAL, job=index)
        if isinstance(self.policy, FixedPolicy):
            for _ in range(self.policy.nodes):
                self.launch(0.0)
        else:
            self.push(0.0, UPDATE, count=0)
        horizon_s = self.trace.horizon_s
        while self.events and (self.jobs_left or self.events[0][0] <= horizon_s):
            time, kind, _, node, job, count = heapq.heappop(self.events)
            if kind == NODE_UP:
                self.node_up(node, time)
            elif kind == TASKS_END:
                self.tasks_end(node, job, count, time)
            elif kind == ARRIVAL:
                self.arrive(job, time)
            else:
                self.autoscale(time)
                # autoscaler.py: StandardAutoscaler._update runs once every update_interval_s.
                self.push((count + 1) * self.update_interval_s, UPDATE, count=count + 1)
        end_s = float(max([horizon_s, *self.end_s]))
        for span in self.spans:
            if span.down_s == math.inf:
                span.down_s = end_s
                span.up_s = min(span.up_s, end_s)  # a node still booting at the end never came up
        jobs = [JobSpan(job.arrival_s, start, end) for job, start, end in zip(self.trace.jobs, self.start_s, self.end_s)]
        return Outcome(self.trace.name, self.policy.name, end_s, self.spans, jobs, source="simulated")

    # The cluster's side: nodes come and go, tasks start and end.

    def launch(self, time: float) -> None:
        """A node is requested now (billing starts) and is up ``boot_s`` later."""
        node = _Node(len(self.spans))
        self.spans.append(NodeSpan(self.policy.node_type, time, time + self.boot_s, math.inf, spot=self.policy.spot))
        self.pending += 1
        self.push(time + self.boot_s, NODE_UP, node)

    def node_up(self, node: _Node, time: float) -> None:
        node.slot = heapq.heappop(self.free_slots)
        self.node_at[node.slot] = node
        self.free_cpu[node.slot], self.free_gpu[node.slot] = self.node_cpu, self.node_gpu
        self.pending -= 1
        self.up += 1
        self.idle[node] = time
        self.fill(node, time)

    def terminate(self, node: _Node, time: float) -> None:
        del self.idle[node]
        self.spans[node.span].down_s = time
        self.free_cpu[node.slot] = self.free_gpu[node.slot] = -1
        self.node_at[node.slot] = None
        heapq.heappush(self.free_slots, node.slot)
        self.up -= 1

    def arrive(self, job: int, time: float) -> None:
        tasks = self.trace.jobs[job].tasks
        if tasks <= 0:
            self.start_s[job] = self.end_s[job] = time
            self.jobs_left -= 1
            return
        shape = self.shapes[job]
        if shape in self.queues:  # tasks of its shape already wait: they fit no node, nor do these
            self.queues[shape].append([job, tasks])
            self.queued[shape] += tasks
            return
        self.queues[shape] = deque([[job, tasks]])
        self.queued[shape] = tasks
        for slot in np.flatnonzero((self.free_cpu >= shape[0]) & (self.free_gpu >= shape[1])):
            node = self.node_at[slot]
            assert node is not None
            self.dispatch(node, shape, time)
            if shape not in self.queues:
                break

    def fill(self, node: _Node, time: float) -> None:
        """Start waiting tasks on ``node``, the shape with the oldest waiting job first."""
        if len(self.queues) > 1:
            shapes = sorted(self.queues, key=self.oldest_waiting)
        else:
            shapes = list(self.queues)
        for shape in shapes:
            self.dispatch(node, shape, time)

    def oldest_waiting(self, shape: Shape) -> tuple[float, int]:
        job = self.queues[shape][0][0]
        return self.trace.jobs[job].arrival_s, job

    def dispatch(self, node: _Node, shape: Shape, time: float) -> None:
        """Start as many waiting tasks of ``shape`` as fit on ``node``, first come first served."""
        queue = self.queues[shape]
        room = _room(int(self.free_cpu[node.slot]), int(self.free_gpu[node.slot]), shape)
        started = 0
        while room and queue:
            entry = queue[0]
            take = min(room, entry[1])
            self.start(node, entry[0], take, time)
            room -= take
            started += take
            if take == entry[1]:
                queue.popleft()
            else:
                entry[1] -= take
        self.queued[shape] -= started
        if not queue:
            del self.queues[shape], self.queued[shape]

    def start(self, node: _Node, job: int, count: int, time: float) -> None:
        cpu, gpu = self.shapes[job]
        self.free_cpu[node.slot] -= count * cpu
        self.free_gpu[node.slot] -= count * gpu
        if node.running == 0:
            del self.idle[node]
            node.busy_since = time
        node.running += count
        self.start_s[job] = min(self.start_s[job], time)
        spec = self.trace.jobs[job]
        end = time + spec.task_s
        span = self.spans[node.span]
        span.cpu_s += count * spec.cpus * spec.task_s
        span.gpu_s += count * spec.gpus * spec.task_s
        self.push(end, TASKS_END, node, job, count)
        self.runs.append(TaskRun(job, node.span, time, end, count))

    def tasks_end(self, node: _Node, job: int, count: int, time: float) -> None:
        cpu, gpu = self.shapes[job]
        self.free_cpu[node.slot] += count * cpu
        self.free_gpu[node.slot] += count * gpu
        self.tasks_left[job] -= count
        if self.tasks_left[job] == 0:
            self.end_s[job] = time
            self.jobs_left -= 1
        self.fill(node, time)  # before the ended tasks leave, so a node that stays in use stays busy
        node.running -= count
        if node.running == 0:
            self.spans[node.span].busy_s += time - node.busy_since
            self.idle[node] = time

    # The autoscaler's side: StandardAutoscaler._update, once per update interval.

    def autoscale(self, time: float) -> None:
        policy = self.policy
        assert isinstance(policy, AutoscalingPolicy)
        self.terminate_idle(time, policy)
        demand = self.demand()
        existing = self.up + self.pending
        # resource_demand_scheduler.py: _add_min_workers_nodes adds nodes up to min(min_workers, max_workers), counted as launched.
        for_min_workers = max(0, min(policy.min_workers, policy.max_workers) - existing)
        # resource_demand_scheduler.py: ResourceDemandScheduler.get_nodes_to_launch caps additions at max_workers less the nodes there.
        max_to_add = policy.max_workers - existing - for_min_workers
        to_add = for_min_workers + self.nodes_for(demand, self.pending + for_min_workers, max_to_add)
        # resource_demand_scheduler.py: ResourceDemandScheduler._get_concurrent_resource_demand_to_launch lets a type have
        # max(UPSCALING_INITIAL_NUM_NODES, int(upscaling_speed * max(running, 1))) nodes pending; nodes for min_workers go past that.
        allowed_pending = max(UPSCALING_INITIAL_NUM_NODES, int(policy.upscaling_speed * max(self.up, 1)))
        for _ in range(min(to_add, max(allowed_pending - self.pending, for_min_workers))):
            self.launch(time)

    def terminate_idle(self, time: float, policy: AutoscalingPolicy) -> None:
        """autoscaler.py: StandardAutoscaler.terminate_nodes_to_enforce_config_constraints.

        Nodes are sorted by last use, most recent first (``_sort_based_on_last_used``; booting
        nodes last), the first ``min_workers`` are kept (``_keep_worker_of_node_type``), and a
        later one unused since ``idle_timeout_s`` ago is terminated. Busy nodes count as used now
        (load_metrics.py: ``LoadMetrics.update`` sets last use to now less the node's idle
        time), so only idle nodes go, the least recently used first. The max_workers rule there
        never fires: the simulator never launches past it.
        """
        cutoff = time - policy.idle_timeout_s
        may_go = self.up - policy.min_workers
        expired: list[_Node] = []
        for node, last_used in self.idle.items():
            if len(expired) >= may_go or last_used >= cutoff:
                break
            expired.append(node)
        for node in expired:
            self.terminate(node, time)

    def demand(self) -> dict[Shape, int]:
        """The waiting tasks the autoscaler sees, per shape.

        monitor.py: parse_resource_demands lists the waiting tasks shape by shape, stopping after
        the shape that passes the cap; load_metrics.py: LoadMetrics.get_resource_demand_vector
        keeps the first MAX_RESOURCE_DEMAND_VECTOR_SIZE. Shapes come in the order of their oldest
        waiting job (Ray's order is the GCS's). Waiting tasks fit on no up node (they would have
        started), so get_bin_pack_residual over the up nodes' free resources leaves them all.
        """
        counts: dict[Shape, int] = {}
        total = 0
        for shape in sorted(self.queues, key=self.oldest_waiting):
            counts[shape] = self.queued[shape]
            total += counts[shape]
            if total > MAX_RESOURCE_DEMAND_VECTOR_SIZE:
                counts[shape] -= total - MAX_RESOURCE_DEMAND_VECTOR_SIZE
                break
        return counts

    def nodes_for(self, demand: dict[Shape, int], empty_nodes: int, max_to_add: int) -> int:
        """How many new nodes the demand needs once ``empty_nodes`` (booting or for min_workers) are full.

        resource_demand_scheduler.py: get_bin_pack_residual packs the demand first fit, in
        ``_demand_order``, onto the booting nodes; get_nodes_for then adds one node at a time and
        packs what is left onto it, until nothing is left or ``max_to_add`` nodes are added.
        Node-by-node packing of a sorted list is the same as first fit over all the nodes in
        order, so the nodes are kept as groups of identical ones: [count, free CPU, free GPU].
        """
        groups = [[empty_nodes, self.node_cpu, self.node_gpu]] if empty_nodes else []
        added = 0
        for shape, count in sorted(demand.items(), key=lambda item: _demand_order(item[0]), reverse=True):
            count = _pack(groups, shape, count)
            per_node = _room(self.node_cpu, self.node_gpu, shape)
            new = min(-(-count // per_node), max_to_add - added)
            if new <= 0:
                continue
            full = min(count // per_node, new)
            if full:
                groups.append([full, self.node_cpu - per_node * shape[0], self.node_gpu - per_node * shape[1]])
            if new > full:
                rest = count - full * per_node
                groups.append([1, self.node_cpu - rest * shape[0], self.node_gpu - rest * shape[1]])
            added += new
        return added


def _pack(groups: list[list[int]], shape: Shape, count: int) -> int:
    """Pack ``count`` tasks of ``shape`` first fit onto groups of identical nodes, splitting groups; the tasks left over."""
    packed: list[list[int]] = []
    for nodes, free_cpu, free_gpu in groups:
        per_node = _room(free_cpu, free_gpu, shape)
        full = min(nodes, count // per_node) if per_node else 0
        if full:
            packed.append([full, free_cpu - per_node * shape[0], free_gpu - per_node * shape[1]])
            count -= full * per_node
        if full < nodes and per_node and count:  # fewer than per_node left: one node takes them
            packed.append([1, free_cpu - count * shape[0], free_gpu - count * shape[1]])
            count = 0
            full += 1
        if full < nodes:
            packed.append([nodes - full, free_cpu, free_gpu])
    groups[:] = packed
    return count
