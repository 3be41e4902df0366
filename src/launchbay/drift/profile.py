"""Mergeable profiles: what drift metrics compare.

A reference profile fixes, per feature, the bin edges (numeric, from reference
quantiles) or the categories (categorical). A profile of current data counts over the
same bins and categories, so profiles of blocks add up: ``merge`` is exact whatever the
split for counts, min and max (the mean and variance agree to float rounding).

Numeric features get two sets of bins from one pass: fine bins (about ``fine_bins``
reference quantiles, for sketch-mode KS and Wasserstein) and coarse bins (``bins``
quantiles, a subset of the fine edges, for psi, jensen_shannon, hellinger, kl, chi2).
A numeric column with few distinct values gets one bin per value. NaN is missing, like
null; +-inf is counted apart; neither enters a distribution.

In exact mode a numeric profile also keeps its sorted finite values (8 bytes a value,
in memory and in JSON), so KS and Wasserstein equal scipy's. A current profile drops
them once a merge passes ``exact_limit`` values, the same way whatever the split.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from concurrent.futures import ThreadPoolExecutor
from functools import cache, cached_property, reduce
from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay.drift.config import MonitorConfig
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import pyarrow as pa

    from launchbay.drift.kernels import BinLookup

NUMERIC = "numeric"
CATEGORICAL = "categorical"
OTHER = "(other)"
FORMAT_VERSION = 1
# Reference values sampled per fine bin to place the fine edges.
SAMPLE_PER_FINE_BIN = 8
# Grid cells per fine edge in the O(1) bin lookup.
CELLS_PER_EDGE = 4
# Strings counted by numba up to this many distinct values per block (pyarrow beyond).
MAX_DISTINCT_STRINGS = 1024
# Categorical chunks longer than this are counted in pieces, one per thread.
ROWS_PER_PIECE = 1 << 16
# The default selection's cut between few and many distinct values.
FEW_VALUES = 5
UNLIMITED = 1 << 62


@dataclass
class FeatureProfile:
    """Mergeable sketch of one feature."""

    name: str
    kind: str
    rows: int = 0  # values seen, missing included
    null_count: int = 0  # null or NaN
    inf_count: int = 0  # +-inf (numeric only)
    epsilon: float = 1e-4  # share used for an empty bin by psi and kl
    # numeric
    edges: np.ndarray | None = None  # fine inner edges: bin k holds edges[k-1] <= v < edges[k]
    coarse_starts: np.ndarray | None = None  # first fine bin of each coarse bin
    counts: np.ndarray | None = None  # fine bin counts, len(edges) + 1
    min: float = math.inf
    max: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    center: float = 0.0  # subtracted before summing, for a well conditioned variance
    distinct: int = 0  # distinct finite reference values in the edge sample; exact up to FEW_VALUES
    values: np.ndarray | None = None  # exact mode: sorted finite values
    exact_limit: int = 0  # values are kept while the count stays at or below this
    # categorical
    categories: list[str] | None = None  # reference categories by name
    category_counts: np.ndarray | None = None  # per category, then the "other" bucket
    truncated: bool = False  # the reference had more than max_categories: new values go to "other"
    unseen: dict[str, int] = field(default_factory=dict)  # categories the reference never had
    unseen_overflow: bool = False  # more unseen categories than max_categories: all in "other"
    max_categories: int = 0

    @property
    def count(self) -> int:
        """Values that enter the distribution (finite numbers or non-null categories)."""
        if self.kind == NUMERIC:
            return int(self.counts.sum())
        return int(self.category_counts.sum()) + sum(self.unseen.values())

    @property
    def missing_share(self) -> float:
        """Share of null or NaN values."""
        return self.null_count / self.rows if self.rows else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0) of the finite values."""
        n = self.count
        return math.sqrt(max(self.m2, 0.0) / n) if n else 0.0

    @property
    def coarse_counts(self) -> np.ndarray:
        """Counts over the coarse bins (numeric)."""
        return np.add.reduceat(self.counts, self.coarse_starts)

    @property
    def coarse_edges(self) -> np.ndarray:
        """Inner edges of the coarse bins (numeric)."""
        return self.edges[self.coarse_starts[1:] - 1]

    @cached_property
    def lookup(self) -> BinLookup:
        """The O(1) fine-bin lookup (numeric); built on first use, never serialized."""
        from launchbay.drift.kernels import bin_lookup

        return bin_lookup(self.edges, CELLS_PER_EDGE)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the lookup: it is larger than the counts and rebuilt where needed."""
        return {k: v for k, v in self.__dict__.items() if k != "lookup"}

    def histogram(self) -> tuple[list[str], np.ndarray]:
        """Labels and counts of the coarse bins (numeric) or the categories, for plots."""
        if self.kind == NUMERIC:
            bounds = [self.min, *self.coarse_edges.tolist(), self.max]
            labels = [f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(bounds, bounds[1:])]
            return labels, self.coarse_counts
        unseen = np.array(list(self.unseen.values()), np.int64)
        return [*self.categories, OTHER, *self.unseen], np.concatenate([self.category_counts, unseen])

    def empty(self) -> FeatureProfile:
        """A profile over this one's bins or categories with nothing counted."""
        blank = replace(self, rows=0, null_count=0, inf_count=0, min=math.inf, max=-math.inf, mean=0.0, m2=0.0)
        blank.unseen, blank.unseen_overflow = {}, False
        if self.kind == NUMERIC:
            blank.counts = np.zeros_like(self.counts)
            blank.values = None if self.values is None else np.empty(0)
            if "lookup" in self.__dict__:
                blank.__dict__["lookup"] = self.lookup
        else:
            blank.category_counts = np.zeros_like(self.category_counts)
        return blank

    def merge(self, other: FeatureProfile) -> FeatureProfile:
        """The profile of both inputs together; both must come from one reference."""
        self._check_compatible(other)
        out = self.empty()
        out.rows = self.rows + other.rows
        out.null_count = self.null_count + other.null_count
        out.inf_count = self.inf_count + other.inf_count
        if self.kind == NUMERIC:
            out.counts = self.counts + other.counts
            out.min, out.max = min(self.min, other.min), max(self.max, other.max)
            out.mean, out.m2 = _merge_moments((self.count, self.mean, self.m2), (other.count, other.mean, other.m2))
            out.values = _merge_values(self, other)
        else:
            out.category_counts = self.category_counts + other.category_counts
            out.unseen = dict(self.unseen)
            for name, n in other.unseen.items():
                out.unseen[name] = out.unseen.get(name, 0) + n
            out.unseen_overflow = self.unseen_overflow or other.unseen_overflow
            out._cap_unseen()
        return out

    def _check_compatible(self, other: FeatureProfile) -> None:
        if self.kind == NUMERIC:
            same = other.kind == NUMERIC and (self.edges is other.edges or np.array_equal(self.edges, other.edges))
        else:
            same = other.kind == CATEGORICAL and self.categories == other.categories
        if not same:
            raise LaunchbayError(f"feature '{self.name}': profiles of different references cannot be merged")

    def _cap_unseen(self) -> None:
        if self.unseen_overflow or len(self.unseen) > self.max_categories:
            self.category_counts[-1] += sum(self.unseen.values())
            self.unseen = {}
            self.unseen_overflow = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (floats round-trip exactly)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "null_count": self.null_count,
            "inf_count": self.inf_count,
            "epsilon": self.epsilon,
        }
        if self.kind == NUMERIC:
            out.update(
                edges=self.edges.tolist(),
                coarse_starts=self.coarse_starts.tolist(),
                counts=self.counts.tolist(),
                min=repr(self.min) if math.isinf(self.min) else self.min,
                max=repr(self.max) if math.isinf(self.max) else self.max,
                mean=self.mean,
                m2=self.m2,
                center=self.center,
                distinct=self.distinct,
                values=None if self.values is None else self.values.tolist(),
                exact_limit=self.exact_limit,
            )
        else:
            out.update(
                categories=self.categories,
                category_counts=self.category_counts.tolist(),
                truncated=self.truncated,
                unseen=self.unseen,
                unseen_overflow=self.unseen_overflow,
                max_categories=self.max_categories,
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureProfile:
        """Inverse of ``to_dict``."""
        data = dict(data)
        if data["kind"] == NUMERIC:
            data["edges"] = np.array(data["edges"], np.float64)
            data["coarse_starts"] = np.array(data["coarse_starts"], np.int64)
            data["counts"] = np.array(data["counts"], np.int64)
            data["min"], data["max"] = float(data["min"]), float(data["max"])
            if data["values"] is not None:
                data["values"] = np.array(data["values"], np.float64)
        else:
            data["category_counts"] = np.array(data["category_counts"], np.int64)
        return cls(**data)


@dataclass
class DatasetProfile:
    """Profiles of every monitored feature of a dataset, by name."""

    features: dict[str, FeatureProfile]
    rows: int = 0

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """The profile of both datasets together."""
        return merge(self, other)

    def empty(self) -> DatasetProfile:
        """A profile over the same bins and categories with nothing counted."""
        return DatasetProfile({name: f.empty() for name, f in self.features.items()}, rows=0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "format": FORMAT_VERSION,
            "rows": self.rows,
            "features": [f.to_dict() for f in self.features.values()],
        }

    def to_json(self) -> str:
        """JSON text; ``from_json`` reads it back exactly."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        """Inverse of ``to_dict``."""
        if data.get("format") != FORMAT_VERSION:
            raise LaunchbayError(f"drift profile format {data.get('format')} is not supported (expected {FORMAT_VERSION})")
        features = [FeatureProfile.from_dict(f) for f in data["features"]]
        return cls({f.name: f for f in features}, rows=data["rows"])

    @classmethod
    def from_json(cls, text: str) -> DatasetProfile:
        """Read a profile written by ``to_json``."""
        return cls.from_dict(json.loads(text))


def merge(a: DatasetProfile, b: DatasetProfile) -> DatasetProfile:
    """Add two profiles of the same reference; associative and exact for counts."""
    if a.features.keys() != b.features.keys():
        raise LaunchbayError("profiles with different features cannot be merged")
    return DatasetProfile({name: f.merge(b.features[name]) for name, f in a.features.items()}, rows=a.rows + b.rows)


def as_arrow(data: Any, role: str) -> pa.Table:
    """A pyarrow Table from a Table, RecordBatch or pandas DataFrame."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise LaunchbayError(f"the {role} data is a {type(data).__name__}; expected a pandas DataFrame or a pyarrow Table")


def build_reference(table: Any, config: MonitorConfig | None = None, *, device: str | None = None) -> DatasetProfile:
    """Profile reference data: edges from its quantiles, categories from its counts."""
    config = config or MonitorConfig()
    table = as_arrow(table, "reference")
    if table.num_rows == 0:
        raise LaunchbayError("the reference data is empty")
    limit = exact_limit(config, table.num_rows)
    kinds = feature_kinds(table.schema, config)
    categorical = [name for name, kind in kinds.items() if kind == CATEGORICAL]
    found = dict(zip(categorical, category_counts([table.column(name) for name in categorical])))
    features, numeric = {}, {}
    for name, kind in kinds.items():
        if kind == NUMERIC:
            numeric[name] = _numeric_values(table.column(name), name)
            features[name] = _numeric_skeleton(name, numeric[name], config, limit)
        else:
            features[name] = categorical_profile(name, *found[name], config)
            if features[name].count == 0:
                raise LaunchbayError(f"feature '{name}' has no values in the reference data (all missing)")
    counted = _count_numeric(features, {name: [x] for name, x in numeric.items()}, device or config.device)
    return DatasetProfile({name: counted.get(name, f) for name, f in features.items()}, rows=table.num_rows)


def sketch(table: Any, reference: DatasetProfile, *, device: str = "auto") -> DatasetProfile:
    """Count a table (or one block of a dataset) over the reference's bins and categories."""
    table = as_arrow(table, "current")
    for name in reference.features:
        if name not in table.column_names:
            raise LaunchbayError(f"feature '{name}' is missing from the current data")
    numeric = {
        name: [as_counted(chunk, name) for chunk in table.column(name).chunks]
        for name, ref in reference.features.items()
        if ref.kind == NUMERIC
    }
    counted = _count_numeric(reference.features, numeric, device)
    categorical = [name for name in reference.features if name not in counted]
    for name, (found, nulls) in zip(categorical, category_counts([table.column(name) for name in categorical])):
        counted[name] = _categorical_part(reference.features[name], table.num_rows, found, nulls)
    return DatasetProfile({name: counted[name] for name in reference.features}, rows=table.num_rows)


def feature_kinds(schema: pa.Schema, config: MonitorConfig) -> dict[str, str]:
    """Monitored columns and whether each is numeric or categorical."""
    import pyarrow as pa

    categorical = config.categorical
    for name in [*(categorical or []), *config.features]:
        if name not in schema.names:
            raise LaunchbayError(f"feature '{name}' named in the monitor config is not in the reference data")
    kinds = {}
    for column in schema:
        if column.name in config.exclude:
            continue
        t = column.type
        if categorical is not None:
            is_categorical = column.name in categorical
        else:
            is_categorical = (
                pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t) or pa.types.is_boolean(t)
            )
        if not is_categorical and not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
            raise LaunchbayError(
                f"feature '{column.name}' has type {t}, which is not numeric: "
                "list it in monitor.categorical or monitor.exclude"
            )
        kinds[column.name] = CATEGORICAL if is_categorical else NUMERIC
    return kinds


def as_float64(chunk: pa.Array, name: str) -> np.ndarray:
    """A float64 numpy array with NaN for nulls (zero-copy for float64 without nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    if chunk.type != pa.float64():
        try:
            chunk = pc.cast(chunk, pa.float64())
        except pa.ArrowInvalid as exc:
            raise LaunchbayError(f"feature '{name}' is not numeric in the current data ({chunk.type})") from exc
    if chunk.null_count:
        chunk = pc.fill_null(chunk, math.nan)
    return chunk.to_numpy(zero_copy_only=False)


def as_counted(chunk: pa.Array, name: str) -> np.ndarray:
    """What the counting pass reads: float32 as it is (half the bytes, no copy without
    nulls), anything else as ``as_float64``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if chunk.type != pa.float32():
        return as_float64(chunk, name)
    return (pc.fill_null(chunk, math.nan) if chunk.null_count else chunk).to_numpy(zero_copy_only=False)


def _numeric_values(column: pa.ChunkedArray, name: str) -> np.ndarray:
    chunks = [as_float64(chunk, name) for chunk in column.chunks]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _numeric_skeleton(name: str, x: np.ndarray, config: MonitorConfig, limit: int) -> FeatureProfile:
    sample = _edge_sample(x, SAMPLE_PER_FINE_BIN * config.fine_bins)
    if sample.size == 0:
        raise LaunchbayError(f"feature '{name}' has no values in the reference data (all missing)")
    return numeric_skeleton(name, sample, config, limit, _distinct_count(x, sorted_unique(sample)))


def numeric_skeleton(name: str, sample: np.ndarray, config: MonitorConfig, limit: int, distinct: int) -> FeatureProfile:
    """An empty numeric reference profile with edges from a sorted sample of finite values."""
    fine, coarse = _edges(sample, sorted_unique(sample), config)
    return FeatureProfile(
        name,
        NUMERIC,
        epsilon=config.psi_epsilon,
        edges=fine,
        coarse_starts=np.concatenate([[0], np.searchsorted(fine, coarse) + 1]).astype(np.int64),
        counts=np.zeros(fine.size + 1, np.int64),
        center=float(sample[sample.size // 2]),
        distinct=distinct,
        values=np.empty(0) if limit else None,
        exact_limit=limit,
    )


def exact_limit(config: MonitorConfig, reference_rows: int) -> int:
    """Values a profile keeps for exact KS and Wasserstein (0: sketch only)."""
    if config.mode not in ("exact", "sketch", "auto"):
        raise LaunchbayError(f"monitor.mode must be exact, sketch or auto, got '{config.mode}'")
    if config.mode == "exact":
        return UNLIMITED
    return config.exact_max_rows if config.mode == "auto" and reference_rows <= config.exact_max_rows else 0


def _edge_sample(x: np.ndarray, size: int) -> np.ndarray:
    """A sorted sample of the finite values (all of them when there are few), seeded."""
    if x.size > size:
        drawn = x[np.random.default_rng(0).integers(0, x.size, size)]
        drawn = drawn[np.isfinite(drawn)]
        if drawn.size:
            return np.sort(drawn)
    return np.sort(x[np.isfinite(x)])


def _edges(sample: np.ndarray, distinct: np.ndarray, config: MonitorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fine and coarse inner edges; every coarse edge is also a fine edge."""
    if distinct.size == 1:
        return distinct, distinct
    coarse = distinct[1:] if distinct.size <= config.bins else _quantiles(sample, config.bins)
    if distinct.size <= config.fine_bins:
        fine = distinct[1:]
        coarse = coarse[coarse > distinct[0]]
    else:
        fine = np.union1d(_quantiles(sample, config.fine_bins), coarse)
    return fine, coarse


def _quantiles(sorted_sample: np.ndarray, bins: int) -> np.ndarray:
    """Distinct inner quantile edges of a sorted sample (values of the sample)."""
    return sorted_unique(sorted_sample[(np.arange(1, bins) * sorted_sample.size) // bins])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an already sorted array, in one linear pass."""
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values


def _distinct_count(x: np.ndarray, sampled: np.ndarray) -> int:
    """Distinct finite values: exact when the sample shows few, else the sample's count."""
    if sampled.size > FEW_VALUES:
        return int(sampled.size)
    rest = x[~np.isin(x, sampled) & np.isfinite(x)]
    return int(sampled.size + np.unique(rest).size)


def _count_numeric(
    refs: dict[str, FeatureProfile], columns: dict[str, list[np.ndarray]], device: str
) -> dict[str, FeatureProfile]:
    """Profiles of float64 or float32 arrays (the chunks of each named column) over ``refs``' bins:
    one counting pass for all of them."""
    from launchbay.drift.device import count_arrays

    names = [name for name, arrays in columns.items() for _ in arrays]
    arrays = [x for arrays in columns.values() for x in arrays]
    counted = count_arrays(arrays, [refs[n].lookup for n in names], [refs[n].center for n in names], device)
    out: dict[str, FeatureProfile] = {}
    for name, x, (counts, stats) in zip(names, arrays, counted):
        part = _numeric_part(refs[name], x, counts, stats)
        out[name] = out[name].merge(part) if name in out else part
    return {name: out.get(name) or refs[name].empty() for name in columns}


def _numeric_part(ref: FeatureProfile, x: np.ndarray, counts: np.ndarray, stats: np.ndarray) -> FeatureProfile:
    """The profile of ``x`` from its bin counts and per-chunk statistics."""
    from launchbay.drift.kernels import COUNT, INFS, MAX, MIN, NULLS, SHIFTED_SUM, SHIFTED_SUMSQ

    part = ref.empty()
    part.rows = x.size
    part.counts = counts
    part.null_count = int(stats[:, NULLS].sum())
    part.inf_count = int(stats[:, INFS].sum())
    part.min, part.max = float(stats[:, MIN].min()), float(stats[:, MAX].max())
    chunks = []
    for n, s1, s2 in stats[:, [COUNT, SHIFTED_SUM, SHIFTED_SUMSQ]]:
        mean = s1 / n if n else 0.0
        chunks.append((int(n), ref.center + mean, s2 - s1 * mean))
    _, part.mean, part.m2 = reduce(lambda a, b: (a[0] + b[0], *_merge_moments(a, b)), chunks)
    if ref.values is not None:
        part.values = np.sort(x[np.isfinite(x)].astype(np.float64)) if part.count <= ref.exact_limit else None
    return part


def _merge_moments(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[float, float]:
    """Mean and M2 of two parts (Chan et al.)."""
    (na, mean_a, m2_a), (nb, mean_b, m2_b) = a, b
    if nb == 0:
        return mean_a, m2_a
    if na == 0:
        return mean_b, m2_b
    n = na + nb
    delta = mean_b - mean_a
    return mean_a + delta * nb / n, m2_a + m2_b + delta * delta * na * nb / n


def _merge_values(a: FeatureProfile, b: FeatureProfile) -> np.ndarray | None:
    if a.values is None or b.values is None or a.count + b.count > a.exact_limit:
        return None
    return np.sort(np.concatenate([a.values, b.values]), kind="stable")


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


def categorical_profile(name: str, found: dict[str, int], nulls: int, config: MonitorConfig) -> FeatureProfile:
    """A categorical reference profile from its category counts and null count."""
    ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
    kept = ranked[: config.max_categories]
    other = sum(n for _, n in ranked[config.max_categories :])
    return FeatureProfile(
        name,
        CATEGORICAL,
        rows=sum(found.values()) + nulls,
        null_count=nulls,
        epsilon=config.psi_epsilon,
        categories=[c for c, _ in kept],
        category_counts=np.array([n for _, n in kept] + [other], np.int64),
        truncated=other > 0,
        max_categories=config.max_categories,
    )


def _categorical_part(ref: FeatureProfile, rows: int, found: dict[str, int], nulls: int) -> FeatureProfile:
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
