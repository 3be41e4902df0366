"""A synthetic tabular dataset with a binary label and controllable drift.

Rows are generated in chunks of ``chunk_rows``, each from its own random stream
``(seed, chunk index)``, so a dataset is the same whatever the number of blocks
or workers. The label depends on the features through a fixed logistic model, so
a model trained on one seed scores well on another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from launchbay.data.files import fragments_dataset
from launchbay.errors import LaunchbayError

# The "true" world every seed shares: feature locations, scales and label weights.
_WORLD = np.random.default_rng(20261125)
_MAX_FEATURES = 64
_LOC = _WORLD.normal(0, 3, _MAX_FEATURES)
_SCALE = _WORLD.uniform(0.5, 2.0, _MAX_FEATURES)
_WEIGHT = _WORLD.normal(0, 1, _MAX_FEATURES)
_CATEGORY_EFFECT = _WORLD.normal(0, 0.7, 256)


@dataclass
class DriftSpec:
    """Drift injected into the generated rows (all zero: no drift)."""

    features: list[str] = field(default_factory=lambda: ["num_0", "num_1", "cat_0"])
    mean_shift: float = 0.0  # numeric: shift in units of the feature's standard deviation
    scale: float = 1.0  # numeric: multiply the spread around the mean
    new_categories: int = 0  # categorical: this many unseen categories take over 20% of rows
    missing_rate: float = 0.0  # share of values set to null in the drifted features
    # False: the label follows the numeric features as they were before the shift (what they mean
    # changes); True: it follows the shifted values (covariate shift: the label given the features stays).
    covariate: bool = False


@dataclass
class SyntheticConfig:
    """Numeric features ``num_*`` (one in four log-normal), categorical ``cat_*``, a ``label`` (and a ``group``)."""

    rows: int = 20_000
    numeric: int = 8
    categorical: int = 3
    categories: int = 6
    seed: int = 0
    chunk_rows: int = 50_000
    groups: int = 0  # > 0: a column "group" of this many values (g0, g1, ...), related to num_0: not a feature, for fairness.groups
    drift: DriftSpec = field(default_factory=DriftSpec)

    def __post_init__(self) -> None:
        check(self)


def check(cfg: SyntheticConfig) -> None:
    """Reject settings that cannot make a dataset, naming the setting."""
    if cfg.rows <= 0:
        raise LaunchbayError(f"rows must be positive, got {cfg.rows}")
    if cfg.chunk_rows <= 0:
        raise LaunchbayError(f"chunk_rows must be positive, got {cfg.chunk_rows}")
    if not 1 <= cfg.numeric <= _MAX_FEATURES:
        raise LaunchbayError(f"numeric must be between 1 and {_MAX_FEATURES}, got {cfg.numeric}")
    if not 0 <= cfg.groups <= 26:
        raise LaunchbayError(f"groups must be between 0 and 26, got {cfg.groups}")
    if cfg.categorical < 0 or not 1 <= cfg.categories <= 200:
        raise LaunchbayError("categorical must be >= 0 and categories between 1 and 200")
    if not 0.0 <= cfg.drift.missing_rate < 1.0:
        raise LaunchbayError(f"drift.missing_rate must be in [0, 1), got {cfg.drift.missing_rate}")
    known = {f"num_{i}" for i in range(cfg.numeric)} | {f"cat_{i}" for i in range(cfg.categorical)}
    unknown = sorted(set(cfg.drift.features) - known)
    if unknown and (cfg.drift.mean_shift or cfg.drift.scale != 1 or cfg.drift.new_categories or cfg.drift.missing_rate):
        raise LaunchbayError(f"drift.features names unknown columns {unknown} (have {sorted(known)})")


def generate(cfg: SyntheticConfig, chunk: int) -> pa.Table:
    """Rows ``[chunk * chunk_rows, ...)`` of the dataset as an Arrow table.

    Every column draws from its own random stream, so drift injected into one
    feature leaves the others exactly as they were.
    """
    start = chunk * cfg.chunk_rows
    n = min(cfg.chunk_rows, cfg.rows - start)

    def stream(column: int, purpose: int = 0) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, chunk, column, purpose])

    drift = cfg.drift
    columns: dict[str, pa.Array] = {"row_id": pa.array(np.arange(start, start + n, dtype=np.int64))}
    logit = np.zeros(n)
    for i in range(cfg.numeric):
        name = f"num_{i}"
        z = stream(i).standard_normal(n)
        if not drift.covariate:
            logit += _WEIGHT[i] * z
        if name in drift.features:
            z = z * drift.scale + drift.mean_shift
        if drift.covariate:
            logit += _WEIGHT[i] * z
        values = np.exp(0.5 * z) if i % 4 == 3 else _LOC[i] + _SCALE[i] * z
        columns[name] = _with_nulls(pa.array(values), name, drift, stream(i, 1))
    for j in range(cfg.categorical):
        name, k = f"cat_{j}", _MAX_FEATURES + j
        codes = stream(k).zipf(1.6, n) % cfg.categories
        logit += _CATEGORY_EFFECT[(j * 31 + codes) % 256]
        labels = np.array([f"c{c}" for c in range(cfg.categories)], dtype=object)[codes]
        if name in drift.features and drift.new_categories:
            rng = stream(k, 2)
            unseen = rng.random(n) < 0.2
            labels[unseen] = [f"new{c}" for c in rng.integers(0, drift.new_categories, unseen.sum())]
        columns[name] = _with_nulls(pa.array(labels, pa.string()), name, drift, stream(k, 1))
    if cfg.groups:  # num_0 (its draw, before any drift) differs by group: a model of it selects groups at different rates
        first = stream(0).standard_normal(n)
        codes = np.clip(np.floor((first + stream(3 * _MAX_FEATURES).normal(0, 1, n)) / 1.5 + cfg.groups / 2), 0, cfg.groups - 1)
        columns["group"] = pa.array(np.array([f"g{c}" for c in range(cfg.groups)], dtype=object)[codes.astype(np.int64)], pa.string())
    p = 1 / (1 + np.exp(-logit))
    columns["label"] = pa.array((stream(2 * _MAX_FEATURES).random(n) < p).astype(np.int64))
    return pa.table(columns)


def _with_nulls(values: pa.Array, name: str, drift: DriftSpec, rng: np.random.Generator) -> pa.Array:
    if name not in drift.features or drift.missing_rate == 0:
        return values
    mask = pa.array(rng.random(len(values)) < drift.missing_rate)
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def chunk(cfg: SyntheticConfig, index: int) -> Iterator[pa.Table]:
    yield generate(cfg, index)


def fragments(cfg: SyntheticConfig) -> list:
    """One fragment per chunk of ``chunk_rows`` rows."""
    return [partial(chunk, cfg, i) for i in range(-(-cfg.rows // cfg.chunk_rows))]


def read(cfg: SyntheticConfig):
    """A Ray Dataset of the synthetic rows, one generation task per chunk."""
    return fragments_dataset(fragments(cfg))
