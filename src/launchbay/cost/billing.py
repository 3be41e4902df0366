"""What an outcome costs: each worker node billed as the cloud bills it, the head over the
horizon, and the expected price of spot interruptions."""

from __future__ import annotations

from dataclasses import dataclass, field

from launchbay.cost.model import NodeSpan, NodeType, Outcome, PriceTable, Trace
from launchbay.errors import LaunchbayError


@dataclass
class Cost:
    """The bill of one outcome, in the price table's currency.

    ``total`` is the workers, the head and the expected interruptions together; ``idle`` is the
    price of the billed CPU- and GPU-seconds that no task reserved (see ``IDLE_COST``);
    ``node_hours`` and the shares are of the workers' billed time, the head left out.
    """

    total: float
    idle: float
    head: float
    interruptions: float  # expected cost of spot interruptions (see ``cost_of``)
    by_node_type: dict[str, float] = field(default_factory=dict)  # workers, interruptions included
    node_hours: float = 0.0
    cpu_allocation: float = 0.0  # CPU-seconds reserved by tasks / CPU-seconds billed
    gpu_allocation: float | None = None  # the same for GPUs; None: no GPU was billed
    busy_share: float = 0.0  # node-seconds with a task running / billed node-seconds
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    slo_misses: int | None = None  # jobs over the trace's SLO; None without a trace or an SLO
    currency: str = "USD"


# The definitions the report states with its figures.
ALLOCATION = "reserved resource-seconds (tasks' CPUs and GPUs times their run time) over billed ones (each node's billed seconds times its CPUs or GPUs)"
BUSY_SHARE = "billed node-seconds during which at least one task ran on the node, over all billed node-seconds"
IDLE_COST = (
    "the price of the billed CPU- and GPU-seconds that no task reserved, as OpenCost's and Kubecost's cluster idle: "
    "a node's price is split between its CPUs and GPUs, its CPUs priced at the price table's cheapest CPU-only rate per CPU "
    "(half the price when the table has no CPU-only type) and the rest to its GPUs"
)


def cost_of(outcome: Outcome, prices: PriceTable, trace: Trace | None = None) -> Cost:
    """The bill of ``outcome`` under ``prices``; ``trace`` (the workload that ran) gives the SLO and the task length.

    Each worker is billed ``prices.billed_s(down_s - requested_s)`` at its type's on-demand
    price, or spot price when ``span.spot``; its idle cost is the unreserved share of each
    resource kind times that kind's part of the bill (``IDLE_COST``). Spot interruptions are a Poisson process of
    ``prices.spot_interruptions_per_h`` per billed node-hour; each one bills a replacement's
    boot again, and, when it hits a busy node (the chance is the node's busy share), the rerun
    of the work lost: half a task on average, the trace's mean task length (none without a trace).
    Interruptions add to the bill only: their delay to jobs is not modelled. An outcome that
    played them as events (``outcome.interruptions`` set) has them in its nodes already: no expectation is added. The latencies are
    the outcome's quantiles; the head is billed on demand over the horizon.
    """
    task_s = mean_task_s(trace) if trace else 0.0
    by_node_type: dict[str, float] = {}
    idle = interruptions = billed_s = busy_s = 0.0
    reserved, billed = {"cpu": 0.0, "gpu": 0.0}, {"cpu": 0.0, "gpu": 0.0}
    for span in outcome.nodes:
        node = prices.node(span.node_type)
        per_s = price_per_h(prices, span) / 3600
        seconds = prices.billed_s(span.down_s - span.requested_s)
        lost = expected_interruption_s(prices, span, seconds, task_s) if span.spot and outcome.interruptions is None else 0.0
        by_node_type[span.node_type] = by_node_type.get(span.node_type, 0.0) + (seconds + lost) * per_s
        cpu_part = cpu_price_share(prices, node)
        for kind, used, amount, part in (("cpu", span.cpu_s, node.cpus, cpu_part), ("gpu", span.gpu_s, node.gpus, 1 - cpu_part)):
            if amount > 0:
                used = min(used, seconds * amount)
                reserved[kind] += used
                billed[kind] += seconds * amount
                idle += part * (1 - used / (seconds * amount)) * seconds * per_s
        interruptions += lost * per_s
        billed_s += seconds
        busy_s += min(span.busy_s, seconds)
    head = prices.node(prices.head).on_demand_per_h * prices.billed_s(outcome.horizon_s) / 3600 if prices.head else 0.0
    slo_s = trace.slo_s if trace else None
    return Cost(
        total=sum(by_node_type.values()) + head,
        idle=idle,
        head=head,
        interruptions=interruptions,
        by_node_type=by_node_type,
        node_hours=billed_s / 3600,
        cpu_allocation=reserved["cpu"] / billed["cpu"] if billed["cpu"] else 0.0,
        gpu_allocation=reserved["gpu"] / billed["gpu"] if billed["gpu"] else None,
        busy_share=busy_s / billed_s if billed_s else 0.0,
        latency_p50_s=outcome.latency_quantile(0.5),
        latency_p95_s=outcome.latency_quantile(0.95),
        slo_misses=None if slo_s is None else sum(job.latency_s > slo_s for job in outcome.jobs),
        currency=prices.currency,
    )


def cpu_price_share(prices: PriceTable, node: NodeType) -> float:
    """The share of a node's price that its CPUs account for (``IDLE_COST``): all of it without GPUs."""
    if node.gpus <= 0:
        return 1.0
    rates = [n.on_demand_per_h / n.cpus for n in prices.node_types.values() if n.gpus <= 0 and n.on_demand_per_h > 0]
    if not rates or node.on_demand_per_h <= 0:
        return 0.5
    return min(1.0, node.cpus * min(rates) / node.on_demand_per_h)


def price_per_h(prices: PriceTable, span: NodeSpan) -> float:
    """The hourly price of a span's node: spot or on demand; a one-line error for spot on a type without a spot market."""
    node = prices.node(span.node_type)
    if not span.spot:
        return node.on_demand_per_h
    if node.spot_per_h is None:
        raise LaunchbayError(f"cost: node type '{span.node_type}' has no spot price in the {prices.provider} price table")
    return node.spot_per_h


def expected_interruption_s(prices: PriceTable, span: NodeSpan, billed_s: float, task_s: float) -> float:
    """The node-seconds that a spot node's expected interruptions bill again: a replacement's boot each, and half a task when busy."""
    interruptions = prices.spot_interruptions_per_h * billed_s / 3600
    busy_share = min(span.busy_s / billed_s, 1.0) if billed_s else 0.0
    return interruptions * (prices.node(span.node_type).boot_s + busy_share * task_s / 2)


def mean_task_s(trace: Trace) -> float:
    """The mean length of the trace's tasks, each task counted once."""
    tasks = sum(job.tasks for job in trace.jobs)
    return sum(job.tasks * job.task_s for job in trace.jobs) / tasks if tasks else 0.0


@dataclass(frozen=True)
class PricedNode:
    """One metered node kind of a run (a key of ``usage.node_s``), billed as the cheapest node type that holds it."""

    kind: str
    seconds: float  # metered
    billed_s: float  # rounded up to the increment, at least the minimum
    node_type: str  # the price table's cheapest type with at least the kind's CPUs and GPUs
    on_demand_per_h: float

    @property
    def cost(self) -> float:
        return self.billed_s * self.on_demand_per_h / 3600


def priced_nodes(usage: dict, prices: PriceTable) -> list[PricedNode]:
    """Each node kind of a run's metered usage, billed on demand at the cheapest type of the price
    table with at least its CPUs and GPUs; a one-line error when no type holds one."""
    priced = []
    for kind, seconds in usage.get("node_s", {}).items():
        needs = usage.get("node_types", {}).get(kind, {"cpus": 1, "gpus": 0})
        fitting = [(name, n) for name, n in prices.node_types.items() if n.cpus >= needs["cpus"] and n.gpus >= needs["gpus"]]
        if not fitting:
            raise LaunchbayError(f"cost: no node type of {prices.provider} has {needs['cpus']:g} CPUs and {needs['gpus']:g} GPUs (for {kind})")
        name, node = min(fitting, key=lambda item: item[1].on_demand_per_h)
        priced.append(PricedNode(kind, float(seconds), prices.billed_s(seconds), name, node.on_demand_per_h))
    return priced


def run_cost(usage: dict, prices: PriceTable) -> float:
    """What a run's metered nodes would have cost (see ``priced_nodes``)."""
    return sum(node.cost for node in priced_nodes(usage, prices))
