"""Batches too small to judge: below a metric's ``min_rows`` its row is undefined with the reason,
and the fewest rows stated for each built-in metric hold as stated (drift.metrics.MIN_ROWS)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from launchbay.drift import build_reference, compare
from launchbay.drift.config import MonitorConfig
from launchbay.drift.metrics import MIN_ROWS
from launchbay.errors import LaunchbayError
from launchbay.plugins import current_manager

CONFIG = MonitorConfig(multivariate=False)
CATEGORIES = np.array(list("abcdef"), dtype=object)
SHIFTED_SHARES = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]


def numeric(rng: np.random.Generator, rows: int, shift: float = 0.0) -> np.ndarray:
    values = rng.normal(size=rows) + shift
    values[rng.random(rows) < 0.1] = np.nan
    return values


def categorical(rng: np.random.Generator, rows: int, shift: float = 0.0) -> np.ndarray:
    values = rng.choice(CATEGORIES, size=rows, p=SHIFTED_SHARES if shift else None)
    values[rng.random(rows) < 0.1] = None
    return values


def reference(draw) -> pd.DataFrame:
    return pd.DataFrame({"f": draw(np.random.default_rng(0), 20_000)})


def test_a_one_row_batch_is_undefined_for_every_metric_with_the_reason():
    ref = pd.DataFrame({"a": np.random.default_rng(1).normal(size=5000), "c": categorical(np.random.default_rng(2), 5000)})
    result = compare(ref, ref.iloc[:1], config=CONFIG)
    assert result.verdict == "undefined" and not result.dataset_drift and result.drifted_features == []
    assert [(row.metric, row.undefined) for row in result.rows] == [
        ("ks", "the current batch has 1 row(s); ks judges from 8 (monitor.min_rows.ks)"),
        ("chi2", "the current batch has 1 row(s); chi2 judges from 30 (monitor.min_rows.chi2)"),
    ]
    assert all(math.isnan(row.value) for row in result.rows)


def test_min_rows_applies_to_both_sides_and_can_be_set_per_metric():
    values = pd.DataFrame({"a": np.random.default_rng(3).normal(size=150)})
    [row] = compare(values, values.iloc[:100], metrics=["psi"], config=CONFIG).rows
    assert row.undefined == "the reference has 150 row(s) and the current batch has 100 row(s); psi judges from 200 (monitor.min_rows.psi)"
    [row] = compare(values, values.iloc[:100], metrics=["psi"], config=MonitorConfig(multivariate=False, min_rows={"psi": 100})).rows
    assert row.undefined is None and row.value >= 0
    with pytest.raises(LaunchbayError, match=r"monitor.min_rows.psi must be at least 1, got 0"):
        MonitorConfig(min_rows={"psi": 0})


def alarm_rate(metric: str, draw, rows: int, shift: float, draws: int = 200) -> float:
    """The share of ``draws`` batches of ``rows`` (from the reference's distribution, ``shift`` moved) that ``metric`` calls drifted."""
    ref, rng = build_reference(reference(draw), CONFIG), np.random.default_rng(rows)
    config = MonitorConfig(multivariate=False, min_rows={metric: 1})
    results = (compare(ref, pd.DataFrame({"f": draw(rng, rows, shift)}), metrics=[metric], config=config) for _ in range(draws))
    return float(np.mean([any(row.drifted for row in result.rows) for result in results]))


def kinds(metric: str):
    applies_to = current_manager().component("metric", metric).applies_to
    return [draw for kind, draw in (("numeric", numeric), ("categorical", categorical)) if applies_to in ("any", kind)]


# 200 draws: a rate's standard error is at most 0.035; the checks allow 3 of them
TOLERANCE = 3 * math.sqrt(0.05 * 0.95 / 200)
DISTANCES = [name for name in MIN_ROWS if current_manager().component("metric", name).drift_when == "above"]


@pytest.mark.parametrize("metric", DISTANCES)
def test_a_distance_at_its_min_rows_rarely_flags_unchanged_data(metric):
    for draw in kinds(metric):
        assert alarm_rate(metric, draw, MIN_ROWS[metric], 0.0) <= 0.05 + TOLERANCE, draw.__name__


@pytest.mark.parametrize("metric", ["psi", "wasserstein_norm", "jensen_shannon", "tvd", "kl"])
def test_below_its_min_rows_a_distance_flags_unchanged_data(metric):
    draw = kinds(metric)[-1]
    assert alarm_rate(metric, draw, MIN_ROWS[metric] // 4, 0.0, draws=50) >= 0.25, draw.__name__


@pytest.mark.parametrize("metric", ["ks", "chi2"])
def test_a_test_at_its_min_rows_finds_a_shift_half_the_time(metric):
    for draw in kinds(metric):
        assert alarm_rate(metric, draw, MIN_ROWS[metric], 1.0) >= 0.5 - TOLERANCE, draw.__name__
