"""The cost report of a set of policies on one trace: a terminal table, ``cost.json``, a plot of
cost against p95 latency with the Pareto frontier (``cost.png``), and a one-line recommendation.

Rows may hold a simulated and a measured outcome of the same policy: both are shown, with the
simulation's error against the measurement (the validation view). The frontier and the
recommendation compare the simulated rows (every policy has one), or all rows when none is.
A policy meets the SLO when its p95 job latency is within ``trace.slo_s``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from launchbay.cost.billing import ALLOCATION, BUSY_SHARE, IDLE_COST, Cost
from launchbay.cost.model import FixedPolicy, Outcome, Policy, PriceTable, Trace, worker_types
from launchbay.storage import write_atomic

Row = tuple[Policy, Outcome, Cost]
KINDS = ("fixed", "autoscaling")


def write_report(
    trace: Trace, prices: PriceTable, rows: list[Row], out_dir: str | Path, console: Any = None, *,
    node_type: str | None = None, interruptions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Print the table, write ``cost.json`` and ``cost.png`` into ``out_dir``, and return what ``cost.json`` holds;
    ``node_type``: the workers' type today, that right-sizing compares the others with; ``interruptions``: the
    spot policies played with interruptions as events (``bench.interrupted``)."""
    from rich.console import Console

    entries = [entry(policy, outcome, cost) for policy, outcome, cost in rows]
    compared = compared_entries(entries)
    frontier = pareto_front([(e["latency_p95_s"], e["cost"]) for e in compared])
    for index, e in enumerate(compared):
        e["on_frontier"] = index in frontier
    report = {
        "trace": {"name": trace.name, "horizon_s": trace.horizon_s, "slo_s": trace.slo_s, "jobs": len(trace.jobs)},
        "prices": {"provider": prices.provider, "currency": prices.currency, "head": prices.head},
        "definitions": {"cpu_allocation": ALLOCATION, "gpu_allocation": ALLOCATION, "busy_share": BUSY_SHARE, "idle_cost": IDLE_COST},
        "policies": entries,
        "validation": validation(entries),
        "recommendation": recommend(compared, trace, prices.currency),
        "right_sizing": right_sizing(compared, trace, prices, node_type),
        "interruptions": interruptions or [],
    }
    out = Path(out_dir)
    write_atomic(out / "cost.json", json.dumps(report, indent=2))
    figure = frontier_figure(entries, trace.slo_s, prices.currency)
    figure.savefig(out / "cost.png", dpi=120)
    print_report(console or Console(), report)
    return report


def entry(policy: Policy, outcome: Outcome, cost: Cost) -> dict[str, Any]:
    """One row of the report as plain values."""
    return {
        "policy": policy.name,
        "kind": KINDS[0] if isinstance(policy, FixedPolicy) else KINDS[1],
        "source": outcome.source,
        "settings": asdict(policy),
        "node_types": list(worker_types(policy)),
        "cost": cost.total,
        "idle_cost": cost.idle,
        "head_cost": cost.head,
        "interruption_cost": cost.interruptions,
        "by_node_type": cost.by_node_type,
        "node_hours": cost.node_hours,
        "node_seconds": outcome.node_seconds(),
        "cpu_allocation": cost.cpu_allocation,
        "gpu_allocation": cost.gpu_allocation,
        "busy_share": cost.busy_share,
        "latency_p50_s": cost.latency_p50_s,
        "latency_p95_s": cost.latency_p95_s,
        "slo_misses": cost.slo_misses,
        "on_frontier": False,
    }


def compared_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries the frontier and the recommendation compare: the simulated ones, or all when none is."""
    simulated = [e for e in entries if e["source"] == "simulated"]
    return simulated or entries


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """The indices of the points (latency, cost) that no other point beats on both (equal points all stay)."""
    return [
        i
        for i, (latency, cost) in enumerate(points)
        if not any(other_latency <= latency and other_cost <= cost and (other_latency, other_cost) != (latency, cost) for other_latency, other_cost in points)
    ]


def validation(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each policy with a simulated and a measured row: both, and the simulation's error in %."""
    measured = {e["policy"]: e for e in entries if e["source"] == "measured"}
    return [
        {
            "policy": sim["policy"],
            "node_seconds_simulated": sim["node_seconds"],
            "node_seconds_measured": meas["node_seconds"],
            "node_seconds_error_pct": error_pct(sim["node_seconds"], meas["node_seconds"]),
            "latency_p95_s_simulated": sim["latency_p95_s"],
            "latency_p95_s_measured": meas["latency_p95_s"],
            "latency_p95_error_pct": error_pct(sim["latency_p95_s"], meas["latency_p95_s"]),
        }
        for sim in entries
        if sim["source"] == "simulated" and (meas := measured.get(sim["policy"]))
    ]


def error_pct(simulated: float, measured: float) -> float | None:
    """The simulation's error relative to the measurement, in %; None when the measurement is 0."""
    return 100 * (simulated - measured) / measured if measured else None


def recommend(entries: list[dict[str, Any]], trace: Trace, currency: str) -> str:
    """The cheapest policy that meets the SLO (the cheapest overall without one), and what it saves
    against the cheapest that meets it of the other kind (fixed or autoscaling)."""
    if not entries:
        return "No policy to compare."
    slo = trace.slo_s
    meets = [e for e in entries if slo is None or e["latency_p95_s"] <= slo]
    if not meets:
        fastest = min(entries, key=lambda e: e["latency_p95_s"])
        fastest_at = f"p95 {fastest['latency_p95_s']:.0f} s, {money(fastest['cost'], currency)}"
        return f"No policy meets the {slo:g} s SLO; the fastest is {fastest['policy']} ({fastest_at})."
    best = min(meets, key=lambda e: e["cost"])
    other_kind = KINDS[1 - KINDS.index(best["kind"])]
    rule = "" if slo is None else f" that meets the {slo:g} s SLO"
    line = f"Use {best['policy']} ({best['kind']}): {money(best['cost'], currency)} over {trace.horizon_s / 3600:g} h, the cheapest policy{rule}"
    others = [e for e in meets if e["kind"] == other_kind]
    if not others:
        return f"{line}; no {other_kind} policy {'meets it' if rule else 'was compared'}."
    alternative = min(others, key=lambda e: e["cost"])
    saving = alternative["cost"] - best["cost"]
    share = f" ({100 * saving / alternative['cost']:.0f}%)" if alternative["cost"] else ""
    return f"{line}; it saves {money(saving, currency)}{share} against {alternative['policy']}, the cheapest {other_kind} policy{rule}."


def right_sizing(entries: list[dict[str, Any]], trace: Trace, prices: PriceTable, today: str | None) -> str | None:
    """Which node types to run on: the cheapest policy (meeting the SLO) of each set of worker types compared,
    that of the cheapest set against that of ``today``'s type (else the next cheapest), and why (allocation,
    idle cost, price per CPU-hour); None when one set was compared."""
    slo = trace.slo_s
    best: dict[str, dict[str, Any]] = {}
    for e in entries:
        kind = " + ".join(e["node_types"])
        if (slo is None or e["latency_p95_s"] <= slo) and (kind not in best or e["cost"] < best[kind]["cost"]):
            best[kind] = e
    if len({tuple(e["node_types"]) for e in entries}) < 2 or not best:
        return None
    cheapest = min(best.values(), key=lambda e: e["cost"])
    kind, currency = " + ".join(cheapest["node_types"]), prices.currency
    baseline = best.get(today) if today and today != kind else None
    baseline = baseline or min((e for e in best.values() if e is not cheapest), key=lambda e: e["cost"], default=None)
    if baseline is None:
        return f"Right-sizing: only {kind} meets the SLO ({cheapest['policy']}, {money(cheapest['cost'], currency)})."
    other = " + ".join(baseline["node_types"])
    saving = baseline["cost"] - cheapest["cost"]
    share = f" ({100 * saving / baseline['cost']:.0f}%)" if baseline["cost"] else ""
    lead = f"run on {kind}, not today's {other}" if other == today else f"{kind} is the cheapest; next is {other}"
    per_cpu = [min(prices.node(name).on_demand_per_h / prices.node(name).cpus for name in e["node_types"]) for e in (cheapest, baseline)]
    return (
        f"Right-sizing: {lead}: {cheapest['policy']} costs {money(cheapest['cost'], currency)} against {money(baseline['cost'], currency)} "
        f"for {baseline['policy']}, {money(saving, currency)}{share} less. Its CPUs are {cheapest['cpu_allocation']:.0%} reserved against "
        f"{baseline['cpu_allocation']:.0%}, so its idle cost is {money(cheapest['idle_cost'], currency)} against {money(baseline['idle_cost'], currency)}, "
        + (f"at the same lowest price per CPU-hour ({per_cpu[0]:.4f} {currency} on demand): the saving is in allocation."
           if abs(per_cpu[0] - per_cpu[1]) < 1e-9 else f"at {per_cpu[0]:.4f} against {per_cpu[1]:.4f} {currency} per CPU-hour at the lowest, on demand.")
    )


def money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def frontier_figure(entries: list[dict[str, Any]], slo_s: float | None, currency: str):
    """Cost against p95 latency: every entry labelled, the frontier drawn through the compared ones, the SLO as a line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for source, marker in (("simulated", "o"), ("measured", "s")):
        shown = [e for e in entries if e["source"] == source]
        if shown:
            axes.scatter([e["latency_p95_s"] for e in shown], [e["cost"] for e in shown], marker=marker, label=source, zorder=3)
    for e in entries:
        label = e["policy"] if e["source"] == "simulated" else f"{e['policy']} (measured)"
        axes.annotate(label, (e["latency_p95_s"], e["cost"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
    front = sorted((e["latency_p95_s"], e["cost"]) for e in entries if e["on_frontier"])
    if front:
        axes.plot([p[0] for p in front], [p[1] for p in front], "--", color="tab:red", label="Pareto frontier", zorder=2)
    if slo_s is not None:
        axes.axvline(slo_s, color="grey", linestyle=":", label=f"SLO {slo_s:g} s")
    axes.set_xlabel("p95 job latency (s)")
    axes.set_ylabel(f"cost over the horizon ({currency})")
    axes.legend()
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def print_report(console: Any, report: dict[str, Any]) -> None:
    """The policies' table, the validation table when there are measured rows, and the recommendation."""
    from rich.table import Table

    entries, slo_s, currency = report["policies"], report["trace"]["slo_s"], report["prices"]["currency"]
    sources = len({e["source"] for e in entries}) > 1
    gpus = any(e["gpu_allocation"] is not None for e in entries)
    table = Table(title=f"{report['trace']['name']} on {report['prices']['provider']} ({currency})", caption=caption(report["definitions"]))
    allocation = ["CPU alloc", *(["GPU alloc"] if gpus else []), "busy nodes"]
    for column in ["policy", "kind", *(["source"] if sources else []), "cost", "idle cost", "node-h", *allocation, "p50 s", "p95 s"]:
        table.add_column(column, justify="left" if column in ("policy", "kind", "source") else "right")
    if slo_s is not None:
        table.add_column(f"> {slo_s:g} s", justify="right")
    table.add_column("frontier", justify="center")
    for e in entries:
        cells = [e["policy"], e["kind"], *([e["source"]] if sources else [])]
        cells += [f"{e['cost']:,.2f}", f"{e['idle_cost']:,.2f}", f"{e['node_hours']:,.1f}", f"{e['cpu_allocation']:.0%}"]
        cells += ["" if e["gpu_allocation"] is None else f"{e['gpu_allocation']:.0%}"] if gpus else []
        cells += [f"{e['busy_share']:.0%}"]
        cells += [f"{e['latency_p50_s']:.0f}", f"{e['latency_p95_s']:.0f}"]
        cells += ["" if e["slo_misses"] is None else str(e["slo_misses"])] if slo_s is not None else []
        table.add_row(*cells, "*" if e["on_frontier"] else "")
    console.print(table)
    if report["validation"]:
        check = Table("policy", "node-s simulated", "node-s measured", "error", "p95 s simulated", "p95 s measured", "error", title="simulated vs measured")
        for v in report["validation"]:
            check.add_row(
                v["policy"],
                f"{v['node_seconds_simulated']:,.0f}",
                f"{v['node_seconds_measured']:,.0f}",
                percent(v["node_seconds_error_pct"]),
                f"{v['latency_p95_s_simulated']:.0f}",
                f"{v['latency_p95_s_measured']:.0f}",
                percent(v["latency_p95_error_pct"]),
            )
        console.print(check)
    if report["interruptions"]:
        print_interruptions(console, report["interruptions"], currency)
    console.print(report["recommendation"])
    if report["right_sizing"]:
        console.print(report["right_sizing"])


def print_interruptions(console: Any, found: list[dict[str, Any]], currency: str) -> None:
    """The spot policies with interruptions played as events: cost and p95 over the seeds against the expectation."""
    from rich.table import Table

    def shown(values: dict[str, float], form: str) -> str:
        return f"{values['mean']:{form}} [{values['min']:{form}}–{values['max']:{form}}]"

    seeds = found[0]["seeds"]
    table = Table("policy", f"expected cost ({currency})", "simulated: mean [lowest–highest]", "error", "interruptions",
                  "p95 s", "p95 s without", title=f"spot interruptions as events ({seeds} seeds)")
    for f in found:
        table.add_row(f["policy"], f"{f['expected_cost']:,.2f}", shown(f["cost"], ",.2f"), percent(error_pct(f["expected_cost"], f["cost"]["mean"])),
                      shown(f["interruptions"], ".1f"), shown(f["latency_p95_s"], ".0f"), f"{f['latency_p95_s_without']:.0f}")
    console.print(table)


def caption(definitions: dict[str, str]) -> str:
    """The table's caption: what its allocation, busy and idle columns mean."""
    return (f"CPU/GPU alloc: {definitions['cpu_allocation']}. Busy nodes: {definitions['busy_share']}. "
            f"Idle cost: {definitions['idle_cost']}.")


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"
