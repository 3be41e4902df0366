"""What predictions cost: a run's metered usage priced at a price table, over the rows it scored
(``scores.rows``, which score and pipeline runs have), per run and per model version.

A run's cost is all of it, a challenger trained by a pipeline run included. A run that scored
nothing (a training run) has a cost but no figure per 1,000 predictions: none, not zero.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from launchbay.cost.billing import PricedNode, priced_nodes
from launchbay.cost.model import PriceTable
from launchbay.errors import LaunchbayError
from launchbay.history import Run

PER = 1000


def predictions(summary: dict[str, Any]) -> int | None:
    """The rows a run scored (``scores.rows``); None for a run that scored none (training, drift checks)."""
    scores = summary.get("scores")
    rows = scores.get("rows") if isinstance(scores, dict) else None
    return int(rows) if isinstance(rows, int | float) else None


def per_1000(total: float, predictions: int | None) -> float | None:
    """``total`` per 1,000 of ``predictions``; None without predictions (no figure, not zero)."""
    return total / predictions * PER if predictions else None


@dataclass(frozen=True)
class RunCost:
    """What one run cost: its metered nodes priced, and the rows it scored."""

    total: float
    predictions: int | None
    nodes: list[PricedNode]

    @property
    def per_1000_predictions(self) -> float | None:
        return per_1000(self.total, self.predictions)


def run_cost_of(summary: dict[str, Any], prices: PriceTable) -> RunCost | None:
    """What the run of ``summary`` cost at ``prices``; None when its usage was not metered."""
    usage = summary.get("usage")
    if not isinstance(usage, dict) or "node_s" not in usage:
        return None
    nodes = priced_nodes(usage, prices)
    return RunCost(sum(node.cost for node in nodes), predictions(summary), nodes)


def method(prices: PriceTable) -> str:
    """How ``cost_section`` computes its figures, in words (summary.json keeps it with them)."""
    return (
        f"each node kind's metered seconds (usage.node_s) billed at the on-demand price of the cheapest {prices.provider} node type "
        f"with its CPUs and GPUs, in {prices.granularity_s:g} s increments with a {prices.minimum_s:g} s minimum; "
        f"per 1,000 predictions: the total over the rows scored (scores.rows) times {PER:,}"
    )


def cost_section(summary: dict[str, Any], prices: PriceTable) -> dict[str, Any]:
    """The ``cost`` section of ``summary.json`` (``cost=<price table>``): the run's total, its predictions,
    the cost per 1,000 of them, each node kind as billed, and how; what cannot be priced is said in ``error``."""
    section: dict[str, Any] = {"provider": prices.provider, "currency": prices.currency}
    try:
        cost = run_cost_of(summary, prices)
    except LaunchbayError as exc:
        return {**section, "error": str(exc)}
    if cost is None:
        return {**section, "error": f"not priced: {(summary.get('usage') or {}).get('error', 'no usage metered')}"}
    return {
        **section,
        "total": cost.total,
        "predictions": cost.predictions,
        "per_1000_predictions": cost.per_1000_predictions,
        "nodes": [{**asdict(node), "cost": node.cost} for node in cost.nodes],
        "method": method(prices),
    }


def describe(section: dict[str, Any]) -> str:
    """One line of a ``cost`` section, for the console."""
    if "error" in section:
        return f"cost ({section['provider']}): {section['error']}"
    each = section["per_1000_predictions"]
    per = f", {amount(each)} per 1,000 predictions" if each is not None else " (no predictions)"
    return f"cost: {amount(section['total'])} {section['currency']} at {section['provider']} prices{per}"


def amount(value: float | None) -> str:
    """Money to four significant digits, never in exponent notation (at least four decimals); blank for None."""
    if value is None:
        return ""
    decimals = 4 if value == 0 else min(12, max(4, 3 - math.floor(math.log10(abs(value)))))
    return f"{value:,.{decimals}f}"


@dataclass
class VersionCost:
    """The runs of one model version and what they cost together (runs without metered usage not priced)."""

    model: str
    version: str
    runs: int = 0
    unmetered: int = 0
    total: float = 0.0
    predictions: int = 0

    @property
    def per_1000_predictions(self) -> float | None:
        return per_1000(self.total, self.predictions)


def by_version(runs: list[Run], prices: PriceTable) -> list[VersionCost]:
    """The cost of ``runs`` per model version (the one each scored with, else trained): every metered run
    of it, training included, over the rows they scored; by model, then version."""
    versions: dict[tuple[str, str], VersionCost] = {}
    for run in runs:
        if (key := run.model_version) is None:
            continue
        entry = versions.setdefault(key, VersionCost(*key))
        entry.runs += 1
        if (cost := run_cost_of(run.summary, prices)) is None:
            entry.unmetered += 1
            continue
        entry.total += cost.total
        entry.predictions += cost.predictions or 0
    return sorted(versions.values(), key=lambda v: (v.model, *version_order(v.version)))


def version_order(version: str) -> tuple[int, int, str]:
    """Versions in number order (2 before 10), other names after them."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)
