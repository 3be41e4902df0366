"""``launchbay bench cost``: every policy of the bench config simulated on the trace, priced,
and compared; with ``validate``, two of them also replayed on Ray's real autoscaler.

Validation replays the fixed cluster sized at p95 and the first on-demand autoscaling
policy. Their simulations are run again with what this machine adds to a node's boot (Ray
and its workers starting on a node, a few seconds of wall time, so minutes of trace time
once compressed): the boot the replay measured from each node's request to its first task.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

from launchbay.cost.billing import cost_of
from launchbay.cost.config import BenchConfig
from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, Policy, PriceTable, Trace, worker_types
from launchbay.cost.report import write_report
from launchbay.cost.simulate import simulate, sizing
from launchbay.cost.traces import generate
from launchbay.errors import LaunchbayError


def policies(cfg: BenchConfig, trace: Trace, prices: PriceTable) -> list[Policy]:
    """The fixed sizes and the autoscaling combinations the config asks for, on each node type compared,
    and for a trace of CPU and GPU work, on mixed clusters too."""
    types, mixed = compared_types(cfg, trace, prices), mixed_policies(cfg, trace, prices)
    single = [policy for node_type in types for policy in cluster_policies(cfg, [(node_type, trace)], named=len(types) > 1 or bool(mixed))]
    return single + mixed


def mixed_policies(cfg: BenchConfig, trace: Trace, prices: PriceTable) -> list[Policy]:
    """For a trace with CPU-only and GPU jobs (and no ``cfg.node_types``): each CPU type with each GPU type,
    each sized for its part of the work, and one autoscaler over all of them, the type of each new node
    left to Ray's scorer (see ``launchbay.cost.autoscaler``)."""
    cpu_part = replace(trace, jobs=[job for job in trace.jobs if job.gpus == 0])
    gpu_part = replace(trace, jobs=[job for job in trace.jobs if job.gpus > 0])
    if cfg.node_types is not None or not cpu_part.jobs or not gpu_part.jobs:
        return []
    cpu_types, gpu_types = (holding_types(prices, part) for part in (cpu_part, gpu_part))
    pairs = [policy for c in cpu_types for g in gpu_types for policy in cluster_policies(cfg, [(c, cpu_part), (g, gpu_part)], named=True)]
    every = [(name, cpu_part) for name in cpu_types] + [(name, gpu_part) for name in gpu_types]
    return pairs + [p for p in cluster_policies(cfg, every, named=True) if isinstance(p, AutoscalingPolicy)] if len(every) > 2 else pairs


def holding_types(prices: PriceTable, trace: Trace) -> list[str]:
    """The price table's types that hold each of the trace's tasks; types with GPUs only when it asks for GPUs
    (Ray's scorer keeps CPU work off them)."""
    gpus = any(job.gpus > 0 for job in trace.jobs)
    return [
        name for name, node in prices.node_types.items()
        if (node.gpus > 0) == gpus and all(job.cpus <= node.cpus and job.gpus <= node.gpus for job in trace.jobs if job.tasks > 0)
    ]


def compared_types(cfg: BenchConfig, trace: Trace, prices: PriceTable) -> list[str]:
    """``cfg.node_types``, else every type that holds each of the trace's tasks (``holding_types``), today's first."""
    for name in [cfg.node_type, *(cfg.node_types or [])]:
        prices.node(name)  # a one-line error for a type the price table lacks
    if cfg.node_types is not None:
        return list(cfg.node_types)
    holding = holding_types(prices, trace)
    if not holding:
        raise LaunchbayError(f"cost: no node type of the {prices.provider} price table holds every task of trace '{trace.name}'")
    return sorted(holding, key=lambda name: name != cfg.node_type)  # today's type first


def cluster_policies(cfg: BenchConfig, parts: list[tuple[str, Trace]], *, named: bool) -> list[Policy]:
    """The policies of a cluster of the ``parts``' node types, each sized for its part of the trace
    (``min_workers`` of the first type only); ``named``: their names say the types."""
    sizes = [sizing(part, cfg.cost.node(name)) for name, part in parts]
    names = [name for name, _ in parts]

    def fixed_name(counts: list[int]) -> str:
        return " + ".join(f"{n} × {name}" for n, name in zip(counts, names)) if named else str(counts[0])

    fixed: dict[tuple[int, ...], Policy] = {}
    for size in cfg.fixed:
        counts = [each[size] if size in each else int(size) for each in sizes]
        label = f"fixed {fixed_name(counts)}" + (f" ({size})" if size in sizes[0] else "")
        fixed.setdefault(tuple(counts), FixedPolicy(label, names[0], counts[0], extra_types=dict(zip(names[1:], counts[1:]))))
    sweep = cfg.autoscaling
    tops = [sweep.max_workers or each["peak"] for each in sizes]
    scaling = []
    for low, speed, idle, spot in itertools.product(sweep.min_workers, sweep.upscaling_speed, sweep.idle_timeout_s, sweep.spot):
        ranges = " + ".join(f"{low if i == 0 else 0}-{top}" + (f" × {name}" if named else "") for i, (top, name) in enumerate(zip(tops, names)))
        label = f"autoscale {ranges}, idle {idle:g} s" + (f", speed {speed:g}" if len(sweep.upscaling_speed) > 1 else "") + (", spot" if spot else "")
        scaling.append(AutoscalingPolicy(label, names[0], min_workers=min(low, tops[0]), max_workers=tops[0], upscaling_speed=speed,
                                         idle_timeout_s=idle, spot=spot, extra_types=dict(zip(names[1:], tops[1:]))))
    return [*fixed.values(), *scaling]


def interrupted(cfg: BenchConfig, trace: Trace, rows: list) -> list[dict[str, Any]]:
    """Each spot policy played once per seed with interruptions as events: its cost and p95 latency over
    the seeds (mean, lowest, highest) beside the expected cost that billing gives the same policy."""
    prices = cfg.cost
    if not cfg.interruptions.seeds or prices.spot_interruptions_per_h <= 0:
        return []
    found = []
    for policy, _, expected in (row for row in rows if row[0].spot and row[1].source == "simulated"):
        played = [simulate(trace, policy, prices, update_interval_s=cfg.update_interval_s, seed=seed) for seed in range(cfg.interruptions.seeds)]
        costs = [cost_of(outcome, prices, trace) for outcome in played]
        found.append({
            "policy": policy.name,
            "seeds": len(played),
            "expected_cost": expected.total,
            "cost": spread([c.total for c in costs]),
            "latency_p95_s": spread([c.latency_p95_s for c in costs]),
            "latency_p95_s_without": expected.latency_p95_s,
            "interruptions": spread([float(outcome.interruptions or 0) for outcome in played]),
        })
    return found


def spread(values: list[float]) -> dict[str, float]:
    """The mean, lowest and highest of ``values``."""
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}


def run_bench(cfg: BenchConfig, out_dir: Path, console: Any) -> dict[str, Any]:
    """Simulate, price and report every policy (and replay two with ``cfg.validate``)."""
    prices, trace = cfg.cost, generate(cfg.trace)
    chosen = policies(cfg, trace, prices)
    console.print(f"{trace.name}: {len(trace.jobs):,} jobs, {trace.cpu_seconds() / 3600:,.1f} CPU-hours over {trace.horizon_s / 3600:g} h; "
                  f"{len(chosen)} policies on {', '.join(dict.fromkeys(p.node_type for p in chosen))}")
    rows = []
    for policy in chosen:
        outcome = simulate(trace, policy, prices, update_interval_s=cfg.update_interval_s)
        rows.append((policy, outcome, cost_of(outcome, prices, trace)))
    if cfg.validate:
        replays = validated(replayable(cfg, chosen))
        rows = [row for row in rows if row[0] not in replays] + replayed(cfg, trace, prices, replays, console)
    return write_report(trace, prices, rows, out_dir, console, node_type=cfg.node_type, interruptions=interrupted(cfg, trace, rows))


def replayable(cfg: BenchConfig, chosen: list[Policy]) -> list[Policy]:
    """The policies to pick the replays from: those on today's type alone, else (a trace that today's type
    cannot hold alone) the mixed clusters that the local cluster can play (``replay.shape_for``)."""
    from launchbay.cost.replay import shape_for

    today = [p for p in chosen if p.node_type == cfg.node_type and not p.extra_types]
    if today:
        return today
    held = []
    for policy in (p for p in chosen if p.extra_types):
        try:
            shape_for(policy, cfg.cost, cfg.replay.compression)
        except LaunchbayError:
            continue
        held.append(policy)
    return held


def validated(chosen: list[Policy]) -> list[Policy]:
    """The policies ``--validate`` replays: the fixed one sized at p95 (else the first) and the first on-demand autoscaler."""
    fixed = [p for p in chosen if isinstance(p, FixedPolicy)]
    scaling = [p for p in chosen if isinstance(p, AutoscalingPolicy) and not p.spot]
    at_p95 = [p for p in fixed if "(p95)" in p.name]
    return [*(at_p95 or fixed)[:1], *scaling[:1]]


def replayed(cfg: BenchConfig, trace: Trace, prices: PriceTable, chosen: list[Policy], console: Any) -> list:
    """Each policy replayed on the real autoscaler and simulated again with the boot the replay measured."""
    from launchbay.cluster.supervisor import AUTOSCALER_UPDATE_INTERVAL_S
    from launchbay.cost.replay import replay

    compression = cfg.replay.compression
    rows = []
    for policy in chosen:
        console.print(f"replaying {policy.name} on Ray's autoscaler ({trace.horizon_s / compression:,.0f} s of wall time)…")
        measured = replay(trace, policy, prices, compression=compression)
        extra = measured.boot_overhead_s or 0.0
        booted = replace(prices, node_types={**prices.node_types, **{name: replace(prices.node(name), boot_s=prices.node(name).boot_s + extra)
                                                                     for name in worker_types(policy)}})
        simulated = simulate(trace, policy, booted, update_interval_s=AUTOSCALER_UPDATE_INTERVAL_S * compression)
        rows += [(policy, outcome, cost_of(outcome, prices, trace)) for outcome in (simulated, measured)]
    return rows
