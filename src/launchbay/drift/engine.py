"""``compare``: profile both sides, pick the metrics, decide drift."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Any

from launchbay.components import DriftMetric, MetricValue
from launchbay.drift.checks import require_features, require_rows, require_values
from launchbay.drift.columns import nothing_to_monitor
from launchbay.drift.config import MonitorConfig
from launchbay.drift.counting import sketch
from launchbay.drift.dataset import sketch_dataset
from launchbay.drift.multivariate import METRIC
from launchbay.drift.profile import FEW_VALUES, NUMERIC, DatasetProfile, FeatureProfile
from launchbay.drift.reference import build_reference, build_reference_dataset
from launchbay.drift.result import DriftResult, MetricRow, MultivariateRow
from launchbay.errors import LaunchbayError

log = logging.getLogger(__name__)

# Added by the default selection to a feature whose share of null, NaN or +-inf values changed.
NONFINITE = "nonfinite_rate"


def compare(
    reference: Any,
    current: Any,
    *,
    categorical: list[str] | None = None,
    metrics: list[str] | None = None,
    config: MonitorConfig | None = None,
) -> DriftResult:
    """Drift of ``current`` against ``reference``.

    Both sides may be pandas DataFrames, pyarrow Tables, Ray Datasets (streamed, one
    sketch per block) or ``DatasetProfile``s (a current profile must be counted over the
    reference's bins, as ``sketch`` does).
    ``categorical`` and ``metrics`` override the fields of ``config`` with those names.
    A feature on the default selection also gets a ``nonfinite_rate`` row when that metric
    calls it drifted: values turning null, NaN or +-inf are drift even when the finite
    ones keep their distribution.
    """
    from launchbay.plugins import current_manager

    config = config or MonitorConfig()
    if categorical is not None:
        config = replace(config, categorical=list(categorical))
    if metrics is not None:
        config = replace(config, metrics=list(metrics))
    ref = reference if isinstance(reference, DatasetProfile) else profile_reference(reference, config)
    cur = current if isinstance(current, DatasetProfile) else profile_current(current, ref, config)
    check_profiles(ref, cur)
    rows = []
    watch = current_manager().component("metric", NONFINITE)
    for name, chosen in select_metrics(ref, config, cur.rows).items():
        ref_feature = replace(ref.features[name], epsilon=config.psi_epsilon)
        for metric in chosen:
            rows.append(_evaluate(metric, ref_feature, cur.features[name], config))
        if _by_default(name, config):
            row = _evaluate(watch, ref_feature, cur.features[name], config)
            if row.drifted:
                rows.append(row)
    return DriftResult(rows, ref, cur, drift_share=config.drift_share, multivariate=multivariate_row(ref, cur, config))


def multivariate_row(ref: DatasetProfile, cur: DatasetProfile, config: MonitorConfig) -> MultivariateRow | None:
    """The reconstruction error of ``cur`` against ``ref``'s band; None when ``monitor.multivariate``
    is off or, unless it is true, when a profile has no multivariate part (an earlier version's)."""
    if config.multivariate is False:
        return None
    if ref.multivariate is None or cur.multivariate is None:
        if config.multivariate:
            side = "reference" if ref.multivariate is None else "current"
            raise LaunchbayError(f"monitor.multivariate is true but the {side} profile has no multivariate part (profile it again)")
        return None
    model, value = ref.multivariate, cur.multivariate.error
    lower, upper = model.band(cur.multivariate.rows, config.multivariate_sigmas)
    undefined = None if math.isfinite(value) else f"the value is {value}"
    drifted = undefined is None and not lower <= value <= upper
    return MultivariateRow(
        metric=METRIC,
        features=tuple(model.features),
        components=model.kept,
        variance=model.variance,
        value=value,
        reference=model.held_out_mean,
        lower=lower,
        upper=upper,
        sigmas=config.multivariate_sigmas,
        drifted=drifted,
        undefined=undefined,
    )


def profile_reference(data: Any, config: MonitorConfig) -> DatasetProfile:
    """The reference profile of a table or a Ray Dataset."""
    if _is_ray_dataset(data):
        return build_reference_dataset(data, config)
    return build_reference(data, config)


def profile_current(data: Any, reference: DatasetProfile, config: MonitorConfig) -> DatasetProfile:
    """The profile of current data over the reference's bins and categories."""
    if _is_ray_dataset(data):
        return sketch_dataset(data, reference, device=config.device, resources=config.stage_resources())
    return sketch(data, reference, device=config.device)


def _is_ray_dataset(data: Any) -> bool:
    return type(data).__module__.startswith("ray.data") and hasattr(data, "map_batches")


def check_profiles(ref: DatasetProfile, cur: DatasetProfile) -> None:
    """One-line errors for empty data and features without values."""
    require_rows(cur.rows, "current")
    for name, feature in ref.features.items():
        require_features([name], cur.features)
        require_values(name, feature.count, "reference", feature.inf_count)
        require_values(name, cur.features[name].count, "current", cur.features[name].inf_count)


def default_metric(feature: FeatureProfile, reference_rows: int, current_rows: int, config: MonitorConfig) -> str:
    """Evidently's convention: p-value tests for small references, distances for large ones.

    A numeric feature with more than 5 distinct values gets ``ks`` (small reference) or
    ``wasserstein_norm``; any other feature gets ``chi2`` (binary ones too, in place of a
    z-test for proportions) or ``jensen_shannon``. A current batch with fewer rows than the
    distance's ``min_rows`` gets the test too: on it the distance would flag unchanged data.
    """
    from launchbay.plugins import current_manager

    many_values = feature.kind == NUMERIC and feature.distinct > FEW_VALUES
    test, distance = ("ks", "wasserstein_norm") if many_values else ("chi2", "jensen_shannon")
    if reference_rows <= config.small_reference or current_rows < min_rows(current_manager().component("metric", distance), config):
        return test
    return distance


def min_rows(metric: DriftMetric, config: MonitorConfig) -> int:
    """The fewest rows each side needs for ``metric``'s verdict: ``monitor.min_rows`` or the metric's own."""
    return config.min_rows.get(metric.name, metric.min_rows)


def select_metrics(reference: DatasetProfile, config: MonitorConfig, current_rows: int) -> dict[str, list[DriftMetric]]:
    """Metrics per feature not in ``exclude``: ``features[name]``, else ``metrics`` where they fit, else
    the default (for a current batch of ``current_rows``).

    Metrics come from the plugin manager, built-in and third-party alike.
    """
    from launchbay.plugins import current_manager

    manager = current_manager()
    chosen: dict[str, list[DriftMetric]] = {}
    monitored = {name: feature for name, feature in reference.features.items() if name not in config.exclude}  # a stored profile has them all
    if not monitored:
        raise nothing_to_monitor(config)
    for name, feature in monitored.items():
        if name in config.features:
            picked = [manager.component("metric", m) for m in config.features[name]]
            for metric in picked:
                if not _fits(metric, feature):
                    raise LaunchbayError(f"metric '{metric.name}' is for {metric.applies_to} features; '{name}' is {feature.kind}")
        elif config.metrics:
            picked = [m for m in (manager.component("metric", m) for m in config.metrics) if _fits(m, feature)]
        else:
            picked = [manager.component("metric", default_metric(feature, reference.rows, current_rows, config))]
        if picked:
            chosen[name] = picked
        else:
            log.info("feature '%s' (%s) has no metric among monitor.metrics: not monitored", name, feature.kind)
    if not chosen:
        kinds = sorted({feature.kind for feature in monitored.values()})
        raise LaunchbayError(f"monitor.metrics ({', '.join(config.metrics)}) fit none of the features, which are {' and '.join(kinds)}")
    return chosen


def _by_default(name: str, config: MonitorConfig) -> bool:
    """True when feature ``name`` gets the default metric (neither ``features`` nor ``metrics`` names one)."""
    return name not in config.features and not config.metrics


def _fits(metric: DriftMetric, feature: FeatureProfile) -> bool:
    return metric.applies_to in ("any", feature.kind)


def _evaluate(metric: DriftMetric, ref: FeatureProfile, cur: FeatureProfile, config: MonitorConfig) -> MetricRow:
    threshold = config.thresholds.get(metric.name, metric.threshold)
    if too_few := _too_few_rows(metric, ref, cur, config):
        return MetricRow(ref.name, ref.kind, metric.name, math.nan, None, threshold, False, too_few)
    try:
        result = metric.compute(ref, cur)
    except LaunchbayError:
        raise
    except Exception as exc:
        raise LaunchbayError(f"metric '{metric.name}' failed on feature '{ref.name}': {exc}") from exc
    undefined = result.undefined or _not_finite(result)
    if undefined:
        return MetricRow(ref.name, ref.kind, metric.name, math.nan, None, threshold, False, undefined)
    if metric.drift_when == "below":
        score = result.p_value if result.p_value is not None else result.value
        drifted = score < threshold
    else:
        drifted = result.value >= threshold
    return MetricRow(ref.name, ref.kind, metric.name, float(result.value), result.p_value, threshold, bool(drifted))


def _too_few_rows(metric: DriftMetric, ref: FeatureProfile, cur: FeatureProfile, config: MonitorConfig) -> str | None:
    """Why a side has too few rows for ``metric`` to judge, or None."""
    fewest = min_rows(metric, config)
    short = [f"the {side} has {rows:,} row(s)" for side, rows in (("reference", ref.rows), ("current batch", cur.rows)) if rows < fewest]
    return f"{' and '.join(short)}; {metric.name} judges from {fewest:,} (monitor.min_rows.{metric.name})" if short else None


def _not_finite(result: MetricValue) -> str | None:
    """Why a value or p-value that is NaN or infinite is no verdict, or None."""
    for name, x in (("value", result.value), ("p-value", result.p_value)):
        if x is not None and not math.isfinite(x):
            return f"the {name} is {float(x)}"
    return None
