"""A batch's performance against the model version's holdout: the ``performance`` section of a
run's summary, the notes that go with it, and its terminal table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launchbay.performance.cbpe import Calibration, estimate
from launchbay.performance.metrics import LOWER_IS_BETTER, drop

if TYPE_CHECKING:
    from rich.table import Table


@dataclass
class Assessment:
    """The ``performance`` section (``section``, shape in the README) and lines that explain it (``notes``)."""

    section: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> list[str]:
        return self.section["dropped"]

    def render(self) -> Table:
        """metric, reference, realized, estimated, drop and status, the notes under it."""
        from rich.table import Table

        s = self.section
        verdict = {"dropped": "[bold red]dropped[/]", "undefined": "[yellow]undefined[/]"}.get(s["verdict"], "[green]ok[/]")
        labelled = f"{s['labeled_rows']:,} labelled rows" if s["realized"] is not None else "no labels"
        table = Table(title=f"Performance ({s['task']}, {labelled}): {verdict}", caption="\n".join(self.notes) or None, caption_justify="left")
        for name in ("metric", "reference", "realized", "estimated", "drop", "status"):
            table.add_column(name, justify="left" if name in ("metric", "status") else "right")
        realized, estimated = s["realized"] or {}, s["estimated"] or {}
        for metric in dict.fromkeys([*s["reference"], *realized, *estimated]):
            reference, value = s["reference"].get(metric), observed(s, metric)
            worse = drop(metric, reference, value) if reference is not None and value is not None else None
            status = "dropped" if metric in s["dropped"] else "ok" if worse is not None else "not compared"
            table.add_row(
                metric + (" (lower is better)" if metric in LOWER_IS_BETTER else ""),
                *(f"{v:.4f}" if v is not None else "" for v in (reference, realized.get(metric), estimated.get(metric))),
                f"{worse:+.4f}" if worse is not None else "",
                status,
                style="bold red" if status == "dropped" else None,
            )
        return table


def observed(section: dict[str, Any], metric: str) -> float | None:
    """The batch's value of ``metric``: realized where the labels gave it, else estimated."""
    for part in ("realized", "estimated"):
        value = (section[part] or {}).get(metric)
        if value is not None:
            return value
    return None


def assess(task: str, reference: dict[str, float], sketch: Any, calibration: dict | None, max_drop: float,
           max_drops: dict[str, float], bins: int) -> Assessment:
    """Compare a scoring pass's ``sketch`` (None: no rows) with the version's holdout metrics ``reference``.

    ``calibration`` is the version's stored score calibration (None: registered without one). A metric
    drops when it is more than its ``max_drops`` entry (else ``max_drop``) worse than its reference.
    """
    notes = []
    realized = sketch.realized() if sketch is not None else None
    if realized and "roc_auc" in realized:
        notes.append(f"roc_auc from {bins}-bin score histograms: within ±{sketch.roc_auc()[1]:.4f} of the exact value")
    if sketch is not None and sketch.unknown:
        what = "a non-finite label" if task == "regression" else "a label that is none of the model's classes"
        notes.append(f"{sketch.unknown:,} row(s) carry {what}: left out of the realized metrics")
    estimated, note = None, None
    if task != "binary":
        note = f"the estimate without labels (CBPE) is for binary classifiers; this model is {task}"
    elif calibration is None:
        note = "this model version was registered without a score calibration (older launchbay, or a holdout of one class): no estimate"
    elif sketch is None or not sketch.rows:
        note = "no scored rows to estimate from"
    elif sketch.scores is None:
        note = "the model gives no scores (predict_proba) to estimate from"
    else:
        values, bound = estimate(sketch.scores, sketch.score_sums, Calibration.from_dict(calibration)) or ({}, math.nan)
        estimated = {k: (v if math.isfinite(v) else None) for k, v in values.items()}
        if estimated.get("roc_auc") is not None:
            notes.append(f"estimated roc_auc from {bins}-bin score histograms: within ±{bound:.2g} of the exact estimate")
    if note:
        notes.append(note)
    limits = {metric: float(max_drops.get(metric, max_drop)) for metric in reference}
    section: dict[str, Any] = {
        "task": task,
        "reference": dict(reference),
        "realized": realized,
        "labeled_rows": sketch.labeled if sketch is not None else 0,
        "estimated": estimated,
        "estimate_note": note,
        "max_drop": limits,
        "dropped": [],
        "verdict": "undefined",
    }
    compared = {metric: value for metric in reference if (value := observed(section, metric)) is not None}
    section["dropped"] = [m for m, value in compared.items() if drop(m, reference[m], value) > limits[m]]
    section["verdict"] = "dropped" if section["dropped"] else "ok" if compared else "undefined"
    return Assessment(section, notes)
