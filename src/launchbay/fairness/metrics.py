"""Rates per group and gaps between groups, from the counts of ``fairness.counts``, as fairlearn defines them.

Per group: the selection rate (share of rows predicted positive, over every row, labelled or
not), and over its labelled rows the true positive rate, false positive rate and accuracy (a
rate whose denominator is zero is 0, as fairlearn's are). Per column, over the groups that are
judged: the demographic parity difference (largest selection rate minus smallest) and ratio
(smallest over largest; undefined when the largest is 0), and the equalized odds difference
(the larger of the TPR and FPR ranges). A group is judged on selection with at least
``min_rows`` rows, and on the rates that need labels with at least ``min_rows`` labelled rows;
a gap needs two judged groups, else it is undefined (None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rich.table import Table

    from launchbay.fairness.counts import GroupCounts

# The gaps a challenger is judged on (``approval.max_fairness_gap``): both are 0 when groups are treated alike.
GAPS = ("demographic_parity_difference", "equalized_odds_difference")


def rate(numerator: int, denominator: int) -> float:
    return float(numerator / denominator) if denominator else 0.0


def group_rates(value: Any, counts: np.ndarray, min_rows: int) -> dict[str, Any]:
    """One group's row of the table."""
    _, selected, tn, fp, fn, tp = (int(c) for c in counts)
    rows, labelled = int(counts.sum()), tn + fp + fn + tp
    with_labels = labelled > 0
    return {
        "group": "null" if value is None else str(value),
        "rows": rows,
        "labelled": labelled,
        "selection_rate": rate(selected + fp + tp, rows),
        "tpr": rate(tp, tp + fn) if with_labels else None,
        "fpr": rate(fp, fp + tn) if with_labels else None,
        "accuracy": rate(tp + tn, labelled) if with_labels else None,
        "judged": rows >= min_rows,
        "judged_labels": labelled >= min_rows,
    }


def judged_as(group: dict[str, Any]) -> str:
    """How a group's row is judged: "yes", "selection only" (too few labelled rows for the rates that need labels) or "no"."""
    if group["judged_labels"] or (group["judged"] and not group["labelled"]):
        return "yes"
    return "selection only" if group["judged"] else "no"


def spread(values: list[float]) -> float | None:
    return float(max(values) - min(values)) if len(values) >= 2 else None


def column_gaps(groups: list[dict[str, Any]]) -> dict[str, float | None]:
    """The gaps between the judged groups of one column."""
    selection = [g["selection_rate"] for g in groups if g["judged"]]
    labelled = [g for g in groups if g["judged_labels"]]
    tpr, fpr = spread([g["tpr"] for g in labelled]), spread([g["fpr"] for g in labelled])
    return {
        "demographic_parity_difference": spread(selection),
        "demographic_parity_ratio": float(min(selection) / max(selection)) if len(selection) >= 2 and max(selection) > 0 else None,
        "equalized_odds_difference": max(tpr, fpr) if tpr is not None and fpr is not None else None,
    }


def summarize(counts: GroupCounts, min_rows: int) -> dict[str, Any]:
    """The ``fairness`` section of a summary (or of a version's meta): per column its groups and gaps,
    and the groups too small to judge."""
    columns, too_small = {}, []
    rows = labelled = 0
    for column, groups in counts.columns.items():
        table = [group_rates(value, c, min_rows) for value, c in sorted(groups.items(), key=lambda item: str(item[0]))]
        rows, labelled = sum(g["rows"] for g in table), sum(g["labelled"] for g in table)
        for g in table:
            if not g["judged"]:
                too_small.append(f"{column}={g['group']}: {g['rows']:,} rows")
            elif labelled and not g["judged_labels"]:
                too_small.append(f"{column}={g['group']}: {g['labelled']:,} labelled rows (judged on selection only)")
        columns[column] = {"groups": table, **column_gaps(table)}
    return {"min_rows": min_rows, "rows": rows, "labelled": labelled, "columns": columns, "too_small": too_small}


def widened(champion: dict[str, Any] | None, challenger: dict[str, Any], limit: float) -> list[str]:
    """The challenger's gaps that are past ``limit`` and wider than the champion's on the same rows, as reasons."""
    reasons = []
    for column, gaps in challenger["columns"].items():
        theirs = ((champion or {}).get("columns") or {}).get(column, {})
        for gap in GAPS:
            value, before = gaps.get(gap), theirs.get(gap)
            if value is not None and value > limit and (before is None or value > before):
                was = f"{before:.4f}" if before is not None else "undefined"
                reasons.append(f"{gap} by {column} is {value:.4f} (champion {was}), past approval.max_fairness_gap={limit:g}")
    return reasons


def render(section: dict[str, Any]) -> list[Table]:
    """One terminal table per column: its groups' rates, the gaps in the caption."""
    from rich.table import Table

    def shown(value: float | None) -> str:
        return f"{value:.4f}" if value is not None else ""

    tables = []
    for column, found in section["columns"].items():
        gaps = ", ".join(f"{name.replace('_', ' ')} {shown(found[name]) or 'undefined'}" for name in (*GAPS, "demographic_parity_ratio"))
        table = Table(title=f"Fairness by {column} (groups of {section['min_rows']}+ rows are judged)", caption=gaps, caption_justify="left")
        for name in ("group", "rows", "labelled", "selection rate", "TPR", "FPR", "accuracy", "judged"):
            table.add_column(name, justify="left" if name in ("group", "judged") else "right")
        for g in found["groups"]:
            table.add_row(
                g["group"], f"{g['rows']:,}", f"{g['labelled']:,}", shown(g["selection_rate"]), shown(g["tpr"]), shown(g["fpr"]),
                shown(g["accuracy"]), judged_as(g), style=None if g["judged"] else "dim",
            )
        tables.append(table)
    return tables
