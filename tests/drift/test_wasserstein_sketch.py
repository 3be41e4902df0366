"""Sketch-mode Wasserstein from per-bin sums: against scipy on adversarial shapes, within its stated bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, compare, sketch
from launchbay.drift.metrics import ks_error_bound, wasserstein_error_bound
from launchbay.plugins import current_manager

METRICS = current_manager().components("metric")
FORMAT_1 = Path(__file__).parent / "data" / "profile_format1.json"
SHAPES = ("point_masses", "zero_inflated", "pareto", "cauchy", "normal")


def draw_values(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if shape == "point_masses":
        support = rng.normal(0, 10, rng.integers(1, 8))
        return rng.choice(support, n, p=rng.dirichlet(np.ones(support.size)))
    if shape == "zero_inflated":
        return np.where(rng.random(n) < 0.93, 0.0, rng.integers(1, 33, n) / 100)
    if shape == "pareto":
        return rng.pareto(1.1, n) + 1.0
    if shape == "cauchy":
        return rng.standard_cauchy(n)
    return rng.normal(0, 1, n)


def past_the_range(x: np.ndarray, ref: np.ndarray, share: float, rng: np.random.Generator, direction: int) -> np.ndarray:
    """``x`` with a share of its values moved beyond the reference's range (above: 1, below: -1)."""
    x = x.copy()
    span = float(ref.max() - ref.min()) or 1.0
    moved = rng.random(x.size) < share
    edge = ref.max() if direction > 0 else ref.min()
    x[moved] = edge + direction * span * rng.exponential(0.5, moved.sum())
    return x


def profiles(a: np.ndarray, b: np.ndarray, **config):
    reference = build_reference(pd.DataFrame({"x": a}), MonitorConfig(mode="sketch", **config))
    return reference.features["x"], sketch(pd.DataFrame({"x": b}), reference).features["x"]


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(SHAPES),
    st.integers(1, 20_000),
    st.integers(1, 20_000),
    st.integers(0, 2**31),
    st.sampled_from([0.0, 0.001, 0.05, 0.5]),
    st.sampled_from([1, -1]),
    st.booleans(),
    st.sampled_from([8, 50, 200]),
)
def test_sketch_wasserstein_stays_within_its_bound_on_adversarial_shapes(shape, n_ref, n_cur, seed, share, direction, swap, fine_bins):
    rng = np.random.default_rng(seed)
    a = draw_values(shape, n_ref, rng)
    b = past_the_range(draw_values(shape, n_cur, rng), a, share, rng, direction)
    if swap:  # the reference is the side with values past the other's range
        a, b = b, a
    ref, cur = profiles(a, b, fine_bins=fine_bins, bins=min(10, fine_bins))
    w_true = wasserstein_distance(a, b)
    w = METRICS["wasserstein"].compute(ref, cur).value
    assert abs(w - w_true) <= wasserstein_error_bound(ref, cur) + 1e-9 * (1 + w_true)
    d_true = ks_2samp(a, b).statistic
    d = METRICS["ks"].compute(ref, cur).value
    assert d - 1e-12 <= d_true <= d + ks_error_bound(ref, cur) + 1e-12


def zero_inflated_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """93% zeros, values in 0.01 steps up to 0.32; 0.5% of the current just past 0.32 and 20 values at 1.2."""
    r = draw_values("zero_inflated", 200_000, rng)
    c = draw_values("zero_inflated", 150_000, rng)
    c[:750] = 0.32 + rng.random(750) * 0.05
    c[750:770] = 1.2
    return r, c


def normal_tail_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """normal(0, 1); 1% of the current near 4 and 10 values at 40."""
    r, c = rng.normal(0, 1, 200_000), rng.normal(0, 1, 150_000)
    c[:1500] = rng.normal(4, 0.1, 1500)
    c[1500:1510] = 40.0
    return r, c


@pytest.mark.parametrize("case", [zero_inflated_case, normal_tail_case])
def test_current_values_past_the_reference_range_are_within_two_percent_of_scipy(case):
    r, c = case(np.random.default_rng(0))
    result = compare(pd.DataFrame({"x": r}), pd.DataFrame({"x": c}), metrics=["wasserstein_norm"])
    exact = wasserstein_distance(r, c) / r.std()
    assert result.reference.features["x"].values is None  # over 100,000 rows: a sketch
    assert result.rows[0].value == pytest.approx(exact, rel=0.02)


def test_few_distinct_values_give_an_exact_sketch():
    rng = np.random.default_rng(3)
    support = np.array([-2.5, 0.0, 0.25, 1.0, 7.0])
    a, b = rng.choice(support, 5000, p=[0.1, 0.5, 0.2, 0.15, 0.05]), rng.choice(support, 4000)
    ref, cur = profiles(a, b)
    assert METRICS["wasserstein"].compute(ref, cur).value == pytest.approx(wasserstein_distance(a, b), rel=1e-12)


def test_rare_values_the_edge_sample_missed_get_their_own_bins():
    rng = np.random.default_rng(4)
    a = draw_values("zero_inflated", 200_000, rng)
    a[rng.integers(0, a.size, 3)] = [0.005, 0.5, 2.0]  # too rare for the edge sample to hold them all
    b = draw_values("zero_inflated", 150_000, rng)
    b[:500] = 2.0  # the current on the reference's values: every bin holds one value on both sides
    ref, cur = profiles(a, b)
    assert {0.005, 0.5, 2.0} <= set(ref.edges.tolist())
    assert METRICS["wasserstein"].compute(ref, cur).value == pytest.approx(wasserstein_distance(a, b), rel=1e-9)


def test_a_format_1_profile_loads_and_compares_by_interpolation():
    """A profile written before per-bin sums (format 1): its reference was built from this seeded data."""
    rng = np.random.default_rng(11)
    r = np.where(rng.random(3000) < 0.8, 0.0, rng.lognormal(0, 1, 3000))
    reference = DatasetProfile.from_json(FORMAT_1.read_text())
    assert reference.features["x"].sums is None
    current = pd.DataFrame({"x": np.random.default_rng(12).lognormal(0.5, 1, 2000), "c": ["a", "b"] * 1000})
    result = compare(reference, current, metrics=["wasserstein", "ks", "psi"])
    cur = sketch(current, reference).features["x"]
    ref = reference.features["x"]
    fresh = build_reference(pd.DataFrame({"x": r}), MonitorConfig(mode="sketch", fine_bins=40, bins=5)).features["x"]
    np.testing.assert_array_equal(ref.counts, fresh.counts)
    w = result.to_pandas().set_index(["feature", "metric"]).loc[("x", "wasserstein"), "value"]
    w_true = wasserstein_distance(r, current["x"])
    assert abs(w - w_true) <= wasserstein_error_bound(ref, cur) + 1e-9
    assert wasserstein_error_bound(ref, cur) > wasserstein_error_bound(fresh, sketch(current, DatasetProfile({"x": fresh})).features["x"])
