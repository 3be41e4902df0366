"""Fuzz: random tables through the data contract and every drift metric.

Numeric (int32, int64, float32, float64), string, dictionary and bool columns with
nulls, NaN, +-inf, huge and subnormal values, 0 to 1,000 rows a side, both sides drawn
apart. Nothing crashes but the one-line errors about empty data, and no NaN is a
verdict: every metric row is a finite value with a verdict or undefined with a reason.
"""

from __future__ import annotations

import io
import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from launchbay.drift import DatasetProfile, DriftResult, MonitorConfig, compare
from launchbay.errors import LaunchbayError
from launchbay.plugins import current_manager
from launchbay.report import write_report
from launchbay.validation import Contract, ContractConfig, check, infer

KINDS = ("int32", "int64", "float32", "float64", "string", "dictionary", "bool")
SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.7e308, -1.7e308, 5e-324, -0.0])
EMPTY_DATA = re.compile(r"the (reference|current) data is empty|feature 'c\d' has no (finite )?values in the (reference|current) data .*")
ALL_METRICS = sorted(current_manager().components("metric"))
SIZES = st.one_of(st.integers(0, 3), st.integers(0, 1000))

# kind, scale of the values, share of special values, share of nulls, distinct values (5 or fewer: discrete)
COLUMN = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from([1e-310, 1.0, 1e300]),
    st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    st.sampled_from([0.0, 0.1, 1.0]),
    st.integers(1, 150),
)


def column(spec: tuple, n: int, rng: np.random.Generator) -> pa.Array:
    kind, scale, special, nulls, distinct = spec
    mask = rng.random(n) < nulls
    odd = rng.random(n) < special
    if kind in ("string", "dictionary"):
        values = pa.array(np.array([f"v{k}" for k in range(distinct)])[rng.integers(0, distinct, n)], pa.string(), mask=mask)
        return values.dictionary_encode() if kind == "dictionary" else values
    if kind == "bool":
        return pa.array(rng.random(n) < 0.3, mask=mask)
    if kind.startswith("int"):
        info = np.iinfo(kind)
        x = rng.integers(-distinct, distinct + 1, n).astype(kind)
        x[odd] = rng.choice([info.min, info.max], odd.sum())
        return pa.array(x, mask=mask)
    x = (rng.integers(0, distinct, n) if distinct <= 5 else rng.normal(0.0, 1.0, n)) * scale
    x[odd] = rng.choice(SPECIAL, odd.sum())
    with np.errstate(over="ignore"):
        return pa.array(x.astype(kind), mask=mask)


def table(specs: list[tuple], n: int, rng: np.random.Generator) -> pa.Table:
    return pa.table({f"c{i}": column(spec, n, rng) for i, spec in enumerate(specs)})


def as_float(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, NaN for nulls."""
    return np.asarray(column.to_numpy(), np.float64) if len(column) else np.empty(0)


def assert_contract(reference: pa.Table, current: pa.Table) -> None:
    contract = infer(reference, ContractConfig())
    assert Contract.from_json(contract.to_json(), "fuzz") == contract
    own = check(reference, contract).counts
    assert all(set(counts) <= {"finite", "range"} for counts in own.values()), own
    for data in (reference, current):
        counts = check(data, contract).counts
        for name in data.column_names:
            x = data.column(name)
            nonfinite = int((~np.isfinite(as_float(x))).sum() - x.null_count) if pa.types.is_floating(x.type) else 0
            assert counts.get(name, {}).get("finite", 0) == nonfinite


def assert_counted(result: DriftResult, data: pa.Table, side: str) -> None:
    for name, counts in result.to_dict()["nonfinite"].items():
        x = data.column(name)
        if result.reference.features[name].kind == "numeric":
            values = as_float(x)
            assert counts[side]["missing"] == int(np.isnan(values).sum())
            assert (counts[side]["posinf"], counts[side]["neginf"]) == (int((values == np.inf).sum()), int((values == -np.inf).sum()))
        else:
            assert counts[side]["missing"] == x.null_count and counts[side]["inf"] == 0
        assert counts[side]["rows"] == len(x)


def assert_no_nan_verdict(result: DriftResult) -> None:
    for row in result.rows:
        if row.undefined is not None:
            assert row.undefined and not row.drifted and math.isnan(row.value), row
        else:
            assert math.isfinite(row.value) and isinstance(row.drifted, bool), row
            assert row.p_value is None or 0.0 <= row.p_value <= 1.0, row
    assert not set(result.drifted_features) & set(result.undefined_features)
    multivariate = result.multivariate
    if multivariate is not None:
        assert (multivariate.undefined is None) == math.isfinite(multivariate.value), multivariate
        assert not (multivariate.undefined and multivariate.drifted), multivariate
    undefined = result.undefined_features or (multivariate is not None and multivariate.undefined)
    assert result.verdict == ("drift" if result.dataset_drift else "undefined" if undefined else "no drift")
    json.dumps(result.to_dict(), allow_nan=False)
    Console(file=io.StringIO(), width=100).print(result.render())
    with tempfile.TemporaryDirectory() as folder:
        write_report(result, Path(folder) / "report.html")
    for profile in (result.reference, result.current):
        text = profile.to_json()
        assert DatasetProfile.from_json(text).to_json() == text


@settings(max_examples=75, deadline=None)
@given(st.lists(COLUMN, min_size=1, max_size=4), SIZES, SIZES, st.integers(0, 2**32 - 1), st.sampled_from(["exact", "sketch"]))
def test_random_tables_through_the_contract_and_every_drift_metric(specs, n_ref, n_cur, seed, mode):
    rng = np.random.default_rng(seed)
    reference, current = table(specs, n_ref, rng), table(specs, n_cur, rng)
    assert_contract(reference, current)
    for metrics in (ALL_METRICS, None):
        try:
            result = compare(reference, current, metrics=metrics, config=MonitorConfig(mode=mode))
        except LaunchbayError as error:
            assert EMPTY_DATA.fullmatch(str(error)), str(error)
            continue
        assert {row.metric for row in result.rows} <= set(ALL_METRICS)
        assert_no_nan_verdict(result)
        assert_counted(result, reference, "reference")
        assert_counted(result, current, "current")
