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
from launchbay.cost.model import AutoscalingPolicy, FixedPolicy, Policy, PriceTable, Trace
from launchbay.cost.report import write_report
from launchbay.cost.simulate import simulate, sizing
from launchbay.cost.traces import generate
from launchbay.errors import LaunchbayError


def policies(cfg: BenchConfig, trace: Trace, prices: PriceTable) -> list[Policy]:
    """The fixed sizes and the autoscaling combinations the config asks for, on each node type compared."""
    types = compared_types(cfg, trace, prices)
    return [policy for node_type in types for policy in policies_on(cfg, trace, prices, node_type, named=len(types) > 1)]


def compared_types(cfg: BenchConfig, trace: Trace, prices: PriceTable) -> list[str]:
    """``cfg.node_types``, else every type of the price table that holds each of the trace's tasks, today's
    first; types with GPUs only when the trace asks for GPUs (Ray's scorer keeps CPU work off them)."""
    for name in [cfg.node_type, *(cfg.node_types or [])]:
        prices.node(name)  # a one-line error for a type the price table lacks
    if cfg.node_types is not None:
        return list(cfg.node_types)
    gpus = any(job.gpus > 0 for job in trace.jobs)
    holding = [
        name for name, node in prices.node_types.items()
        if (node.gpus > 0) == gpus and all(job.cpus <= node.cpus and job.gpus <= node.gpus for job in trace.jobs if job.tasks > 0)
    ]
    if not holding:
        raise LaunchbayError(f"cost: no node type of the {prices.provider} price table holds every task of trace '{trace.name}'")
    return sorted(holding, key=lambda name: name != cfg.node_type)  # today's type first


def policies_on(cfg: BenchConfig, trace: Trace, prices: PriceTable, node_type: str, *, named: bool) -> list[Policy]:
    """The policies of one node type; ``named``: their names say the type."""
    sizes = sizing(trace, prices.node(node_type))
    on = f" × {node_type}" if named else ""
    fixed: dict[int, Policy] = {}
    for size in cfg.fixed:
        nodes = sizes[size] if size in sizes else int(size)
        fixed.setdefault(nodes, FixedPolicy(f"fixed {nodes}{on} ({size})" if size in sizes else f"fixed {nodes}{on}", node_type, nodes))
    sweep = cfg.autoscaling
    top = sweep.max_workers or sizes["peak"]
    scaling = [
        AutoscalingPolicy(
            f"autoscale {low}-{top}{on}, idle {idle:g} s" + (f", speed {speed:g}" if len(sweep.upscaling_speed) > 1 else "") + (", spot" if spot else ""),
            node_type, min_workers=low, max_workers=top, upscaling_speed=speed, idle_timeout_s=idle, spot=spot,
        )
        for low, speed, idle, spot in itertools.product(sweep.min_workers, sweep.upscaling_speed, sweep.idle_timeout_s, sweep.spot)
    ]
    return [*fixed.values(), *scaling]


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
        replays = validated([p for p in chosen if p.node_type == cfg.node_type])
        rows = [row for row in rows if row[0] not in replays] + replayed(cfg, trace, prices, replays, console)
    return write_report(trace, prices, rows, out_dir, console, node_type=cfg.node_type)


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
        node = prices.node(policy.node_type)
        booted = replace(prices, node_types={**prices.node_types, policy.node_type: replace(node, boot_s=measured.boot_s or node.boot_s)})
        simulated = simulate(trace, policy, booted, update_interval_s=AUTOSCALER_UPDATE_INTERVAL_S * compression)
        rows += [(policy, outcome, cost_of(outcome, prices, trace)) for outcome in (simulated, measured)]
    return rows
