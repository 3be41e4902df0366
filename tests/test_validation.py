"""Data contracts: inference, per-column violation counts, fail and quarantine policies, in jobs too."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import launchbay
from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.rowids import id_keys, repeats
from launchbay.validation import (
    CHECKS,
    ColumnRule,
    Contract,
    ContractConfig,
    ContractError,
    _violations,
    check,
    discard,
    enforce_batch,
    infer,
    report,
    split,
)

SMALL = ["data.rows=3000", "batch.rows=2000", "data.chunk_rows=1000", "batch.chunk_rows=1000", "approval.trigger=never"]


@pytest.fixture
def training() -> pa.Table:
    return pa.table({"x": [0.0, 5.0, 10.0, 2.0], "n": [1, 2, 3, 4], "c": ["a", "b", "a", "b"], "y": [1.0, None, 2.0, 3.0]})


def test_inferred_contract(training):
    contract = infer(training, ContractConfig(range_margin=0.5, policy="quarantine"))
    rules = {r.name: r for r in contract.columns}
    assert rules["x"] == ColumnRule("x", "float", nullable=False, min=-5.0, max=15.0)
    assert (rules["n"].kind, rules["n"].min, rules["n"].max) == ("integer", -0.5, 5.5)
    assert rules["c"].categories == ["a", "b"] and rules["y"].nullable
    assert Contract.from_json(contract.to_json(), "here") == contract


def test_violations_are_counted_per_column(training):
    contract = infer(training, ContractConfig(range_margin=0.0, enforce=["range", "category"]))
    batch = pa.table({"x": [1.0, None, 99.0, -1.0], "n": [1, 2, 3, 4], "c": ["a", "z", None, "a"], "y": [1.0, 1.0, 1.0, 1.0]})
    checked = check(batch, contract)
    assert checked.counts == {"x": {"nullable": 1, "range": 2}, "c": {"nullable": 1, "category": 1}}
    assert checked.bad.tolist() == [False, True, True, True]
    with pytest.raises(ContractError, match=r"here: 3 of 4 rows break the model's data contract \(x nullable: 1, x range: 2, c nullable: 1, c category: 1\)"):
        split(batch, contract, "here")


def test_training_rows_with_nan_infer_a_nullable_column_so_they_keep_their_own_contract():
    training = pa.table({"x": pa.array([1.0, float("nan"), float("inf"), 2.0], from_pandas=False), "z": [1.0, 2.0, 3.0, 4.0]})
    contract = infer(training, ContractConfig())
    assert [rule.nullable for rule in contract.columns] == [True, False]
    assert check(training, contract).counts == {"x": {"finite": 2, "range": 1}}


def test_an_all_null_string_column_and_integers_past_2_to_the_53_are_checked():
    training = pa.table({"s": pa.array([None, None], pa.string()), "big": [2**63 - 1, 2**62]})
    contract = infer(training, ContractConfig(enforce=["category", "range"]))
    assert contract.columns[0].categories == []
    assert check(training, contract).counts == {}
    assert check(pa.table({"s": ["a", None], "big": [-(2**63), 2**62]}), contract).counts == {"s": {"category": 1}, "big": {"range": 1}}


def test_nan_and_inf_are_counted_as_finite_and_enforceable(training, tmp_path):
    contract = infer(training, ContractConfig(policy="quarantine", enforce=["type", "finite"]))
    assert "finite" in Contract.from_json(contract.to_json(), "here").enforce
    half_nan = [float("nan")] * 3 + [1.0] * 3
    batch = pa.table({"x": [1.0, float("inf"), float("-inf"), None, 2.0, 3.0], "n": [1] * 6, "c": ["a"] * 6, "y": half_nan})
    checked = check(batch, contract)
    assert checked.counts == {"x": {"nullable": 1, "finite": 2, "range": 2}, "y": {"finite": 3}}, "+-inf is out of range too"
    assert checked.bad.tolist() == [True, True, True, False, False, False]
    good = enforce_batch(batch, contract, str(tmp_path), "batch")
    assert good.column("x").to_pylist() == [None, 2.0, 3.0]
    enforce_batch(batch.slice(0, 2), contract, str(tmp_path), "batch")
    assert report(tmp_path)["violations"] == {"x": {"nullable": 1, "finite": 3, "range": 3}, "y": {"finite": 5}}
    assert report(tmp_path)["quarantined_rows"] == 5
    strict = Contract(contract.columns, enforce=["finite"])
    with pytest.raises(ContractError, match=r"here: 3 of 6 rows break the model's data contract \(x nullable: 1, x finite: 2, x range: 2, y finite: 3\)"):
        split(batch, strict, "here")


def test_quarantine_splits_rows_and_a_wrong_type_always_fails(training):
    contract = infer(training, ContractConfig(range_margin=0.0, policy="quarantine", enforce=["type", "range"]))
    good, bad, _ = split(pa.table({"x": [1.0, 50.0], "n": [1, 2], "c": ["a", "a"], "y": [1.0, 2.0]}), contract, "batch")
    assert good.column("x").to_pylist() == [1.0] and bad.column("x").to_pylist() == [50.0]
    with pytest.raises(ContractError, match="x type: 1"):
        split(pa.table({"x": ["1.0"], "n": [1], "c": ["a"], "y": [1.0]}), contract, "batch")
    with pytest.raises(ContractError, match="c type: 1"):
        split(pa.table({"x": [1.0], "n": [1], "y": [1.0]}), contract, "batch")


def test_bad_contracts_are_one_line(tmp_path):
    with pytest.raises(LaunchbayError, match=r"contract.policy must be one of \['fail', 'quarantine'\], got 'drop'"):
        Contract([], policy="drop")
    with pytest.raises(LaunchbayError, match=r"contract.enforce has unknown checks \['shape'\]"):
        Contract([], enforce=["shape"])
    corrupt = tmp_path / "contract.json"
    corrupt.write_text('{"columns": [{"name": "x", "knd": "float"}]}')
    with pytest.raises(LaunchbayError, match=rf"contract.path {corrupt}: not a valid contract \(TypeError"):
        Contract.from_file(str(corrupt))
    with pytest.raises(LaunchbayError, match="contract.path: no such file"):
        Contract.from_file(str(tmp_path / "missing.json"))


@pytest.fixture(scope="module")
def strict_model(ray_session, tmp_path_factory):
    """A model whose contract enforces categories, so the drifted batch's new categories break it."""
    home = tmp_path_factory.mktemp("contract")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        launchbay.run(["job=train", *SMALL, "contract.enforce=[type,category]", "contract.policy=quarantine"])
    return home


def test_scoring_quarantines_bad_rows(strict_model, monkeypatch):
    monkeypatch.chdir(strict_model)
    summary = launchbay.run(["job=pipeline", *SMALL])
    run_dir = strict_model / summary["run_dir"]
    quarantined = pq.read_table(run_dir / "quarantine")
    assert summary["contract"]["quarantined_rows"] == quarantined.num_rows > 0
    assert summary["contract"]["violations"]["cat_0"]["category"] == quarantined.num_rows
    assert set(quarantined.column("cat_0").to_pylist()) <= {"new0", "new1"}
    assert summary["scores"]["rows"] + quarantined.num_rows == 2000


def test_scoring_fails_on_bad_rows_when_the_contract_says_so(ray_session, in_tmp):
    launchbay.run(["job=train", *SMALL, "contract.enforce=[nullable]"])
    with pytest.raises(LaunchbayError) as failed:
        launchbay.run(["job=score", *SMALL])
    assert "rows break the model's data contract (num_0 nullable" in str(failed.value) + str(failed.value.__cause__)
    assert not list(in_tmp.glob("runs/*/*-score/scores"))


def test_training_data_is_checked_against_a_given_contract(ray_session, in_tmp):
    contract = Contract(
        [ColumnRule("num_2", "float", nullable=False, min=-1.0, max=6.0)], policy="quarantine", enforce=["type", "range"]
    )
    (in_tmp / "contract.json").write_text(contract.to_json())
    summary = launchbay.run(["job=train", *SMALL, "contract.path=contract.json"])
    kept = summary["contract"]["quarantined_rows"]
    assert 0 < kept < 3000 and summary["contract"]["violations"] == {"num_2": {"range": kept}}
    version = Registry(".launchbay/registry").get("demo")
    assert version.load_contract() == contract and version.meta["data"]["rows"] == 3000 - kept
    assert json.loads(version.read_text("contract.json"))["policy"] == "quarantine"


def test_a_batch_checked_again_under_its_name_is_counted_once_and_a_failed_pass_is_discarded(tmp_path):
    contract = Contract([ColumnRule("x", "float", nullable=False, min=0.0, max=1.0)], policy="quarantine", enforce=["range"])
    batch = pa.table({"x": [0.5, 2.0, 3.0]})
    for _ in range(2):  # a piece run again after its worker died
        enforce_batch(batch, contract, str(tmp_path), "batch", "pass-a-00000-00000")
    assert report(tmp_path)["violations"] == {"x": {"range": 2}} and report(tmp_path)["quarantined_rows"] == 2
    enforce_batch(batch, contract, str(tmp_path), "training", "training")
    discard(tmp_path, "pass-a")
    assert [p.name for p in (tmp_path / "quarantine").iterdir()] == ["training.parquet"]
    assert [p.name for p in (tmp_path / "contract").iterdir()] == ["training.json"]


numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -0.0, 1e300, -1e300, 2.0**53 + 1]),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(numbers, max_size=60),
    chunks=st.integers(1, 3),
    dtype=st.sampled_from([pa.float32(), pa.float64(), pa.int64(), pa.int32()]),
    bounds=st.one_of(st.none(), st.tuples(st.floats(-10, 10), st.floats(0, 20)), st.tuples(st.none(), st.floats(0, 20))),
    nullable=st.booleans(),
    enforce=st.sampled_from([["type"], ["range"], ["nullable", "finite"], list(CHECKS)]),
)
def test_one_pass_counts_equal_the_row_masks(values, chunks, dtype, bounds, nullable, enforce):
    """The counting pass over a numeric column gives exactly the rows the masks mark, and the rows
    an enforced check breaks, over nulls, NaN, infinities, huge values and chunked columns."""
    if pa.types.is_integer(dtype):
        fits = 2.0**31 - 1 if dtype == pa.int32() else 1e15
        values = [None if v is None or not math.isfinite(v) or abs(v) > fits else int(v) for v in values]
    cut = sorted({0, len(values), *(len(values) * k // chunks for k in range(1, chunks))})
    column = pa.chunked_array([pa.array(values[a:b], dtype) for a, b in zip(cut, cut[1:])], dtype)
    low, high = bounds if bounds is not None else (None, None)
    rule = ColumnRule("x", "float", nullable=nullable, min=low, max=None if high is None or low is None else low + high)
    table = pa.table({"x": column})
    checked = check(table, Contract([rule], enforce=enforce))
    masks = _violations(table, rule)
    assert checked.counts == ({"x": {k: int(m.sum()) for k, m in masks.items() if m.sum()}} if any(m.any() for m in masks.values()) else {})
    expected = np.zeros(len(values), bool)
    for name in enforce:
        expected |= masks.get(name, np.zeros(len(values), bool))
    assert np.array_equal(checked.bad, expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 3), max_size=200), st.booleans())
def test_repeated_ids_are_counted_as_numpy_unique_counts_them(ids, ordered):
    keys = np.array(sorted(ids) if ordered else ids, np.int64).view(np.uint64)
    assert repeats(keys) == keys.size - np.unique(keys).size
    column = pa.chunked_array([pa.array(ids[:3], pa.int64()), pa.array([*ids[3:], None], pa.int64())]).dictionary_encode()
    assert repeats(id_keys(column)) == len(ids) - len(set(ids))
