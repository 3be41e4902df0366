"""Profiles on both sides of ``exact_limit``: counted, merged and read from JSON, a profile
past the limit keeps no values, and every metric stays right (scipy's, or within its bound)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from drift_data import sample
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, compare, merge, sketch
from launchbay.drift.metrics import ks_error_bound, wasserstein_error_bound
from launchbay.drift.profile import FeatureProfile
from launchbay.plugins import current_manager

METRICS = current_manager().components("metric")
NUMERIC_METRICS = [name for name, metric in METRICS.items() if metric.applies_to in ("any", "numeric")]
LIMIT = 300  # exact_max_rows: a reference of at most this many rows keeps its values, a current as long as it has this many
CONFIG = MonitorConfig(exact_max_rows=LIMIT)


def assert_consistent(feature: FeatureProfile) -> None:
    """Values kept are all the finite values and no more than the limit; past it (or with no limit: sketches only), None."""
    if feature.exact_limit == 0 or feature.count > feature.exact_limit:
        assert feature.values is None, (feature.count, feature.exact_limit)
    else:
        assert feature.values is not None and feature.values.size == feature.count


def assert_metrics_right(ref: FeatureProfile, cur: FeatureProfile, a: np.ndarray, b: np.ndarray) -> None:
    """Every numeric metric computes; ks and wasserstein equal scipy's when both sides keep
    their values, else lie within their stated bounds."""
    for name in NUMERIC_METRICS:
        result = METRICS[name].compute(ref, cur)
        assert np.isfinite(result.value), name
    fa, fb = a[np.isfinite(a)], b[np.isfinite(b)]
    d, w = METRICS["ks"].compute(ref, cur).value, METRICS["wasserstein"].compute(ref, cur).value
    normed = METRICS["wasserstein_norm"].compute(ref, cur).value
    exact_d, exact_w = ks_2samp(fa, fb).statistic, wasserstein_distance(fa, fb)
    assert d <= exact_d + 1e-12 and exact_d <= d + ks_error_bound(ref, cur) + 1e-12
    bound = wasserstein_error_bound(ref, cur)
    assert abs(w - exact_w) <= bound + 1e-9 * max(1.0, exact_w)
    assert abs(normed - exact_w / max(np.std(fa), 0.001)) <= (bound + 1e-9 * max(1.0, exact_w)) / max(np.std(fa), 0.001)
    if ref.values is not None and cur.values is not None:
        assert bound == 0.0 and d == pytest.approx(exact_d, abs=1e-12) and w == pytest.approx(exact_w, rel=1e-9, abs=1e-12)


def test_a_large_current_against_an_exact_reference_falls_back_to_the_sketch():
    """The case that divided by zero: a reference of 100,000 rows keeps its values, a current of 2M cannot."""
    a, b = sample("normal", 100_000, 1), sample("normal", 2_000_000, 2)
    result = compare(pd.DataFrame({"a": a}), pd.DataFrame({"a": b}), metrics=["wasserstein_norm"])
    (row,) = result.rows
    assert result.current.features["a"].values is None and result.reference.features["a"].values is not None
    expected = wasserstein_distance(a, b) / np.std(a)
    assert abs(row.value - expected) <= wasserstein_error_bound(result.reference.features["a"], result.current.features["a"]) / np.std(a)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["normal", "heavy_tailed", "discrete", "with_nan_inf"]),
    st.integers(20, 2 * LIMIT),  # a reference on either side of the limit
    st.lists(st.integers(1, 2 * LIMIT), min_size=1, max_size=4),  # current parts, on either side of the limit
    st.integers(0, 2**31),
)
def test_counted_and_merged_profiles_drop_their_values_past_the_limit(shape, reference_rows, parts, seed):
    """Reference and current parts on either side of the limit; merged in order, whole, and through JSON."""
    a = sample(shape, reference_rows, seed)
    b = sample(shape, sum(parts), seed + 1, shift=0.3)
    assume(np.isfinite(a).any() and np.isfinite(b).any())
    reference = build_reference(pd.DataFrame({"x": a}), CONFIG)
    ref = reference.features["x"]
    assert ref.exact_limit == (LIMIT if reference_rows <= LIMIT else 0)  # a reference past it: sketches on both sides
    assert_consistent(ref)
    table = pa.table({"x": b})
    bounds = np.concatenate([[0], np.cumsum(parts)])
    blocks = [sketch(table.slice(lo, hi - lo), reference) for lo, hi in zip(bounds, bounds[1:])]
    merged = blocks[0]
    for block in blocks:
        assert_consistent(block.features["x"])
    for block in blocks[1:]:
        merged = merge(merged, block)
        assert_consistent(merged.features["x"])
    whole = sketch(table, reference).features["x"]
    assert_consistent(whole)
    back = DatasetProfile.from_json(merged.to_json()).features["x"]
    for cur in (merged.features["x"], whole, back):
        assert (cur.values is None) == (whole.values is None)
        assert_metrics_right(ref, cur, a, b)


def test_a_stored_profile_with_an_empty_array_past_the_limit_loads_without_values():
    """Profiles written before the fix kept an empty array once a current passed the limit."""
    reference = build_reference(pd.DataFrame({"x": sample("normal", 200, 3)}), CONFIG)
    stored = sketch(pd.DataFrame({"x": sample("normal", 1000, 4)}), reference).to_dict()
    (feature,) = stored["features"]
    assert feature["values"] is None
    feature["values"] = []
    loaded = DatasetProfile.from_dict(stored).features["x"]
    assert loaded.values is None
    assert np.isfinite(METRICS["wasserstein_norm"].compute(reference.features["x"], loaded).value)
