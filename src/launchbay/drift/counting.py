"""Counting data over a reference's bins and categories: the numeric pass (through
``device.count_arrays``) and the categories (numba for strings, pyarrow otherwise), each
long column cut into pieces counted side by side on a thread pool.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache, reduce
from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay.drift.checks import require_features
from launchbay.drift.columns import as_arrow, as_counted
from launchbay.drift.config import Device
from launchbay.drift.device import count_arrays
from launchbay.drift.profile import NUMERIC, DatasetProfile, FeatureProfile, exact_values, merge_moments

if TYPE_CHECKING:
    import pyarrow as pa

# Strings counted by numba up to this many distinct values per block (pyarrow beyond).
MAX_DISTINCT_STRINGS = 1024
# Categorical chunks longer than this are counted in pieces, one per thread.
ROWS_PER_PIECE = 1 << 16


def sketch(table: Any, reference: DatasetProfile, *, device: Device = Device.auto) -> DatasetProfile:
    """Count a table (or one block of a dataset) over the reference's bins and categories,
    and its reconstruction errors when the reference has a multivariate part."""
    return Counter(reference, device).add(table).profile()


class Counter:
    """The counts of many tables over one reference, added up as they come (``add``): the bin
    counts, sums and statistics of the numeric features in arrays, so that the profile is
    built once (``profile``), not once per table and merged; equal to merging the sketches of
    the tables (counts exactly; sums and moments to float rounding)."""

    def __init__(self, reference: DatasetProfile, device: Device = Device.auto) -> None:
        self.reference, self.device = reference, device
        self.numeric = {name: NumericCounts(ref) for name, ref in reference.features.items() if ref.kind == NUMERIC}
        self.categorical: dict[str, FeatureProfile] = {}
        self.rows = 0
        self.error_sum = 0.0  # of the multivariate part

    def add(self, table: Any) -> Counter:
        """Count one more table (pyarrow or pandas)."""
        table = as_arrow(table, "current")
        require_features(self.reference.features, table.column_names)
        numeric = {name: [as_counted(chunk, name) for chunk in table.column(name).chunks] for name in self.numeric}
        add_numeric(self.numeric, numeric, self.device)
        categorical = [name for name in self.reference.features if name not in self.numeric]
        for name, (found, nulls) in zip(categorical, category_counts([table.column(name) for name in categorical])):
            part = categorical_part(self.reference.features[name], table.num_rows, found, nulls)
            self.categorical[name] = self.categorical[name].merge(part) if name in self.categorical else part
        multivariate = self.reference.multivariate
        if multivariate is not None:
            self.error_sum += float(multivariate.errors([_whole(numeric[name]) for name in multivariate.features]).sum())
        self.rows += table.num_rows
        return self

    def profile(self) -> DatasetProfile:
        """The profile of every table added."""
        counted = {name: counts.profile() for name, counts in self.numeric.items()} | self.categorical
        multivariate = self.reference.multivariate
        if multivariate is not None:
            multivariate = replace(multivariate, error_sum=self.error_sum, rows=self.rows)
        features = {name: counted.get(name) or ref.empty() for name, ref in self.reference.features.items()}
        return DatasetProfile(features, rows=self.rows, multivariate=multivariate)


def _whole(chunks: list[np.ndarray]) -> np.ndarray:
    """One array of a column's chunks (no copy for one chunk)."""
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks or [np.empty(0)])


class NumericCounts:
    """What the counting pass gave for one numeric feature so far: bin counts and sums added
    up, the statistics of every chunk, and its finite values while they are few enough to keep."""

    def __init__(self, ref: FeatureProfile) -> None:
        self.ref = ref
        self.rows = 0
        self.finite = 0  # values binned
        self.counts: np.ndarray | None = None
        self.sums: np.ndarray | None = None
        self.stats: list[np.ndarray] = []
        self.values: list[np.ndarray] | None = [] if ref.values is not None else None

    def add(self, x: np.ndarray, counts: np.ndarray, sums: np.ndarray, stats: np.ndarray) -> None:
        """Add the kernel's counts, sums and per-chunk statistics of ``x``."""
        from launchbay.drift.kernels import COUNT

        self.rows += x.size
        if self.counts is None or self.sums is None:
            self.counts, self.sums = counts.copy(), sums.copy()
        else:
            self.counts += counts
            self.sums += sums
        self.stats.append(stats)
        self.finite += int(stats[:, COUNT].sum())
        if self.values is not None:
            if self.finite <= self.ref.exact_limit:
                self.values.append(x[np.isfinite(x)].astype(np.float64))
            else:
                self.values = None

    def profile(self) -> FeatureProfile | None:
        """The profile of the values added (None before any)."""
        from launchbay.drift.kernels import COUNT, INFS, MAX, MIN, NEGINFS, NULLS, SHIFTED_SUM, SHIFTED_SUMSQ

        if self.counts is None:
            return None
        ref, stats = self.ref, np.concatenate(self.stats)
        part = ref.empty()
        part.rows = self.rows
        part.counts = self.counts
        part.sums = self.sums
        part.null_count = int(stats[:, NULLS].sum())
        part.inf_count = int(stats[:, INFS].sum())
        part.neginf_count = int(stats[:, NEGINFS].sum())
        part.min, part.max = float(stats[:, MIN].min()), float(stats[:, MAX].max())
        chunks = []
        with np.errstate(over="ignore", invalid="ignore"):  # sums of values near the float range overflow (see metrics)
            for n, s1, s2 in stats[:, [COUNT, SHIFTED_SUM, SHIFTED_SUMSQ]]:
                mean = s1 / n if n else 0.0
                chunks.append((int(n), ref.center + mean, s2 - s1 * mean))
            _, part.mean, part.m2 = reduce(lambda a, b: (a[0] + b[0], *merge_moments(a, b)), chunks)
        part.values = None if self.values is None else exact_values(np.sort(np.concatenate(self.values)), part.count, ref.exact_limit)
        return part


def add_numeric(counts: dict[str, NumericCounts], columns: dict[str, list[np.ndarray]], device: Device) -> None:
    """Count float64 or float32 arrays (the chunks of each named column) into ``counts``: one
    counting pass for all of them."""
    names = [name for name, arrays in columns.items() for _ in arrays]
    arrays = [x for arrays in columns.values() for x in arrays]
    refs = [counts[name].ref for name in names]
    counted = count_arrays(arrays, [ref.lookup for ref in refs], [ref.center for ref in refs], device)
    for name, x, (bins, sums, stats) in zip(names, arrays, counted):
        counts[name].add(x, bins, sums, stats)


def count_numeric(
    refs: dict[str, FeatureProfile], columns: dict[str, list[np.ndarray]], device: Device
) -> dict[str, FeatureProfile]:
    """Profiles of float64 or float32 arrays (the chunks of each named column) over ``refs``' bins:
    one counting pass for all of them."""
    counts = {name: NumericCounts(refs[name]) for name in columns}
    add_numeric(counts, columns, device)
    return {name: counts[name].profile() or refs[name].empty() for name in columns}


def category_counts(columns: list[pa.ChunkedArray]) -> list[tuple[dict[str, int], int]]:
    """Per column: counts per category (as text, in order of first appearance) and nulls.

    Long chunks are cut into one piece per numba thread; all pieces are counted side by side.
    """
    from numba import get_num_threads

    threads = get_num_threads()
    pieces, owners = [], []
    for k, column in enumerate(columns):
        for chunk in column.chunks:
            step = max(ROWS_PER_PIECE, -(-len(chunk) // threads))
            for start in range(0, len(chunk), step):
                pieces.append(chunk.slice(start, step))
                owners.append(k)
    out: list[tuple[dict[str, int], int]] = [({}, 0) for _ in columns]
    run = _thread_pool(threads).map if len(pieces) > 1 else map
    for k, (counted, nulls) in zip(owners, run(_chunk_counts, pieces)):
        found, total = out[k]
        for value, n in counted:
            key = str(value)
            found[key] = found.get(key, 0) + n
        out[k] = found, total + nulls
    return out


@cache
def _thread_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="launchbay-drift")


os.register_at_fork(after_in_child=_thread_pool.cache_clear)  # a forked child has none of the threads


def _chunk_counts(chunk: pa.Array) -> tuple[list[tuple[Any, int]], int]:
    """(value, count) pairs of one Arrow array and its nulls: strings and dictionary
    indices counted by numba, anything else (or very many distinct strings) by pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(chunk.type):
        values = chunk.dictionary.to_pylist()
        indices = chunk.indices.cast(pa.int64()) if chunk.null_count else chunk.indices
        counts = np.bincount(pc.fill_null(indices, len(values)).to_numpy(), minlength=len(values) + 1)
        nulls = int(counts[-1]) + sum(int(n) for v, n in zip(values, counts) if v is None)
        return [(v, int(n)) for v, n in zip(values, counts) if n and v is not None], nulls
    if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
        counted = _string_counts(chunk)
        if counted is not None:
            return counted
    table = pc.value_counts(chunk)
    pairs = list(zip(table.field("values").to_pylist(), table.field("counts").to_pylist()))
    return [(v, n) for v, n in pairs if v is not None], sum(n for v, n in pairs if v is None)


def _string_counts(chunk: pa.Array) -> tuple[list[tuple[str, int]], int] | None:
    """``kernels.count_strings`` over the Arrow buffers, without a copy; None past MAX_DISTINCT_STRINGS."""
    import pyarrow as pa

    from launchbay.drift.kernels import count_strings

    validity, offset_buffer, data_buffer = chunk.buffers()
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offset_buffer, offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    if data.size >= 8:
        words = np.ndarray((8, (data.size - 7) // 8), np.uint64, buffer=data, strides=(1, 8))
    else:
        words = np.zeros((8, 0), np.uint64)
    bitmap = np.frombuffer(validity, np.uint8) if chunk.null_count else np.zeros(0, np.uint8)
    rows, counts, nulls, complete = count_strings(
        offsets, words, data, bitmap, chunk.offset, 2 * MAX_DISTINCT_STRINGS, MAX_DISTINCT_STRINGS
    )
    if not complete:
        return None
    used = np.flatnonzero(rows >= 0)
    used = used[np.argsort(rows[used])]
    starts, ends = offsets[rows[used]], offsets[rows[used] + 1]
    values = [data[a:b].tobytes().decode() for a, b in zip(starts.tolist(), ends.tolist())]
    return list(zip(values, counts[used].tolist())), int(nulls)


def categorical_part(ref: FeatureProfile, rows: int, found: dict[str, int], nulls: int) -> FeatureProfile:
    """The profile of counted categories over ``ref``'s categories (new ones kept apart)."""
    part = ref.empty()
    part.rows = rows
    part.null_count = nulls
    index = {name: i for i, name in enumerate(ref.categories)}
    for value, n in found.items():
        position = index.get(value)
        if position is not None:
            part.category_counts[position] += n
        elif ref.truncated:
            part.category_counts[-1] += n
        else:
            part.unseen[value] = n
    part._cap_unseen()
    return part
