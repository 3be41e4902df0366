"""Non-finite values: NaN, +inf and -inf are counted per feature, apart, and never hidden."""

from __future__ import annotations

import json
import math
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from rich.console import Console
from scipy.stats import wasserstein_distance

from launchbay.components import DriftMetric, MetricValue
from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, compare, merge, sketch
from launchbay.errors import LaunchbayError
from launchbay.plugins import current_manager
from launchbay.report import write_report

SIGNED = np.array([1.0, np.nan, np.inf, -np.inf, -np.inf, 2.0, np.nan])


def test_nan_plus_and_minus_inf_are_counted_apart_in_every_part():
    x = np.tile(SIGNED, 400)
    for dtype in (np.float64, np.float32):
        table = pa.table({"x": pa.array(x.astype(dtype), from_pandas=False)})
        reference = build_reference(table, MonitorConfig(mode="sketch"))
        parts = [sketch(table.slice(k, 700), reference) for k in range(0, table.num_rows, 700)]
        for feature in (reference.features["x"], reduce(merge, parts).features["x"]):
            assert (feature.null_count, feature.posinf_count, feature.neginf_count) == (800, 400, 800)
            assert feature.inf_count == 1200 and feature.count == 800 and feature.rows == 2800
            assert feature.nonfinite_share == 2000 / 2800


def test_profiles_of_earlier_versions_load_and_say_when_the_sign_of_inf_is_unknown():
    profile = build_reference(pd.DataFrame({"x": np.tile(SIGNED, 10), "y": np.arange(70.0), "c": ["a"] * 70}))
    data = profile.to_dict()
    for feature in data["features"]:
        del feature["neginf_count"]  # written before -inf was counted apart
    old = DatasetProfile.from_dict(json.loads(json.dumps(data)))
    assert (old.features["x"].inf_count, old.features["x"].neginf_count, old.features["x"].posinf_count) == (30, None, None)
    assert old.features["y"].neginf_count == old.features["y"].posinf_count == 0
    assert old.features["c"].neginf_count == 0
    current = sketch(pd.DataFrame({"x": [np.inf], "y": [1.0], "c": ["a"]}), old).features["x"]
    assert current.neginf_count == 0 and current.posinf_count == 1
    assert merge(old, old).features["x"].neginf_count is None


def test_sums_that_overflow_near_the_float_range_still_round_trip_through_json():
    reference = build_reference(pd.DataFrame({"x": [1.7e308, -1.7e308, 1.0, 2.0] * 25}))
    feature = reference.features["x"]
    assert not np.isfinite(feature.m2)
    again = DatasetProfile.from_json(reference.to_json())  # strict JSON: no NaN or Infinity tokens
    assert again.to_json() == reference.to_json()
    assert np.array_equal(again.features["x"].values, feature.values)


def issue_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same distribution on both sides, then two thirds of the current's x turned +-inf."""
    rng = np.random.default_rng(seed)
    reference, current = pd.DataFrame({"x": rng.normal(size=n)}), pd.DataFrame({"x": rng.normal(size=n)})
    turned = rng.random(n) < 2 / 3
    current.loc[turned, "x"] = np.where(rng.random(turned.sum()) < 0.5, np.inf, -np.inf)
    return reference, current


@pytest.mark.parametrize(("n", "metric"), [(900, "ks"), (6000, "wasserstein_norm")])
def test_inf_in_two_thirds_of_the_values_is_drift_and_counted(n, metric):
    reference, current = issue_frames(n)
    result = compare(reference, current)
    rows = {row.metric: row for row in result.rows}
    assert not rows[metric].drifted, "the finite third keeps its distribution"
    assert rows["nonfinite_rate"].drifted and rows["nonfinite_rate"].value == pytest.approx(2 / 3, abs=0.03)
    assert result.drifted_features == ["x"] and result.verdict == "drift"
    counts = result.to_dict()["nonfinite"]["x"]
    x = current.x.to_numpy()
    assert counts["reference"] == {"rows": n, "missing": 0, "inf": 0, "posinf": 0, "neginf": 0}
    assert counts["current"] == {
        "rows": n, "missing": 0, "inf": int(np.isinf(x).sum()), "posinf": int((x == np.inf).sum()), "neginf": int((x == -np.inf).sum())
    }


def test_the_nonfinite_row_is_added_by_default_only_when_it_drifts_and_follows_its_threshold():
    reference, current = issue_frames(3000)
    assert [row.metric for row in compare(reference, reference).rows] == ["wasserstein_norm"]
    assert [row.metric for row in compare(reference, current, metrics=["psi"]).rows] == ["psi"]
    lenient = compare(reference, current, config=MonitorConfig(thresholds={"nonfinite_rate": 0.9}))
    assert [row.metric for row in lenient.rows] == ["wasserstein_norm"] and lenient.verdict == "no drift"
    explicit = compare(reference, reference, metrics=["nonfinite_rate", "missing_rate"]).rows
    assert [(row.metric, row.value, row.drifted) for row in explicit] == [("nonfinite_rate", 0.0, False), ("missing_rate", 0.0, False)]


def test_half_the_values_turned_nan_is_counted_shown_and_drift(tmp_path):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=4000), "c": rng.choice(["a", "b"], 4000)})
    current = reference.sample(frac=1.0, random_state=2, ignore_index=True)
    current.loc[: 1999, "x"] = np.nan
    result = compare(reference, current)
    assert result.drifted_features == ["x"]
    assert result.to_dict()["nonfinite"]["x"]["current"]["missing"] == 2000
    note = "x: missing 0 → 2,000, +inf 0 → 0, -inf 0 → 0 (0.0% → 50.0% of the rows)"
    assert result.notes() == [note]
    console = Console(record=True, width=120)
    console.print(result.render())
    text = console.export_text()
    assert note in text and "nonfinite_rate" in text and "dataset: drift" in text
    page = write_report(result, tmp_path / "r.html").read_text()
    assert "Non-finite values, reference → current" in page and note in page


def huge_reference() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    reference = rng.normal(size=3000)
    reference[:10] = [1.7e308, -1.7e308] * 5
    return pd.DataFrame({"x": reference}), pd.DataFrame({"x": rng.normal(size=3000)})


def test_huge_reference_values_give_a_finite_normed_wasserstein_in_exact_mode():
    reference, current = huge_reference()
    [row] = compare(reference, current).rows
    unit = 2.0**1023  # a power of two: scaling is exact
    a, b = reference.x.to_numpy() / unit, current.x.to_numpy() / unit
    expected = wasserstein_distance(a, b) / np.std(a)
    assert row.undefined is None and row.value == pytest.approx(expected, rel=1e-9) and not row.drifted
    sketched = compare(reference, current, metrics=["wasserstein"], config=MonitorConfig(mode="sketch")).rows[0]
    assert np.isnan(sketched.value) and sketched.undefined == PER_BIN  # a sketch cannot place bins it cannot sum


PER_BIN = "the per-bin sums of the reference overflow float64 (values near ±1.8e308): the distance is not computed"


def test_a_metric_that_cannot_be_computed_is_undefined_with_its_reason_everywhere(tmp_path):
    reference, current = huge_reference()
    reference["y"] = current["y"] = np.arange(3000.0)
    result = compare(reference, current, config=MonitorConfig(mode="sketch"))
    row = result.rows[0]
    assert (row.feature, row.metric, row.drifted) == ("x", "wasserstein_norm", False) and np.isnan(row.value)
    assert row.undefined == PER_BIN
    assert result.undefined_features == ["x"] and result.drifted_features == []
    assert result.verdict == "undefined" and not result.dataset_drift and result.share_drifted == 0.0
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert summary["verdict"] == "undefined" and summary["undefined_features"] == ["x"]
    assert summary["metrics"][0]["value"] is None and summary["metrics"][0]["undefined"] == row.undefined
    assert result.to_pandas().undefined[0] == row.undefined and pd.isna(result.to_pandas().undefined[1])
    console = Console(record=True, width=120)
    console.print(result.render())
    text = console.export_text()
    assert "0/2 features drifted, 1 undefined (0%, dataset: undefined)" in text
    assert f"x wasserstein_norm undefined: {PER_BIN}" in " ".join(text.split())  # the note wraps at the table's width
    page = write_report(result, tmp_path / "r.html").read_text()
    assert f"undefined: {PER_BIN}" in page
    assert "0 of 2 features drifted (0%), 1 undefined: dataset drift undefined" in page


def test_a_drifted_feature_stays_drifted_and_the_dataset_can_drift_with_undefined_features():
    reference, current = huge_reference()
    reference["y"], current["y"] = np.arange(3000.0), np.arange(3000.0) + 5000
    result = compare(reference, current, config=MonitorConfig(mode="sketch", drift_share=0.5))
    assert result.drifted_features == ["y"] and result.undefined_features == ["x"] and result.verdict == "drift"


@pytest.mark.parametrize(
    ("compute", "reason"),
    [
        (lambda ref, cur: MetricValue(math.nan), "the value is nan"),
        (lambda ref, cur: MetricValue(0.5, math.nan), "the p-value is nan"),
        (lambda ref, cur: MetricValue(math.inf), "the value is inf"),
        (lambda ref, cur: MetricValue(math.nan, undefined="no mean"), "no mean"),
    ],
)
def test_third_party_metrics_without_a_finite_value_are_undefined(compute, reason, monkeypatch):
    metric = DriftMetric("odd", compute=compute, applies_to="any", threshold=0.1, drift_when="below")
    monkeypatch.setitem(current_manager().catalogue["metric"], "odd", (metric, "tests"))
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    [row] = compare(df, df, metrics=["odd"]).rows
    assert (row.undefined, row.drifted, row.p_value) == (reason, False, None)


def test_a_side_with_only_inf_is_a_one_line_error_that_says_so():
    finite, infinite = pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [np.inf, -np.inf, np.nan]})
    with pytest.raises(LaunchbayError, match=r"^feature 'x' has no finite values in the current data \(2 \+-inf, the rest missing\)$"):
        compare(finite, infinite)
    with pytest.raises(LaunchbayError, match=r"^feature 'x' has no finite values in the reference data \(2 \+-inf"):
        compare(infinite, finite)


def test_integers_past_2_to_the_53_are_numbers_not_an_error():
    big = pd.DataFrame({"id": np.array([2**63 - 1, 2**62, 3] * 100, np.int64)})
    [row] = compare(big, big).rows
    assert (row.value, row.drifted) == (0.0, False)
