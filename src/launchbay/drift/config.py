"""Settings of a drift monitor (the ``monitor`` config group)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from launchbay.performance.metrics import METRICS
from launchbay.runtime import ray_resources
from launchbay.settings import check_choices, check_resources, require

# Whether a profile keeps the sorted values (exact ks and wasserstein) or fine-bin counts only.
ValuesMode = StrEnum("ValuesMode", ["exact", "sketch", "auto"])
# Where the counting pass runs.
Device = StrEnum("Device", ["auto", "cpu", "gpu"])


@dataclass
class PerformanceConfig:
    """When a model's performance on a batch counts as dropped (``monitor.performance``)."""

    # A metric drops when the batch's value (realized, else estimated) is worse than the
    # version's holdout value by more than this (lower-is-better metrics: higher by more).
    max_drop: float = 0.05
    # Per metric, overriding max_drop, e.g. {rmse: 0.5}.
    max_drops: dict[str, float] = field(default_factory=dict)
    # Equal bins of [0, 1] counting scores (ROC AUC, the estimate without labels); even, so that
    # the decision threshold 0.5 is an edge.
    bins: int = 2048

    def __post_init__(self) -> None:
        require(0 <= self.max_drop < float("inf"), "monitor.performance.max_drop", "a finite number, 0 or more", self.max_drop)
        for metric, limit in self.max_drops.items():
            require(metric in METRICS, f"monitor.performance.max_drops.{metric}", f"a metric, one of {', '.join(METRICS)}", metric)
            require(0 <= limit < float("inf"), f"monitor.performance.max_drops.{metric}", "a finite number, 0 or more", limit)
        require(self.bins >= 2 and self.bins % 2 == 0, "monitor.performance.bins", "even and at least 2", self.bins)


@dataclass
class MonitorConfig:
    """What a drift check measures and when it calls a feature drifted."""

    # Metric names applied to every feature they fit (numeric or categorical).
    # Empty: the default convention (KS / chi2 for small references,
    # normed Wasserstein / Jensen-Shannon for large ones).
    metrics: list[str] = field(default_factory=list)
    # Per-feature metric names, overriding `metrics` for that feature.
    features: dict[str, list[str]] = field(default_factory=dict)
    # Per-metric threshold, overriding the metric's own default.
    thresholds: dict[str, float] = field(default_factory=dict)
    # Per-metric fewest rows each side needs for a verdict, overriding the metric's own
    # (built-ins: see drift.metrics.MIN_ROWS); with fewer, the metric's row is undefined.
    min_rows: dict[str, int] = field(default_factory=dict)
    # Categorical columns. None: string, large_string, dictionary and bool columns.
    categorical: list[str] | None = None
    # Columns that are not monitored (the label, ids, timestamps).
    exclude: list[str] = field(default_factory=list)
    # Coarse bins per numeric feature (reference quantiles) for psi, jensen_shannon,
    # hellinger, kl and chi2.
    bins: int = 10
    # Fine bins per numeric feature (reference quantiles) for sketch-mode ks and
    # wasserstein; the KS error is at most the largest fine-bin share, about 1/fine_bins.
    fine_bins: int = 2000
    # Categories kept by name per categorical feature; the rest share an "other" bucket.
    max_categories: int = 100
    # The dataset drifts when at least this share of the features drift.
    drift_share: float = 0.5
    # References with at most this many rows use p-value tests by default (as do current
    # batches with fewer rows than the default distance's min_rows).
    small_reference: int = 1000
    # exact: keep the sorted values (8 bytes per value) so ks and wasserstein equal
    # scipy's; sketch: fine-bin counts only; auto: exact while a side has at most
    # `exact_max_rows` rows.
    mode: ValuesMode = ValuesMode.auto
    # Row limit per side for exact values in auto mode.
    exact_max_rows: int = 100_000
    # Where the counting pass runs: auto (a CUDA GPU when there is one), cpu or gpu.
    device: Device = Device.auto
    # Share used in place of an empty bin by psi and kl (as Evidently: 1e-4).
    psi_epsilon: float = 1e-4
    # Per task of drift's own Ray Data stages: CPUs, GPUs (with device=gpu only; scoring
    # tasks that sketch drift ask for at least as many) and memory Ray reserves (None: none).
    num_cpus: float = 1.0
    num_gpus: float = 1.0
    memory_mb: int | None = None
    # Multivariate drift (PCA reconstruction error over the numeric features, see
    # drift.multivariate): None (auto): on with at least 2 numeric features; true: on (an
    # error with fewer); false: off. It counts toward the dataset verdict: drift when it
    # leaves its band, whatever the share of drifted features.
    multivariate: bool | None = None
    # Share of the standardised variance the kept principal components explain (more than).
    multivariate_variance: float = 0.65
    # Alert band: the reference's held-out mean error +- this many standard deviations of the
    # difference between it and the current mean error (see drift.multivariate): a current batch
    # drawn like the reference leaves it with probability 2 * (1 - Phi(sigmas)), 6.3e-5 at 4.
    multivariate_sigmas: float = 4.0
    # The model's performance on each batch (see PerformanceConfig).
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)

    def __post_init__(self) -> None:
        check_choices(self, "monitor")
        require(2 <= self.bins <= self.fine_bins, "monitor.bins", f"between 2 and monitor.fine_bins ({self.fine_bins})", self.bins)
        require(self.fine_bins >= 2, "monitor.fine_bins", "at least 2", self.fine_bins)
        require(self.max_categories >= 1, "monitor.max_categories", "at least 1", self.max_categories)
        require(0 < self.drift_share <= 1, "monitor.drift_share", "a share in (0, 1]", self.drift_share)
        require(self.small_reference >= 0, "monitor.small_reference", "0 or more rows", self.small_reference)
        require(self.exact_max_rows >= 0, "monitor.exact_max_rows", "0 or more rows", self.exact_max_rows)
        require(0 < self.psi_epsilon < 1, "monitor.psi_epsilon", "a share in (0, 1)", self.psi_epsilon)
        require(0 < self.multivariate_variance < 1, "monitor.multivariate_variance", "a share in (0, 1)", self.multivariate_variance)
        require(self.multivariate_sigmas > 0, "monitor.multivariate_sigmas", "positive", self.multivariate_sigmas)
        check_resources("monitor", self.num_cpus, self.num_gpus, self.memory_mb)
        for metric, threshold in self.thresholds.items():
            require(threshold >= 0, f"monitor.thresholds.{metric}", "0 or more", threshold)
        for metric, rows in self.min_rows.items():
            require(rows >= 1, f"monitor.min_rows.{metric}", "at least 1", rows)

    def counting_gpus(self) -> float:
        """GPUs a task that counts drift asks for: ``num_gpus`` with ``device=gpu``, else none."""
        return self.num_gpus if self.device == Device.gpu else 0.0

    def stage_resources(self) -> dict[str, Any]:
        """Ray resources of each task of drift's own Ray Data counting stage."""
        return ray_resources(self.num_cpus, self.counting_gpus(), self.memory_mb)
