"""Ray 2.60's StandardAutoscaler (autoscaler v1, ``ray/autoscaler/_private``) as the simulator plays it,
over one or several worker types. Every ``update_interval_s`` (autoscaler.py: StandardAutoscaler._update):

- idle nodes go: sorted by last use, the first ``min_workers`` of each type kept, the rest unused for
  over ``idle_timeout_s`` terminated (autoscaler.py: terminate_nodes_to_enforce_config_constraints,
  _sort_based_on_last_used, _keep_worker_of_node_type; load_metrics.py: LoadMetrics.update);
- the demand is at most 1,000 waiting tasks (monitor.py: parse_resource_demands;
  load_metrics.py: LoadMetrics.get_resource_demand_vector);
- nodes up to each type's ``min_workers`` are added (resource_demand_scheduler.py: _add_min_workers_nodes),
  then the demand is packed first fit, heaviest first, onto booting nodes and then new ones, never past
  the limits (resource_demand_scheduler.py: get_nodes_to_launch, get_bin_pack_residual, get_nodes_for).
  With several worker types each new node is of the type the utilisation scorer ranks first
  (resource_demand_scheduler.py: _resource_based_utilization_scorer, the default scorer);
- the launches of each type are capped so that at most max(5, int(upscaling_speed * max(its up nodes, 1)))
  nodes of it boot at once, except those for ``min_workers`` (resource_demand_scheduler.py:
  ResourceDemandScheduler._get_concurrent_resource_demand_to_launch).

Resources are counted in ten-thousandths, Ray's smallest unit, so sums stay exact. Nodes offer
only their CPUs and GPUs (no memory or object-store resources), as the replay's nodes do.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from typing import Protocol

UNITS = 10_000  # resource units per CPU or GPU: ray_constants.py: MIN_RESOURCE_GRANULARITY is 1 / 10,000
ALL = sys.maxsize  # room on a node for tasks that ask for no resources
# constants.py: AUTOSCALER_UPSCALING_INITIAL_NUM_NODES, the pending nodes always allowed per type
UPSCALING_INITIAL_NUM_NODES = 5
# constants.py: AUTOSCALER_MAX_RESOURCE_DEMAND_VECTOR_SIZE, the queued tasks the autoscaler sees
MAX_RESOURCE_DEMAND_VECTOR_SIZE = 1000

Shape = tuple[int, int]  # (CPU units, GPU units) of one task


def units(amount: float) -> int:
    return round(amount * UNITS)


def room(free_cpu: int, free_gpu: int, shape: Shape) -> int:
    """How many tasks of ``shape`` fit in the free resources."""
    cpu, gpu = shape
    return min(free_cpu // cpu if cpu else ALL, free_gpu // gpu if gpu else ALL)


@dataclass
class WorkerType:
    """One worker type of a simulated cluster: its resources in units, boot time and limits."""

    name: str
    cpu: int
    gpu: int
    boot_s: float
    min_workers: int
    max_workers: int


class ClusterView(Protocol):
    """What the autoscaler reads of the cluster and does to it."""

    types: list[WorkerType]
    up: list[int]  # nodes up, per type
    pending: list[int]  # nodes launched and not up, per type
    idle: dict  # up nodes with no task (each with a ``kind``, its type's index), by last use, oldest first
    queues: dict
    queued: dict[Shape, int]

    def oldest_waiting(self, shape: Shape) -> tuple[float, int]: ...
    def launch(self, time: float, kind: int) -> None: ...
    def terminate(self, node, time: float) -> None: ...


def update(cluster: ClusterView, time: float, upscaling_speed: float, idle_timeout_s: float) -> None:
    """StandardAutoscaler._update: idle nodes go, then nodes are launched for the demand."""
    terminate_idle(cluster, time, idle_timeout_s)
    types = cluster.types
    if not cluster.queues and all(up + pending >= t.min_workers for up, pending, t in zip(cluster.up, cluster.pending, types)):
        return  # nothing waits and min_workers are there: nothing to launch
    existing = [up + pending for up, pending in zip(cluster.up, cluster.pending)]
    # _add_min_workers_nodes adds nodes up to min(min_workers, max_workers), counted as launched.
    for_min = [max(0, min(t.min_workers, t.max_workers) - n) for t, n in zip(types, existing)]
    # get_nodes_to_launch caps additions at the cluster's max_workers (the types' sum) less the nodes there.
    max_to_add = sum(t.max_workers for t in types) - sum(existing) - sum(for_min)
    empty = [pending + extra for pending, extra in zip(cluster.pending, for_min)]
    limits = [t.max_workers - n - extra for t, n, extra in zip(types, existing, for_min)]
    to_add = nodes_for(types, demand(cluster), empty, limits, max_to_add)
    for kind in range(len(types)):
        # _get_concurrent_resource_demand_to_launch: at most max(5, int(speed * max(up, 1))) pending; min_workers go past that.
        allowed = max(UPSCALING_INITIAL_NUM_NODES, int(upscaling_speed * max(cluster.up[kind], 1)))
        for _ in range(min(for_min[kind] + to_add[kind], max(allowed - cluster.pending[kind], for_min[kind]))):
            cluster.launch(time, kind)


def terminate_idle(cluster: ClusterView, time: float, idle_timeout_s: float) -> None:
    """autoscaler.py: StandardAutoscaler.terminate_nodes_to_enforce_config_constraints.

    Nodes are sorted by last use, most recent first (``_sort_based_on_last_used``; booting nodes
    last), the first ``min_workers`` of each type are kept (``_keep_worker_of_node_type``), and a
    later one unused since ``idle_timeout_s`` ago is terminated. Busy nodes count as used now
    (load_metrics.py: ``LoadMetrics.update`` sets last use to now less the node's idle time), so
    only idle nodes go, the least recently used first. The max_workers rule there never fires: the
    simulator never launches past it.
    """
    cutoff = time - idle_timeout_s
    may_go = [up - t.min_workers for up, t in zip(cluster.up, cluster.types)]
    expired = []
    for node, last_used in cluster.idle.items():
        if last_used >= cutoff:
            break
        if may_go[node.kind] > 0:
            may_go[node.kind] -= 1
            expired.append(node)
    for node in expired:
        cluster.terminate(node, time)


def demand(cluster: ClusterView) -> dict[Shape, int]:
    """The waiting tasks the autoscaler sees, per shape.

    monitor.py: parse_resource_demands lists the waiting tasks shape by shape, stopping after the
    shape that passes the cap; load_metrics.py: LoadMetrics.get_resource_demand_vector keeps the
    first MAX_RESOURCE_DEMAND_VECTOR_SIZE. Shapes come in the order of their oldest waiting job
    (Ray's order is the GCS's). Waiting tasks fit on no up node (they would have started), so
    get_bin_pack_residual over the up nodes' free resources leaves them all.
    """
    counts: dict[Shape, int] = {}
    total = 0
    for shape in sorted(cluster.queues, key=cluster.oldest_waiting):
        counts[shape] = cluster.queued[shape]
        total += counts[shape]
        if total > MAX_RESOURCE_DEMAND_VECTOR_SIZE:
            counts[shape] -= total - MAX_RESOURCE_DEMAND_VECTOR_SIZE
            break
    return counts


@cache
def demand_order(shape: Shape) -> tuple:
    """get_bin_pack_residual packs demands with more resource kinds first, then heavier ones."""
    items = sorted((name, amount) for name, amount in (("CPU", shape[0]), ("GPU", shape[1])) if amount)
    return len(items), sum(amount for _, amount in items), items


def nodes_for(types: list[WorkerType], wanted: dict[Shape, int], empty: list[int], limits: list[int], max_to_add: int) -> list[int]:
    """How many new nodes of each type the demand needs once the ``empty`` ones (booting, or for
    min_workers) are full, at most ``limits`` of each and ``max_to_add`` in all.

    get_bin_pack_residual packs the demand first fit, in ``demand_order``, onto the empty nodes;
    get_nodes_for then adds one node at a time, of the type the scorer ranks first among those under
    their limit, and packs what is left onto it, until nothing is left or nothing more may be added.
    The nodes are kept as groups of identical ones, [count, free CPU, free GPU], so that a type's
    run of nodes is packed at once: node-by-node packing of a sorted list is first fit over all of them.
    """
    if not wanted:
        return [0] * len(types)
    groups = [[n, t.cpu, t.gpu] for n, t in zip(empty, types) if n]
    left = {shape: pack(groups, shape, count) for shape, count in sorted(wanted.items(), key=lambda item: demand_order(item[0]), reverse=True)}
    left = {shape: count for shape, count in left.items() if count}
    added = [0] * len(types)
    while left and sum(added) < max_to_add:
        scores = [(score, kind) for kind, t in enumerate(types) if added[kind] < limits[kind] and (score := utilization_score(t, left)) is not None]
        if not scores:
            break  # no type holds what is left: Ray warns and gives up
        kind = max(scores)[1]
        t = types[kind]
        new = 1
        if len(types) == 1:  # one type: as many nodes at once as the heaviest demand fills
            first = max((shape for shape in left if room(t.cpu, t.gpu, shape)), key=demand_order)
            new = min(limits[kind] - added[kind], max_to_add - sum(added), max(1, left[first] // room(t.cpu, t.gpu, first)))
        node = [[new, t.cpu, t.gpu]]
        left = {shape: rest for shape, count in left.items() if (rest := pack(node, shape, count))}
        added[kind] += new
    return added


def utilization_score(t: WorkerType, wanted: dict[Shape, int]) -> tuple | None:
    """resource_demand_scheduler.py: _resource_based_utilization_scorer for one node of ``t``: the demand
    fitted onto it in order; None when none fits. Ranks nodes without GPUs first for work without
    GPUs (AUTOSCALER_CONSERVE_GPU_NODES), then matching more of the demand's resource kinds, then the
    least used resource's ``v * util**3`` (v: its amount), then their mean."""
    free_cpu, free_gpu = t.cpu, t.gpu
    fitted = 0
    for shape, count in sorted(wanted.items(), key=lambda item: demand_order(item[0]), reverse=True):
        n = min(count, room(free_cpu, free_gpu, shape))
        free_cpu, free_gpu, fitted = free_cpu - n * shape[0], free_gpu - n * shape[1], fitted + n
    if not fitted:
        return None
    kinds = {k for shape in wanted for k, amount in zip("CG", shape) if amount}
    used = [(total / UNITS, (total - free) / total, k) for total, free, k in ((t.cpu, free_cpu, "C"), (t.gpu, free_gpu, "G")) if total >= UNITS]
    scores = [v * util**3 for v, util, _ in used]
    gpu_ok = not (t.gpu > 0 and "G" not in kinds)
    return gpu_ok, sum(k in kinds for _, _, k in used), min(scores), sum(scores) / len(scores)


def pack(groups: list[list[int]], shape: Shape, count: int) -> int:
    """Pack ``count`` tasks of ``shape`` first fit onto groups of identical nodes, splitting groups; the tasks left over."""
    packed: list[list[int]] = []
    for nodes, free_cpu, free_gpu in groups:
        per_node = room(free_cpu, free_gpu, shape)
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
