"""Every built-in metric against scipy, on many random inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_data import category_pairs, finite, numeric_pairs, sample
from hypothesis import given, settings
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, entropy, ks_2samp, wasserstein_distance

from launchbay.drift import MonitorConfig, build_reference, sketch
from launchbay.drift.metrics import ks_error_bound, wasserstein_error_bound
from launchbay.plugins import current_manager

METRICS = current_manager().components("metric")
EPSILON = MonitorConfig().psi_epsilon


def profiles(ref_values, cur_values, **config):
    reference = build_reference(pd.DataFrame({"x": ref_values}), MonitorConfig(**config))
    current = sketch(pd.DataFrame({"x": cur_values}), reference)
    return reference.features["x"], current.features["x"]


def value(name, ref, cur):
    return METRICS[name].compute(ref, cur)


def test_builtin_metrics_are_registered_through_the_plugin_manager():
    expected = {"psi", "ks", "wasserstein", "wasserstein_norm", "jensen_shannon", "hellinger", "kl", "chi2"}
    assert expected | {"tvd", "linf", "missing_rate"} <= set(METRICS)
    assert current_manager().provider("metric", "ks") == "launchbay.drift.metrics"


@settings(max_examples=60, deadline=None)
@given(numeric_pairs())
def test_exact_ks_and_wasserstein_equal_scipy(pair):
    a, b = pair
    ref, cur = profiles(a, b)
    fa, fb = finite(a), finite(b)
    expected = ks_2samp(fa, fb)
    got = value("ks", ref, cur)
    assert got.value == pytest.approx(expected.statistic, abs=1e-12)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)
    w = wasserstein_distance(fa, fb)
    assert value("wasserstein", ref, cur).value == pytest.approx(w, rel=1e-9, abs=1e-12)
    normed = w / max(np.std(fa), 0.001)
    assert value("wasserstein_norm", ref, cur).value == pytest.approx(normed, rel=1e-9, abs=1e-12)


def test_ks_p_value_switches_to_the_asymptotic_form_above_10000_values():
    a, b = sample("normal", 12_000, 1), sample("normal", 9_000, 2, shift=0.04)
    ref, cur = profiles(a, b, mode="exact")
    expected = ks_2samp(a, b)
    got = value("ks", ref, cur)
    assert got.value == pytest.approx(expected.statistic, abs=1e-12)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def assert_binned_metrics(ref, cur, r, c):
    """Distribution metrics equal scipy's on the counts ``r``, ``c`` (empty pairs dropped)."""
    keep = (r > 0) | (c > 0)
    r, c = r[keep], c[keep]
    p, q = r / r.sum(), c / c.sum()
    assert value("jensen_shannon", ref, cur).value == pytest.approx(jensenshannon(r, c), rel=1e-9, abs=1e-12)
    ps, qs = np.where(p == 0, EPSILON, p), np.where(q == 0, EPSILON, q)
    assert value("kl", ref, cur).value == pytest.approx(entropy(ps, qs), rel=1e-9, abs=1e-12)
    assert value("psi", ref, cur).value == pytest.approx(np.sum((qs - ps) * np.log(qs / ps)), rel=1e-9, abs=1e-12)
    hellinger = np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * q))))
    assert value("hellinger", ref, cur).value == pytest.approx(hellinger, abs=1e-6)
    statistic, p_value, _, _ = chi2_contingency(np.vstack([r, c]))
    got = value("chi2", ref, cur)
    assert got.value == pytest.approx(statistic, rel=1e-9, abs=1e-9)
    assert got.p_value == pytest.approx(p_value, rel=1e-6, abs=1e-12)


def bin_counts(edges, x):
    return np.bincount(np.searchsorted(edges, finite(x), side="right"), minlength=edges.size + 1)


@settings(max_examples=40, deadline=None)
@given(numeric_pairs())
def test_numeric_bins_and_binned_metrics_equal_numpy_and_scipy(pair):
    a, b = pair
    ref, cur = profiles(a, b)
    np.testing.assert_array_equal(ref.counts, bin_counts(ref.edges, a))
    np.testing.assert_array_equal(cur.counts, bin_counts(ref.edges, b))
    r, c = bin_counts(ref.coarse_edges, a), bin_counts(ref.coarse_edges, b)
    np.testing.assert_array_equal(ref.coarse_counts, r)
    assert_binned_metrics(ref, cur, r, c)
    missing = abs(np.isnan(b).mean() - np.isnan(a).mean())
    assert value("missing_rate", ref, cur).value == pytest.approx(missing, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(category_pairs())
def test_categorical_metrics_equal_scipy_with_unseen_categories(pair):
    a, b = pair
    ref, cur = profiles(a, b)
    union = sorted(set(a) | set(b))
    r = np.array([np.sum(a == k) for k in union])
    c = np.array([np.sum(b == k) for k in union])
    assert_binned_metrics(ref, cur, r, c)
    p, q = r / r.sum(), c / c.sum()
    assert value("tvd", ref, cur).value == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)
    assert value("linf", ref, cur).value == pytest.approx(np.abs(p - q).max(), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(numeric_pairs(max_size=20_000))
def test_sketch_ks_and_wasserstein_stay_within_their_stated_bounds(pair):
    a, b = pair
    ref, cur = profiles(a, b, mode="sketch", fine_bins=200)
    assert ref.values is None and cur.values is None
    fa, fb = finite(a), finite(b)
    d_true = ks_2samp(fa, fb).statistic
    d = value("ks", ref, cur).value
    assert d - 1e-12 <= d_true <= d + ks_error_bound(ref, cur) + 1e-12
    w_true = wasserstein_distance(fa, fb)
    w = value("wasserstein", ref, cur).value
    assert abs(w - w_true) <= wasserstein_error_bound(ref, cur) + 1e-9 * (1 + w_true)


def test_default_fine_bins_bound_ks_error_to_about_one_in_a_thousand():
    a, b = sample("normal", 200_000, 3), sample("normal", 200_000, 4, shift=0.02)
    ref, cur = profiles(a, b, mode="sketch")
    assert ks_error_bound(ref, cur) <= 0.0015
    assert wasserstein_error_bound(ref, cur) / np.std(a) <= 0.02
    d_true = ks_2samp(a, b).statistic
    assert abs(value("ks", ref, cur).value - d_true) <= ks_error_bound(ref, cur)


def test_kl_and_psi_stay_finite_when_a_category_is_new():
    ref, cur = profiles(np.array(["a", "b"] * 50), np.array(["a", "c"] * 50))
    for name in ("kl", "psi", "chi2", "jensen_shannon"):
        assert np.isfinite(value(name, ref, cur).value)
    assert value("jensen_shannon", ref, cur).value > 0.5
