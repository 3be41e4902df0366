"""Play a trace on a fixed or an autoscaling cluster in simulated time, as Ray would.

The loop is a heap (``heapq``) of timed events: a node comes up, a batch of tasks ends, a job
arrives, a spot node is taken back, the autoscaler updates. SimPy is on the package index but not
installed. It would add a dependency and run one generator per process, which is slower per event.
A heap of plain tuples is shorter to read, and fast enough: ``benchmarks/cost_simulator.py`` plays a
day of a 1,000-node cluster with 100,000 tasks.

Scheduling stands in for Ray's raylet; it is not a copy. Tasks wait in FIFO queues, one per
shape (CPUs, GPUs), much as Ray queues per scheduling class, so a small task is not held
behind a big one. A task starts on the up node with the lowest slot that has room (first
fit), nodes without GPUs first for tasks without GPUs (Ray's scheduler avoids GPU nodes for them).
Like Ray's hybrid policy below its 50% threshold, this packs work, but it never spreads above
that threshold. So fewer nodes are busy than on Ray, and idle ones are freed sooner. A task that
asks for no resources still keeps its node in use.

The autoscaler is ``launchbay.cost.autoscaler`` (Ray 2.60's StandardAutoscaler rules, each named
after its function), over the policy's worker types, with a head that runs no tasks. A launched
node is billed from then on and up its type's ``boot_s`` later.

Spot interruptions, given a seed: each spot node is taken back after an exponential time at the
price table's ``spot_interruptions_per_h`` from its boot. Its running tasks go back to the head of
their queue (Ray retries a task whose node died) and start again from scratch; a fixed cluster
launches a replacement at once (as a managed node group does), the autoscaler one when the demand
asks for it.

Simplifications: no placement groups or ``request_resources``. Launches are not batched:
``AUTOSCALER_MAX_LAUNCH_BATCH`` splits the provider calls but does not limit how many nodes are
requested. Load metrics have no heartbeat lag: the autoscaler sees the cluster as it is.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from launchbay.cost import autoscaler
from launchbay.cost.autoscaler import UNITS, Shape, WorkerType, room, units
from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, JobSpan, NodeSpan, NodeType, Outcome, Policy, PriceTable, Trace, worker_types
from launchbay.errors import LaunchbayError

# Event kinds, in the order they run at the same instant.
NODE_UP, TASKS_END, INTERRUPTED, ARRIVAL, UPDATE = range(5)


@dataclass
class TaskRun:
    """Tasks of one job that ran together on one node: ``job`` indexes the trace's jobs, ``node`` the outcome's nodes;
    ``end_s`` is when they ended, or when their node was taken back (``lost``)."""

    job: int
    node: int
    start_s: float
    end_s: float
    tasks: int
    lost: bool = False


def simulate(trace: Trace, policy: Policy, prices: PriceTable, *, update_interval_s: float = 5.0, seed: int | None = None) -> Outcome:
    """What happens when ``trace`` runs on ``policy``'s cluster (``update_interval_s``: the autoscaler's period;
    ``seed``: play spot interruptions as events drawn with it, else leave them to billing's expectation)."""
    return simulate_tasks(trace, policy, prices, update_interval_s=update_interval_s, seed=seed)[0]


def simulate_tasks(
    trace: Trace, policy: Policy, prices: PriceTable, *, update_interval_s: float = 5.0, seed: int | None = None
) -> tuple[Outcome, list[TaskRun]]:
    """:func:`simulate`, with the timeline of the tasks: where and when each batch of them ran."""
    if update_interval_s <= 0:
        raise LaunchbayError(f"cost: the autoscaler's update interval must be positive, got {update_interval_s!r}")
    cluster = _Cluster(trace, policy, prices, update_interval_s, seed)
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


class _Node:
    __slots__ = ("span", "kind", "slot", "running", "busy_since", "batches")

    def __init__(self, span: int, kind: int) -> None:
        self.span = span  # index in the outcome's nodes
        self.kind = kind  # index of its worker type
        self.slot = -1  # its column in the free-resource arrays once up (-1: not up, or gone)
        self.running = 0  # tasks on it
        self.busy_since = 0.0
        self.batches: dict[int, TaskRun] = {}  # what runs on it, by event sequence number


class _Cluster:
    """The nodes, queues and clock of one simulation."""

    def __init__(self, trace: Trace, policy: Policy, prices: PriceTable, update_interval_s: float, seed: int | None) -> None:
        self.trace, self.policy, self.update_interval_s = trace, policy, update_interval_s
        self.types = [worker_type(name, prices.node(name), limits) for name, limits in worker_types(policy).items()]
        self.shapes = [(units(job.cpus), units(job.gpus)) for job in trace.jobs]
        for index, (job, shape) in enumerate(zip(trace.jobs, self.shapes)):
            if job.tasks > 0 and not any(room(t.cpu, t.gpu, shape) for t in self.types):
                held = ", ".join(f"'{t.name}' ({t.cpu / UNITS:g} CPUs, {t.gpu / UNITS:g} GPUs)" for t in self.types)
                raise LaunchbayError(
                    f"cost: job '{job.name or index}' of trace '{trace.name}' asks for {job.cpus:g} CPUs and {job.gpus:g} GPUs a task, "
                    f"more than one node of policy '{policy.name}' has: {held}"
                )
        if sum(t.max_workers for t in self.types) <= 0 and any(job.tasks > 0 for job in trace.jobs):
            raise LaunchbayError(f"cost: policy '{policy.name}' has no workers to run trace '{trace.name}'")
        # Free resources of the node in each slot (-1: no node up there), for a vectorised first fit; each type has its own slots.
        firsts = np.cumsum([0, *(max(t.max_workers, 0) for t in self.types)])
        self.free_cpu = np.full(firsts[-1], -1, dtype=np.int64)
        self.free_gpu = np.full(firsts[-1], -1, dtype=np.int64)
        self.has_gpu = np.repeat([t.gpu > 0 for t in self.types], np.diff(firsts))
        self.node_at: list[_Node | None] = [None] * int(firsts[-1])
        self.free_slots = [list(range(firsts[k], firsts[k + 1])) for k in range(len(self.types))]  # heaps: the lowest free slot first
        self.spans: list[NodeSpan] = []
        self.pending = [0] * len(self.types)  # nodes launched and not up yet, per type
        self.up = [0] * len(self.types)
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
        rate = prices.spot_interruptions_per_h if policy.spot else 0.0
        self.interruptions = np.random.default_rng(seed) if seed is not None and rate > 0 else None
        self.interruption_rate_per_s = rate / 3600
        self.interrupted = 0

    def push(self, time: float, kind: int, node: _Node | None = None, job: int = -1, count: int = 0) -> int:
        """Schedule an event; ``count`` is the tasks of a batch, or an update's number. Returns its sequence number."""
        number = next(self.sequence)
        heapq.heappush(self.events, (time, kind, number, node, job, count))
        return number

    def run(self) -> Outcome:
        for index, job in enumerate(self.trace.jobs):
            self.push(job.arrival_s, ARRIVAL, job=index)
        if isinstance(self.policy, FixedPolicy):
            for kind, t in enumerate(self.types):
                for _ in range(t.max_workers):
                    self.launch(0.0, kind)
        else:
            self.push(0.0, UPDATE, count=0)
        horizon_s = self.trace.horizon_s
        while self.events and (self.jobs_left or self.events[0][0] <= horizon_s):
            time, kind, number, node, job, count = heapq.heappop(self.events)
            if kind == NODE_UP:
                self.node_up(node, time)
            elif kind == TASKS_END:
                if number in node.batches:  # else its node was taken back
                    self.tasks_end(node, number, time)
            elif kind == INTERRUPTED:
                self.interrupt(node, time)
            elif kind == ARRIVAL:
                self.arrive(job, time)
            else:
                policy = self.policy
                assert isinstance(policy, AutoscalingPolicy)
                autoscaler.update(self, time, policy.upscaling_speed, policy.idle_timeout_s)
                # autoscaler.py: StandardAutoscaler._update runs once every update_interval_s.
                self.push((count + 1) * self.update_interval_s, UPDATE, count=count + 1)
        end_s = float(max([horizon_s, *self.end_s]))
        for span in self.spans:
            if span.down_s == math.inf:
                span.down_s = end_s
                span.up_s = min(span.up_s, end_s)  # a node still booting at the end never came up
        jobs = [JobSpan(job.arrival_s, start, end) for job, start, end in zip(self.trace.jobs, self.start_s, self.end_s)]
        interruptions = self.interrupted if self.interruptions is not None else None
        return Outcome(self.trace.name, self.policy.name, end_s, self.spans, jobs, source="simulated", interruptions=interruptions)

    # The cluster's side: nodes come and go, tasks start and end.

    def launch(self, time: float, kind: int) -> None:
        """A node is requested now (billing starts) and is up its type's ``boot_s`` later."""
        node = _Node(len(self.spans), kind)
        t = self.types[kind]
        self.spans.append(NodeSpan(t.name, time, time + t.boot_s, math.inf, spot=self.policy.spot))
        self.pending[kind] += 1
        self.push(time + t.boot_s, NODE_UP, node)

    def node_up(self, node: _Node, time: float) -> None:
        t = self.types[node.kind]
        node.slot = heapq.heappop(self.free_slots[node.kind])
        self.node_at[node.slot] = node
        self.free_cpu[node.slot], self.free_gpu[node.slot] = t.cpu, t.gpu
        self.pending[node.kind] -= 1
        self.up[node.kind] += 1
        self.idle[node] = time
        if self.interruptions is not None:
            self.push(time + self.interruptions.exponential(1 / self.interruption_rate_per_s), INTERRUPTED, node)
        self.fill(node, time)

    def terminate(self, node: _Node, time: float) -> None:
        self.idle.pop(node, None)
        self.spans[node.span].down_s = time
        self.free_cpu[node.slot] = self.free_gpu[node.slot] = -1
        self.node_at[node.slot] = None
        heapq.heappush(self.free_slots[node.kind], node.slot)
        node.slot = -1
        self.up[node.kind] -= 1

    def interrupt(self, node: _Node, time: float) -> None:
        """A spot node is taken back: its tasks go back to the head of their queues, and a fixed cluster replaces it."""
        if node.slot < 0:
            return  # already gone
        self.interrupted += 1
        span = self.spans[node.span]
        for batch in node.batches.values():
            spec = self.trace.jobs[batch.job]
            span.cpu_s -= batch.tasks * spec.cpus * (batch.end_s - time)
            span.gpu_s -= batch.tasks * spec.gpus * (batch.end_s - time)
            batch.end_s, batch.lost = time, True
            queue = self.queues.setdefault(self.shapes[batch.job], deque())
            queue.appendleft([batch.job, batch.tasks])
            self.queued[self.shapes[batch.job]] = self.queued.get(self.shapes[batch.job], 0) + batch.tasks
        if node.running:
            span.busy_s += time - node.busy_since
        node.batches.clear()
        node.running = 0
        self.terminate(node, time)
        if isinstance(self.policy, FixedPolicy):
            self.launch(time, node.kind)
        for other in [n for n in self.node_at if n is not None]:
            self.fill(other, time)

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
        slots = np.flatnonzero((self.free_cpu >= shape[0]) & (self.free_gpu >= shape[1]))
        if not shape[1]:  # nodes without GPUs first
            slots = slots[np.argsort(self.has_gpu[slots], kind="stable")]
        for slot in slots:
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
        fits = room(int(self.free_cpu[node.slot]), int(self.free_gpu[node.slot]), shape)
        started = 0
        while fits and queue:
            entry = queue[0]
            take = min(fits, entry[1])
            self.start(node, entry[0], take, time)
            fits -= take
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
        batch = TaskRun(job, node.span, time, end, count)
        node.batches[self.push(end, TASKS_END, node, job, count)] = batch
        self.runs.append(batch)

    def tasks_end(self, node: _Node, number: int, time: float) -> None:
        batch = node.batches.pop(number)
        job, count = batch.job, batch.tasks
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


def worker_type(name: str, node: NodeType, limits: tuple[int, int]) -> WorkerType:
    """A policy's worker type in resource units."""
    return WorkerType(name, units(node.cpus), units(node.gpus), node.boot_s, *limits)
