"""The counting kernels against numpy and pyarrow: bins, statistics and category counts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from drift_data import SHAPES, finite, sample
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbay.drift.counting import MAX_DISTINCT_STRINGS, category_counts
from launchbay.drift.device import count_arrays
from launchbay.drift.kernels import (
    COUNT,
    COUNTED_STEPS,
    INFS,
    MAX,
    MIN,
    NULLS,
    SHIFTED_SUM,
    SHIFTED_SUMSQ,
    TILE,
    bin_lookup,
)


def quantile_edges(x: np.ndarray, bins: int) -> np.ndarray:
    values = np.sort(finite(x))
    return np.unique(values[(np.arange(1, bins) * values.size) // bins])


def expected_counts(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, finite(x), side="right"), minlength=edges.size + 1)


def check(x: np.ndarray, edges: np.ndarray, counts: np.ndarray, sums: np.ndarray, stats: np.ndarray, shift: float) -> None:
    x = x.astype(np.float64)  # float32 input is counted as its exact float64 values
    np.testing.assert_array_equal(counts, expected_counts(edges, x))
    fx = finite(x)
    with np.errstate(over="ignore", invalid="ignore"):  # sums near the float range overflow on both sides
        expected_sums = np.bincount(np.searchsorted(edges, fx, side="right"), fx - shift, edges.size + 1)
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-9, atol=1e-6)
    assert stats[:, NULLS].sum() == np.isnan(x).sum()
    assert stats[:, INFS].sum() == np.isinf(x).sum()
    assert stats[:, COUNT].sum() == fx.size
    assert stats[:, MIN].min() == (fx.min() if fx.size else np.inf)
    assert stats[:, MAX].max() == (fx.max() if fx.size else -np.inf)
    assert stats[:, SHIFTED_SUM].sum() == pytest.approx(np.sum(fx - shift), rel=1e-9, abs=1e-6)
    assert stats[:, SHIFTED_SUMSQ].sum() == pytest.approx(np.sum((fx - shift) ** 2), rel=1e-9, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(SHAPES), st.integers(0, 3 * TILE + 5), st.sampled_from([np.float64, np.float32])),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([5, 100, 2000]),
    st.integers(0, 2**31),
)
def test_one_pass_over_many_arrays_equals_numpy(columns, bins, seed):
    arrays = [sample(shape, n, seed + k).astype(dtype) for k, (shape, n, dtype) in enumerate(columns)]
    reference = sample("normal", 500, seed) if not any(finite(x).size for x in arrays) else np.concatenate(arrays)
    edges = [quantile_edges(x if finite(x).size else reference, bins) for x in arrays]
    edges = [e if e.size else np.array([0.0]) for e in edges]
    shifts = [float(np.median(e)) for e in edges]
    counted = count_arrays(arrays, [bin_lookup(e, 4) for e in edges], shifts, "cpu")
    for x, e, shift, (counts, sums, stats) in zip(arrays, edges, shifts, counted):
        check(x, e, counts, sums, stats, shift)


@pytest.mark.parametrize(("dense", "path"), [(5, "compared"), (50, "bisected")])
def test_values_on_and_next_to_every_edge_land_in_the_right_bin(dense, path):
    edges = np.unique(np.concatenate([[-5.0, -0.0, 1e-300, 1.0], np.linspace(1.0, 1.001, dense), [1e150]]))
    below, above = np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)
    x = np.concatenate([edges, below, above, [0.0, -0.0, np.nan, np.inf, -np.inf, -1e152, 1e152]])
    lookup = bin_lookup(edges, 4)
    # dense edges next to a wide span: the grid stops at its size limit with many edges a cell
    assert 1 < lookup.steps <= COUNTED_STEPS if path == "compared" else lookup.steps > COUNTED_STEPS
    [(counts, sums, stats)] = count_arrays([x], [lookup], [0.0], "cpu")
    check(x, edges, counts, sums, stats, 0.0)


@pytest.mark.parametrize(
    "edges",
    [
        [5e-324, 1e-323],  # a span of subnormals: the grid's scale would overflow
        [0.0, 5e-324, 1e-323, 1.5e-323],
        [-1e308, 1e308, 1.7e308],  # a span past the float range
        [-1.7e308, -1.0, 0.0, 1.0, 1.7e308],
    ],
)
def test_spans_of_subnormals_and_past_the_float_range_land_in_the_right_bin(edges):
    edges = np.array(edges)
    x = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf), [0.0, np.nan, np.inf, -np.inf]])
    [(counts, sums, stats)] = count_arrays([x], [bin_lookup(edges, 4)], [0.0], "cpu")
    np.testing.assert_array_equal(counts, expected_counts(edges, x))
    np.testing.assert_array_equal(sums, np.bincount(np.searchsorted(edges, finite(x), side="right"), finite(x), edges.size + 1))
    assert stats[:, COUNT].sum() == finite(x).size


@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_heavy_tails_and_a_single_edge(chunks, monkeypatch):
    import launchbay.drift.device as device

    monkeypatch.setattr(device, "ROWS_PER_CHUNK", 1)
    monkeypatch.setattr("numba.get_num_threads", lambda: chunks)
    x = np.random.default_rng(chunks).standard_t(0.5, 50_000)
    cases = [(x, quantile_edges(x, 2000)), (x, np.array([0.0])), (np.full(9000, 3.0), np.array([3.0]))]
    counted = count_arrays([c[0] for c in cases], [bin_lookup(c[1], 4) for c in cases], [0.0] * 3, "cpu")
    for (values, edges), (counts, sums, stats) in zip(cases, counted):
        assert stats.shape[0] == chunks
        check(values, edges, counts, sums, stats, 0.0)


def pyarrow_counts(column: pa.ChunkedArray) -> tuple[dict[str, int], int]:
    counted = pc.value_counts(column)
    pairs = list(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()))
    return {str(v): n for v, n in pairs if v is not None}, sum(n for v, n in pairs if v is None)


NAMES = ["", "a", "ab", "abcdefg", "abcdefgh", "abcdefghi", "é€ü", "x" * 40, "x" * 39 + "y", "id_01", "id_02"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=20)), max_size=300),
    st.integers(0, 20),
    st.sampled_from(["string", "large_string", "dictionary", "chunked"]),
)
def test_category_counts_equal_pyarrow_in_order_of_first_appearance(values, cut, kind):
    array = pa.array(values, pa.string()).slice(min(cut, len(values)))
    if kind == "large_string":
        column = pa.chunked_array([array.cast(pa.large_string())])
    elif kind == "dictionary":
        column = pa.chunked_array([pc.dictionary_encode(array)])
    elif kind == "chunked":
        column = pa.chunked_array([array[: len(array) // 2], array[len(array) // 2 :]], pa.string())
    else:
        column = pa.chunked_array([array], pa.string())
    [got] = category_counts([column])
    expected = pyarrow_counts(column)
    assert got == expected
    if kind != "dictionary":
        assert list(got[0]) == list(expected[0])


def test_many_distinct_strings_and_other_types_fall_back_to_pyarrow():
    ids = pa.chunked_array([pa.array([f"id-{i}" for i in range(3 * MAX_DISTINCT_STRINGS)] * 2)])
    columns = [ids, pa.chunked_array([pa.array([True, None, False, True])]), pa.chunked_array([pa.array([3, 1, 3])])]
    assert category_counts(columns) == [pyarrow_counts(column) for column in columns]
