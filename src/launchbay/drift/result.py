"""The outcome of a drift check: one row per feature and metric."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from launchbay.drift.profile import DatasetProfile

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

COLUMNS = ("feature", "kind", "metric", "value", "p_value", "threshold", "drifted")


@dataclass(frozen=True)
class MetricRow:
    """One metric of one feature, and whether it calls the feature drifted."""

    feature: str
    kind: str
    metric: str
    value: float
    p_value: float | None
    threshold: float
    drifted: bool


@dataclass
class DriftResult:
    """Metric rows plus the two profiles they came from (for histograms in reports).

    A feature drifts when any of its metrics does; the dataset drifts when the share of
    drifted features is at least ``drift_share``.
    """

    rows: list[MetricRow]
    reference: DatasetProfile
    current: DatasetProfile
    drift_share: float = 0.5

    @property
    def features(self) -> list[str]:
        """Monitored features, in column order."""
        return list(dict.fromkeys(row.feature for row in self.rows))

    @property
    def drifted_features(self) -> list[str]:
        """Features with at least one drifted metric, in column order."""
        return list(dict.fromkeys(row.feature for row in self.rows if row.drifted))

    @property
    def share_drifted(self) -> float:
        """Share of the monitored features that drifted."""
        features = self.features
        return len(self.drifted_features) / len(features) if features else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when the share of drifted features reaches ``drift_share``."""
        return bool(self.features) and self.share_drifted >= self.drift_share

    def to_pandas(self) -> pd.DataFrame:
        """One row per feature and metric: feature, kind, metric, value, p_value, threshold, drifted."""
        import pandas as pd

        return pd.DataFrame([asdict(row) for row in self.rows], columns=list(COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (non-finite numbers become None)."""
        return {
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "drifted_features": self.drifted_features,
            "features": len(self.features),
            "reference_rows": self.reference.rows,
            "current_rows": self.current.rows,
            "metrics": [
                {**asdict(row), "value": _finite(row.value), "p_value": _finite(row.p_value)} for row in self.rows
            ],
        }

    def render(self) -> Table:
        """A rich table for the terminal; drifted rows in bold red."""
        from rich.table import Table

        verdict = "[bold red]drift[/]" if self.dataset_drift else "[green]no drift[/]"
        table = Table(
            title=f"Drift: {len(self.drifted_features)}/{len(self.features)} features drifted "
            f"({self.share_drifted:.0%}, dataset: {verdict})"
        )
        for name in ("feature", "kind", "metric", "value", "p-value", "threshold", "drifted"):
            numeric = name in ("value", "p-value", "threshold")
            table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for row in self.rows:
            table.add_row(
                row.feature,
                row.kind,
                row.metric,
                f"{row.value:.4g}",
                "" if row.p_value is None else f"{row.p_value:.3g}",
                f"{row.threshold:g}",
                "yes" if row.drifted else "no",
                style="bold red" if row.drifted else None,
            )
        return table


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
