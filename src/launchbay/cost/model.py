"""The records the cost model shares: node types and their prices, workload traces,
cluster policies, and what happened when a trace ran under a policy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from launchbay.settings import require


@dataclass
class NodeType:
    """A kind of machine: its resources, its prices per hour and how long it takes to boot
    (billed: a cloud bills a node from the moment it is requested)."""

    cpus: float
    gpus: float = 0.0
    on_demand_per_h: float = 0.0
    spot_per_h: float | None = None  # None: no spot market for this type
    boot_s: float = 180.0  # from the request to Ray being up on it

    def __post_init__(self) -> None:
        require(self.cpus > 0, "cost.node_types.*.cpus", "positive", self.cpus)
        require(self.on_demand_per_h >= 0, "cost.node_types.*.on_demand_per_h", "0 or more", self.on_demand_per_h)
        require(self.boot_s >= 0, "cost.node_types.*.boot_s", "0 or more", self.boot_s)


@dataclass
class PriceTable:
    """A cloud's prices (``conf/cost/*.yaml``): node types, billing rules and the head node."""

    provider: str = "aws"
    currency: str = "USD"
    node_types: dict[str, NodeType] = field(default_factory=dict)
    head: str | None = None  # the head's node type (billed for the whole horizon); None: no head cost
    granularity_s: float = 1.0  # billing increment
    minimum_s: float = 60.0  # minimum charge per node
    spot_interruptions_per_h: float = 0.0  # chance per node-hour that a spot node is taken back

    def node(self, name: str) -> NodeType:
        if name not in self.node_types:
            from launchbay.errors import LaunchbayError

            raise LaunchbayError(f"cost: no node type '{name}' (node types: {', '.join(sorted(self.node_types))})")
        return self.node_types[name]

    def billed_s(self, seconds: float) -> float:
        """The seconds a node that ran ``seconds`` is billed: rounded up to the increment, at least the minimum."""
        return max(self.minimum_s, math.ceil(max(seconds, 0.0) / self.granularity_s) * self.granularity_s)


@dataclass
class TraceJob:
    """One job of a workload: it arrives, and asks for ``tasks`` tasks of ``task_s`` seconds
    with ``cpus``/``gpus`` each; it is done when its last task ends."""

    arrival_s: float
    tasks: int = 1
    task_s: float = 60.0
    cpus: float = 1.0
    gpus: float = 0.0
    name: str = ""


@dataclass
class Trace:
    """A workload: its jobs by arrival, over ``horizon_s`` seconds, with an optional latency SLO."""

    name: str
    jobs: list[TraceJob]
    horizon_s: float
    slo_s: float | None = None  # a job's latency (arrival to end) should stay under this

    def cpu_seconds(self) -> float:
        return sum(j.tasks * j.task_s * j.cpus for j in self.jobs)


@dataclass
class FixedPolicy:
    """A cluster of ``nodes`` workers of one type (and ``extra_types``' counts of others), up for the whole horizon."""

    name: str
    node_type: str
    nodes: int
    spot: bool = False
    extra_types: dict[str, int] = field(default_factory=dict)  # a mixed cluster: node counts of more worker types


@dataclass
class AutoscalingPolicy:
    """Ray's autoscaler over one worker type (the settings of a ``ray up`` or KubeRay config)."""

    name: str
    node_type: str
    min_workers: int = 0
    max_workers: int = 10
    upscaling_speed: float = 1.0
    idle_timeout_s: float = 60.0
    spot: bool = False
    extra_types: dict[str, int] = field(default_factory=dict)  # a mixed cluster: max_workers of more worker types (min 0)

    def __post_init__(self) -> None:
        require(0 <= self.min_workers <= self.max_workers, "policy.min_workers", "between 0 and max_workers", self.min_workers)
        require(self.upscaling_speed > 0, "policy.upscaling_speed", "positive", self.upscaling_speed)
        require(self.idle_timeout_s >= 0, "policy.idle_timeout_s", "0 or more", self.idle_timeout_s)


Policy = FixedPolicy | AutoscalingPolicy


def worker_types(policy: Policy) -> dict[str, tuple[int, int]]:
    """Each worker type of a policy and its (min, max) nodes; a fixed cluster's are equal."""
    if isinstance(policy, FixedPolicy):
        return {policy.node_type: (policy.nodes, policy.nodes), **{name: (n, n) for name, n in policy.extra_types.items()}}
    return {policy.node_type: (policy.min_workers, policy.max_workers), **{name: (0, n) for name, n in policy.extra_types.items()}}


@dataclass
class NodeSpan:
    """One worker node's life: requested (billing starts), up (Ray can use it), gone."""

    node_type: str
    requested_s: float
    up_s: float
    down_s: float
    busy_s: float = 0.0  # seconds at least one task ran on it
    spot: bool = False
    cpu_s: float = 0.0  # CPU-seconds reserved by the tasks that ran on it
    gpu_s: float = 0.0  # GPU-seconds reserved by them


@dataclass
class JobSpan:
    """When a job of the trace arrived, started its first task and ended its last."""

    arrival_s: float
    start_s: float
    end_s: float

    @property
    def latency_s(self) -> float:
        return self.end_s - self.arrival_s


@dataclass
class Outcome:
    """What happened when a trace ran under a policy (simulated, or measured on Ray's autoscaler)."""

    trace: str
    policy: str
    horizon_s: float
    nodes: list[NodeSpan]
    jobs: list[JobSpan]
    source: str = "simulated"  # simulated | measured
    boot_s: float | None = None  # measured: the median seconds from a node's request to its first task
    boot_overhead_s: float | None = None  # measured: the median of that less the node type's own boot (what this machine adds)
    interruptions: int | None = None  # spot nodes taken back, where they were played as events; None: priced as expected

    def node_seconds(self) -> float:
        return sum(n.down_s - n.requested_s for n in self.nodes)

    def latency_quantile(self, q: float) -> float:
        import numpy as np

        return float(np.quantile([j.latency_s for j in self.jobs], q)) if self.jobs else 0.0
