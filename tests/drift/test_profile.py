"""Profiles: merging, serialization, errors, the default metric convention, results."""

from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from drift_data import sample
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, compare, merge, sketch
from launchbay.drift.counting import Counter
from launchbay.errors import LaunchbayError


def mixed(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": sample("with_nan_inf", n, seed, shift),
            "age": rng.integers(18, 90, n),
            "tail": sample("heavy_tailed", n, seed + 7, shift),
            "city": rng.choice(["paris", "lyon", "nice", "lille" if shift else "paris"], n),
            "flag": rng.random(n) < 0.3 + shift / 10,
            "id": np.arange(n),
        }
    )


CONFIG = MonitorConfig(exclude=["id"], max_categories=3, fine_bins=300)


def assert_same_profile(a: DatasetProfile, b: DatasetProfile) -> None:
    assert a.rows == b.rows
    for name, fa in a.features.items():
        fb = b.features[name]
        assert (fa.rows, fa.null_count, fa.inf_count, fa.unseen, fa.unseen_overflow) == (
            fb.rows,
            fb.null_count,
            fb.inf_count,
            fb.unseen,
            fb.unseen_overflow,
        )
        if fa.kind == "numeric":
            np.testing.assert_array_equal(fa.counts, fb.counts)
            assert (fa.min, fa.max) == (fb.min, fb.max)
            assert fa.mean == pytest.approx(fb.mean, rel=1e-12, abs=1e-12)
            assert fa.m2 == pytest.approx(fb.m2, rel=1e-10)
            scale = np.abs(fa.sums) + np.abs(fa.center) * fa.counts + 1e-300
            assert np.all(np.abs(fa.sums - fb.sums) <= 1e-12 * scale)  # added in another order: float rounding
            assert (fa.values is None) == (fb.values is None)
            if fa.values is not None:
                np.testing.assert_array_equal(fa.values, fb.values)
        else:
            np.testing.assert_array_equal(fa.category_counts, fb.category_counts)


def split_at(seed: int, cuts: list[int], mode: str):
    """A config, a reference built with it, a shifted current table and that table cut at ``cuts``."""
    config = MonitorConfig(exclude=["id"], max_categories=3, fine_bins=300, mode=mode)
    reference = build_reference(mixed(2000, seed), config)
    current = mixed(3000, seed + 1, shift=0.5)
    bounds = [0, *sorted(cuts), len(current)]
    return config, reference, current, [current.iloc[lo:hi] for lo, hi in zip(bounds, bounds[1:])]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.integers(0, 3000), max_size=6), st.sampled_from(["exact", "sketch"]))
def test_merge_of_any_split_equals_the_whole(seed, cuts, mode):
    config, reference, current, pieces = split_at(seed, cuts, mode)
    parts = [sketch(piece, reference) for piece in pieces]
    whole = sketch(current, reference)
    assert_same_profile(reduce(merge, parts), whole)
    assert_same_profile(reduce(merge, reversed(parts)), whole)
    whole_result = compare(reference, current, config=config).to_pandas()
    table = pa.Table.from_pandas(current, preserve_index=False)
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=max(1, min(cuts, default=3000))))
    pd.testing.assert_frame_equal(compare(reference, chunked, config=config).to_pandas(), whole_result)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.integers(0, 3000), max_size=6), st.sampled_from(["exact", "sketch"]))
def test_counter_of_the_parts_equals_their_merged_sketches(seed, cuts, mode):
    _, reference, current, parts = split_at(seed, cuts, mode)
    counter = Counter(reference)
    for part in parts:
        counter.add(part)
    counted, merged = counter.profile(), reduce(merge, [sketch(part, reference) for part in parts])
    assert_same_profile(counted, merged)
    assert_same_profile(counted, sketch(current, reference))
    assert counted.multivariate is not None and merged.multivariate is not None
    assert counted.multivariate.rows == merged.multivariate.rows == len(current)
    assert counted.multivariate.error_sum == pytest.approx(merged.multivariate.error_sum, rel=1e-12)


def test_merge_is_associative():
    reference = build_reference(mixed(1000, 1), CONFIG)
    a, b, c = (sketch(mixed(500, seed, 0.5), reference) for seed in (2, 3, 4))
    assert_same_profile(merge(merge(a, b), c), merge(a, merge(b, c)))


def test_unseen_categories_overflow_into_other_the_same_way_whatever_the_split():
    config = MonitorConfig(max_categories=2)
    reference = build_reference(pd.DataFrame({"c": ["a", "b", "a"]}), config)
    blocks = [pd.DataFrame({"c": ["x", "y"]}), pd.DataFrame({"c": ["z"]}), pd.DataFrame({"c": ["a"]})]
    whole = sketch(pd.concat(blocks), reference).features["c"]
    split = reduce(merge, [sketch(b, reference) for b in blocks]).features["c"]
    assert whole.unseen == split.unseen == {} and whole.unseen_overflow and split.unseen_overflow
    np.testing.assert_array_equal(whole.category_counts, [1, 0, 3])
    np.testing.assert_array_equal(split.category_counts, [1, 0, 3])


@pytest.mark.parametrize("mode", ["exact", "sketch"])
def test_json_round_trip_is_exact(mode):
    reference = build_reference(mixed(1500, 5), MonitorConfig(exclude=["id"], mode=mode))
    current = sketch(mixed(800, 6, 0.5), reference)
    for profile in (reference, current):
        text = profile.to_json()
        json.loads(text)  # strict JSON: no NaN or Infinity tokens
        again = DatasetProfile.from_json(text)
        assert_same_profile(again, profile)
        assert again.to_json() == text
    restored = DatasetProfile.from_json(reference.to_json())
    frame = mixed(800, 6, 0.5)
    pd.testing.assert_frame_equal(compare(restored, frame).to_pandas(), compare(reference, frame).to_pandas())


def test_stored_profile_never_uses_pickle():
    text = build_reference(mixed(100, 1)).to_json()
    assert text.startswith("{") and '"format": 2' in text


@pytest.mark.parametrize(
    ("reference", "current", "message"),
    [
        (pd.DataFrame({"x": []}, dtype=float), pd.DataFrame({"x": [1.0]}), "reference data is empty"),
        (pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": []}, dtype=float), "current data is empty"),
        (pd.DataFrame({"x": [1.0], "y": [2.0]}), pd.DataFrame({"x": [1.0]}), "feature 'y' is missing"),
        (pd.DataFrame({"x": [1.0], "y": [np.nan]}), pd.DataFrame({"x": [1.0], "y": [1.0]}), "feature 'y' has no values"),
        (pd.DataFrame({"x": [1.0], "y": ["a"]}), pd.DataFrame({"x": [1.0], "y": [None]}), "feature 'y' has no values"),
        (pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])}), pd.DataFrame({"t": [1]}), "feature 't' has type"),
    ],
)
def test_bad_input_is_a_one_line_error_naming_the_problem(reference, current, message):
    with pytest.raises(LaunchbayError, match=message) as caught:
        compare(reference, current)
    assert "\n" not in str(caught.value)


def test_unknown_metric_and_misfit_metric_are_errors():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    with pytest.raises(LaunchbayError, match="unknown metric 'nope'"):
        compare(df, df, metrics=["nope"])
    with pytest.raises(LaunchbayError, match="metric 'ks' is for numeric features; 'c' is categorical"):
        compare(df, df, config=MonitorConfig(features={"c": ["ks"]}))


def picked(n_ref: int, n_cur: int | None = None) -> dict[str, str]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "many": rng.normal(size=n_ref),
            "few": rng.integers(0, 3, n_ref),
            "binary": rng.integers(0, 2, n_ref).astype(float),
            "city": rng.choice(["a", "b", "c"], n_ref),
            "yes": rng.random(n_ref) < 0.5,
        }
    )
    result = compare(df, df.iloc[: n_cur or n_ref // 2])
    return dict(zip(result.to_pandas().feature, result.to_pandas().metric))


def test_default_convention_small_reference_uses_p_value_tests():
    assert picked(1000) == {"many": "ks", "few": "chi2", "binary": "chi2", "city": "chi2", "yes": "chi2"}


def test_default_convention_large_reference_uses_distances():
    expected = {"many": "wasserstein_norm", "few": "jensen_shannon", "binary": "jensen_shannon"}
    assert picked(2000, 750) == {**expected, "city": "jensen_shannon", "yes": "jensen_shannon"}


def test_a_current_batch_too_small_for_a_distance_gets_the_test():
    """wasserstein_norm judges from 750 rows and jensen_shannon from 300: below, ks and chi2 (fine from 8 and 30 rows)."""
    assert picked(2000, 749) == {"many": "ks", "few": "jensen_shannon", "binary": "jensen_shannon", "city": "jensen_shannon", "yes": "jensen_shannon"}
    assert picked(2000, 299) == {"many": "ks", "few": "chi2", "binary": "chi2", "city": "chi2", "yes": "chi2"}


def test_thresholds_and_dataset_drift_follow_the_convention():
    reference, current = mixed(5000, 10), mixed(5000, 11, shift=0.5)
    result = compare(reference, current, config=CONFIG)
    rows = result.to_pandas().set_index("feature")
    assert list(rows.columns) == ["kind", "metric", "value", "p_value", "threshold", "drifted"]
    # a shift of 0.5 is small next to the std of a t(1.2) tail: normed Wasserstein misses it
    assert result.drifted_features == ["amount", "city"]
    assert not rows.loc["age", "drifted"] and rows.loc["amount", "threshold"] == 0.1
    assert result.share_drifted == pytest.approx(2 / 5)
    assert not result.dataset_drift
    assert compare(reference, current, config=MonitorConfig(exclude=["id"], drift_share=0.4)).dataset_drift
    strict = compare(reference, current, config=MonitorConfig(exclude=["id"], thresholds={"wasserstein_norm": 10.0}))
    assert "amount" not in strict.drifted_features


def test_explicit_metrics_and_per_feature_overrides():
    reference, current = mixed(500, 1), mixed(500, 2, 0.5)
    config = MonitorConfig(exclude=["id", "flag"], metrics=["ks", "tvd"], features={"age": ["psi", "missing_rate"]})
    rows = compare(reference, current, config=config).to_pandas()
    by_feature = rows.groupby("feature").metric.apply(list).to_dict()
    assert by_feature == {"amount": ["ks"], "age": ["psi", "missing_rate"], "tail": ["ks"], "city": ["tvd"]}
    p_rows = rows[rows.metric == "ks"]
    assert (p_rows.drifted == (p_rows.p_value < 0.05)).all()


def test_result_summary_is_json_and_the_table_renders():
    result = compare(mixed(3000, 1), mixed(3000, 2, 0.5), config=CONFIG)
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert summary["drifted_features"] == result.drifted_features
    assert summary["reference_rows"] == 3000 and len(summary["metrics"]) == 5
    console = Console(record=True, width=120)
    console.print(result.render())
    text = console.export_text()
    assert "2/5 features drifted" in text and "wasserstein_norm" in text
    labels, counts = result.reference.features["amount"].histogram()
    assert len(labels) == counts.size == 10 and counts.sum() == result.reference.features["amount"].count


def test_categorical_and_numeric_kinds_can_be_forced():
    df = pd.DataFrame({"code": [1, 2, 3, 1] * 50, "x": np.arange(200.0)})
    result = compare(df, df, categorical=["code"])
    assert dict(zip(result.to_pandas().feature, result.to_pandas().kind)) == {"code": "categorical", "x": "numeric"}
