"""Values near the float range (+-1e300, +-1e308, tiny and huge mixed): every numeric metric equals
scipy's where scipy's value is finite (within the sketch's stated bound), or is undefined with a reason."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from launchbay.drift import MonitorConfig, build_reference, sketch
from launchbay.drift.metrics import ks, ks_error_bound, wasserstein, wasserstein_error_bound, wasserstein_norm

SCALES = (1.0, 1e-300, 1e150, 1e300, 1e308)


def profiles(reference: np.ndarray, current: np.ndarray, exact: bool):
    config = MonitorConfig(exact_max_rows=10**6 if exact else 0)
    ref = build_reference(pd.DataFrame({"x": reference}), config)
    return ref.features["x"], sketch(pd.DataFrame({"x": current}), ref).features["x"]


def with_scipy(function, *args) -> float:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(function(*args))


@settings(max_examples=60, deadline=None)
@given(
    ref_scale=st.sampled_from(SCALES),
    cur_scale=st.sampled_from(SCALES),
    shift=st.sampled_from((0.0, 1e300, -1e300, 1.5e308)),
    exact=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_huge_values_match_scipy_or_are_undefined(ref_scale, cur_scale, shift, exact, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore"):
        reference = np.clip(rng.normal(size=400) * ref_scale, -1.7e308, 1.7e308)
        current = np.clip(rng.normal(size=300) * cur_scale + shift, -1.7e308, 1.7e308)
    ref, cur = profiles(reference, current, exact)
    expected = with_scipy(wasserstein_distance, reference, current)
    got = wasserstein(ref, cur)
    if got.undefined is None:
        assert math.isfinite(got.value) and math.isfinite(expected)
        assert abs(got.value - expected) <= wasserstein_error_bound(ref, cur) + 1e-9 * expected
    else:
        assert "overflow" in got.undefined or "float range" in got.undefined
    statistic = ks(ref, cur).value
    assert statistic <= ks_2samp(reference, current).statistic + 1e-12
    assert statistic >= ks_2samp(reference, current).statistic - ks_error_bound(ref, cur) - 1e-12
    normed = wasserstein_norm(ref, cur)
    assert normed.undefined is not None or math.isfinite(normed.value)
    if normed.undefined is None and got.undefined is None and np.isfinite(np.std(reference)) and np.std(reference) > 1e-3:
        assert math.isclose(normed.value * np.std(reference), got.value, rel_tol=1e-6)


def test_a_sketch_whose_sums_overflow_is_undefined_not_a_guess():
    ref, cur = profiles(np.random.default_rng(0).normal(size=2000), np.full(1000, 1.7e308), exact=False)
    for metric in (wasserstein, wasserstein_norm):
        value = metric(ref, cur)
        assert math.isnan(value.value) and value.undefined.startswith("the per-bin sums of the current overflow float64")
