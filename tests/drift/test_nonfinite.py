"""Non-finite values: NaN, +inf and -inf are counted per feature, apart, and never hidden."""

from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa

from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, merge, sketch

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
