"""The outcome of a drift check: one row per feature and metric, and the multivariate row."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from launchbay.drift.profile import NUMERIC, DatasetProfile, FeatureProfile

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

COLUMNS = ("feature", "kind", "metric", "value", "p_value", "threshold", "drifted")


@dataclass(frozen=True)
class MetricRow:
    """One metric of one feature, and whether it calls the feature drifted. A metric that
    cannot be computed has no verdict: ``undefined`` says why (value NaN, drifted False)."""

    feature: str
    kind: str
    metric: str
    value: float
    p_value: float | None
    threshold: float
    drifted: bool
    undefined: str | None = None


@dataclass(frozen=True)
class MultivariateRow:
    """The reconstruction error of the current data (``value``) against the reference's
    (``reference``, the mean error of its held-out rows) and the alert band [``lower``, ``upper``]: drifted
    outside it. ``undefined`` says why there is no verdict (the error is not finite)."""

    metric: str
    features: tuple[str, ...]
    components: int  # principal components kept
    variance: float  # the share of the variance they were to explain
    value: float
    reference: float
    lower: float
    upper: float
    sigmas: float
    drifted: bool
    undefined: str | None = None

    @property
    def label(self) -> str:
        """The row's name in the table."""
        return f"({len(self.features)} numeric)"

    def note(self) -> str:
        """What the row measures, on one line."""
        return (
            f"multivariate: mean PCA reconstruction error over {', '.join(self.features)} "
            f"({self.components} of {len(self.features)} components, over {self.variance:.0%} of the variance); "
            f"reference {self.reference:.4g}, band ±{self.sigmas:g} std of the difference of two means (held-out reference rows, this batch's rows)"
        )


@dataclass
class DriftResult:
    """Metric rows plus the two profiles they came from (for histograms in reports).

    A feature drifts when any of its metrics does; one that does not drift but has an
    undefined metric is undefined, never 'no drift'. The dataset drifts when the share of
    drifted features (of all monitored ones, undefined included) is at least
    ``drift_share``, or when the ``multivariate`` row (None when off or absent) drifts: it
    sees what no feature shows alone. Short of that its ``verdict`` is "undefined" when a
    feature or the multivariate row is.

    Rows come in column order; ``ranked`` puts them in the order of the model's reliance on
    their features (``importance``: each feature's share of it), and every list of features
    follows the rows.
    """

    rows: list[MetricRow]
    reference: DatasetProfile
    current: DatasetProfile
    drift_share: float = 0.5
    multivariate: MultivariateRow | None = None
    importance: dict[str, float] | None = None

    @property
    def features(self) -> list[str]:
        """Monitored features, in the rows' order."""
        return list(dict.fromkeys(row.feature for row in self.rows))

    @property
    def drifted_features(self) -> list[str]:
        """Features with at least one drifted metric, in the rows' order."""
        return list(dict.fromkeys(row.feature for row in self.rows if row.drifted))

    @property
    def undefined_features(self) -> list[str]:
        """Features that did not drift but have an undefined metric, in the rows' order."""
        drifted = set(self.drifted_features)
        return list(dict.fromkeys(row.feature for row in self.rows if row.undefined and row.feature not in drifted))

    @property
    def share_drifted(self) -> float:
        """Share of the monitored features that drifted."""
        features = self.features
        return len(self.drifted_features) / len(features) if features else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when the share of drifted features reaches ``drift_share`` or the multivariate row drifts."""
        multivariate = self.multivariate is not None and self.multivariate.drifted
        return multivariate or (bool(self.features) and self.share_drifted >= self.drift_share)

    @property
    def verdict(self) -> str:
        """The dataset's verdict: "drift", "undefined" (short of drift, a feature or the
        multivariate row is undefined) or "no drift"."""
        if self.dataset_drift:
            return "drift"
        multivariate = self.multivariate is not None and self.multivariate.undefined
        return "undefined" if self.undefined_features or multivariate else "no drift"

    def ranked(self, importance: dict[str, Any] | None) -> DriftResult:
        """The result with the shares of a model version's ``importance`` record (``meta.json``): the drifted features
        first, then the rest, each by share, highest first (features the record lacks, such as the model's outputs, last);
        the result as it is without a record."""
        shares = importance_shares(importance)
        if not shares:
            return self
        drifted = set(self.drifted_features)
        order = {name: (name not in drifted, name not in shares, -shares.get(name, 0.0)) for name in self.features}
        return replace(self, rows=sorted(self.rows, key=lambda row: order[row.feature]), importance=shares)

    @property
    def importance_columns(self) -> list[str]:
        """The column a ranked result adds to each view of its rows: ``importance``; none otherwise."""
        return [] if self.importance is None else ["importance"]

    def share(self, feature: str) -> dict[str, float | None]:
        """``{"importance": the feature's share}`` of a ranked result, for its rows as data; {} otherwise."""
        return {} if self.importance is None else {"importance": self.importance.get(feature)}

    def importance_cells(self, feature: str | None) -> list[str]:
        """The importance cell of ``feature``'s rows in a table of a ranked result (blank for the multivariate row, None); none otherwise."""
        if self.importance is None:
            return []
        share = self.importance.get(feature) if feature is not None else None
        return ["" if share is None else f"{share:.1%}"]

    def nonfinite(self, feature: str) -> dict[str, dict[str, int | None]]:
        """Per side: rows, missing (null or NaN), inf (+-inf), posinf and neginf values of
        ``feature`` (the last two None where an earlier profile did not record the sign)."""
        return {side: _nonfinite(p.features[feature]) for side, p in (("reference", self.reference), ("current", self.current))}

    def nonfinite_note(self, feature: str) -> str | None:
        """The non-finite counts of ``feature``, reference -> current, on one line; None without any."""
        ref, cur = self.reference.features[feature], self.current.features[feature]
        if not ref.null_count + ref.inf_count + cur.null_count + cur.inf_count:
            return None
        parts = [f"missing {ref.null_count:,} → {cur.null_count:,}"]
        if ref.kind == NUMERIC and (ref.neginf_count is None or cur.neginf_count is None):
            parts.append(f"±inf {ref.inf_count:,} → {cur.inf_count:,}")
        elif ref.kind == NUMERIC:
            parts.append(f"+inf {ref.posinf_count:,} → {cur.posinf_count:,}, -inf {ref.neginf_count:,} → {cur.neginf_count:,}")
        return f"{feature}: {', '.join(parts)} ({ref.nonfinite_share:.1%} → {cur.nonfinite_share:.1%} of the rows)"

    def notes(self) -> list[str]:
        """Lines under the table: why metrics are undefined, then the non-finite counts."""
        undefined = [f"{row.feature} {row.metric} undefined: {row.undefined}" for row in self.rows if row.undefined]
        multivariate = self.multivariate
        if multivariate is not None:
            undefined.append(multivariate.note())
            if multivariate.undefined:
                undefined.append(f"{multivariate.metric} undefined: {multivariate.undefined}")
        return undefined + [note for name in self.features if (note := self.nonfinite_note(name))]

    def to_pandas(self) -> pd.DataFrame:
        """One row per feature and metric: feature, kind, metric, value, p_value, threshold,
        drifted, undefined (the reason) when a metric is, and importance when ranked."""
        import pandas as pd

        columns = [*COLUMNS, "undefined"] if any(row.undefined for row in self.rows) else list(COLUMNS)
        columns += self.importance_columns
        return pd.DataFrame([{**asdict(row), **self.share(row.feature)} for row in self.rows], columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (non-finite numbers become None)."""
        return {
            "dataset_drift": self.dataset_drift,
            "verdict": self.verdict,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "drifted_features": self.drifted_features,
            "undefined_features": self.undefined_features,
            "features": len(self.features),
            "reference_rows": self.reference.rows,
            "current_rows": self.current.rows,
            "metrics": [
                {**asdict(row), "value": _finite(row.value), "p_value": _finite(row.p_value), **self.share(row.feature)} for row in self.rows
            ],
            "nonfinite": {name: self.nonfinite(name) for name in self.features},
            "multivariate": None if self.multivariate is None else _multivariate_dict(self.multivariate),
        }

    def render(self) -> Table:
        """A rich table for the terminal; drifted rows in bold red, undefined ones in yellow, the
        reasons and the non-finite counts under it; a ranked result has each feature's importance."""
        from rich.table import Table

        verdict = {"drift": "[bold red]drift[/]", "undefined": "[yellow]undefined[/]"}.get(self.verdict, "[green]no drift[/]")
        undefined = f", {len(self.undefined_features)} undefined" if self.undefined_features else ""
        if self.multivariate is not None and self.multivariate.drifted:
            undefined += ", multivariate drift"
        table = Table(
            title=f"Drift: {len(self.drifted_features)}/{len(self.features)} features drifted{undefined} "
            f"({self.share_drifted:.0%}, dataset: {verdict})",
            caption="\n".join(self.notes()) or None,
            caption_justify="left",
        )
        for name in ("feature", "kind", "metric", "value", "p-value", "threshold", "drifted", *self.importance_columns):
            numeric = name in ("value", "p-value", "threshold", "importance")
            table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for row in self.rows:
            table.add_row(
                row.feature,
                row.kind,
                row.metric,
                "undefined" if row.undefined else f"{row.value:.4g}",
                "" if row.p_value is None else f"{row.p_value:.3g}",
                f"{row.threshold:g}",
                "undefined" if row.undefined else "yes" if row.drifted else "no",
                *self.importance_cells(row.feature),
                style="bold red" if row.drifted else "yellow" if row.undefined else None,
            )
        if (mv := self.multivariate) is not None:
            table.add_row(
                mv.label,
                "multivariate",
                mv.metric,
                "undefined" if mv.undefined else f"{mv.value:.4g}",
                "",
                f"[{mv.lower:.4g}, {mv.upper:.4g}]",
                "undefined" if mv.undefined else "yes" if mv.drifted else "no",
                *self.importance_cells(None),
                style="bold red" if mv.drifted else "yellow" if mv.undefined else None,
            )
        return table


def _nonfinite(feature: FeatureProfile) -> dict[str, int | None]:
    return {
        "rows": feature.rows,
        "missing": feature.null_count,
        "inf": feature.inf_count,
        "posinf": feature.posinf_count,
        "neginf": feature.neginf_count,
    }


def _multivariate_dict(row: MultivariateRow) -> dict[str, Any]:
    """The row for the summary; ``threshold`` is the upper end of the band, the one a drift
    usually crosses (for readers of one threshold per metric, such as the trend page)."""
    numbers = {key: _finite(getattr(row, key)) for key in ("value", "reference", "lower", "upper")}
    return {**asdict(row), "features": list(row.features), **numbers, "threshold": numbers["upper"]}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def importance_shares(importance: dict[str, Any] | None) -> dict[str, float]:
    """Each feature's mean in a version's ``importance`` record as a share of the sum of the positive means;
    {} without a record or without a positive mean."""
    means = {row["feature"]: row["mean"] for row in (importance or {}).get("features", []) if math.isfinite(row["mean"])}
    total = sum(mean for mean in means.values() if mean > 0)
    return {name: mean / total for name, mean in means.items()} if total > 0 else {}
