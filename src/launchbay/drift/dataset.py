"""Profiles of Ray Datasets: a sketch per block, merged as the blocks stream by.

The reference profile goes to the workers once (``ray.put``, JSON text); each block
comes back as a small JSON sketch, and the driver merges them pairwise (a binary-counter
tree reduce that holds log2(blocks) partial profiles). Counts are integers, so the
result is the same to the float on 1 block or 1,000.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay.drift.config import MonitorConfig
from launchbay.drift.profile import (
    NUMERIC,
    SAMPLE_PER_FINE_BIN,
    DatasetProfile,
    as_float64,
    categorical_profile,
    category_counts,
    exact_limit,
    feature_kinds,
    merge,
    numeric_skeleton,
    sketch,
    sorted_unique,
)
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data


def sketch_dataset(ds: ray.data.Dataset, reference: DatasetProfile, *, device: str = "auto") -> DatasetProfile:
    """Profile of a Ray Dataset over the reference's bins and categories, streamed."""
    import pyarrow as pa
    import ray

    columns = _arrow_schema(ds).names
    for name in reference.features:
        if name not in columns:
            raise LaunchbayError(f"feature '{name}' is missing from the current data")
    key = hashlib.sha256(reference.to_json().encode()).hexdigest()
    sketches = ds.select_columns(list(reference.features)).map_batches(
        _sketch_block,
        batch_format="pyarrow",
        batch_size=None,
        zero_copy_batch=True,
        fn_kwargs={"reference": ray.put(reference), "key": key, "device": device},
    )
    profiles = (DatasetProfile.from_json(row["profile"]) for row in sketches.iter_rows())
    return tree_merge(profiles, reference.empty())


def _sketch_block(block: pa.Table, reference: Any, key: str, device: str) -> pa.Table:
    import pyarrow as pa

    return pa.table({"profile": [sketch(block, worker_reference(key, reference), device=device).to_json()]})


_REFERENCES: dict[str, DatasetProfile] = {}


def worker_reference(key: str, reference: Any) -> DatasetProfile:
    """The reference profile ``key`` (an ObjectRef of it, or the profile) in this process,
    fetched once: its bin lookup tables take longer to build than a block takes to count, so
    they outlive a task and a run (the last 4 are kept)."""
    import ray

    if key not in _REFERENCES:
        while len(_REFERENCES) >= 4:
            _REFERENCES.pop(next(iter(_REFERENCES)))
        _REFERENCES[key] = ray.get(reference) if isinstance(reference, ray.ObjectRef) else reference
    return _REFERENCES[key]


def tree_merge(profiles: Iterable[DatasetProfile], empty: DatasetProfile) -> DatasetProfile:
    """Merge a stream of profiles pairwise, like a binary counter: slot k holds 2**k inputs."""
    slots: list[DatasetProfile | None] = []
    for profile in profiles:
        level = 0
        while level < len(slots) and slots[level] is not None:
            profile = merge(slots[level], profile)
            slots[level] = None
            level += 1
        if level == len(slots):
            slots.append(profile)
        else:
            slots[level] = profile
    result = empty
    for profile in slots:
        if profile is not None:
            result = merge(profile, result)
    return result


def build_reference_dataset(ds: ray.data.Dataset, config: MonitorConfig | None = None) -> DatasetProfile:
    """Reference profile of a Ray Dataset in two streamed passes.

    Pass one counts the categories and draws a seeded sample of the numeric values
    (about ``8 * fine_bins`` in all) for the edges; pass two counts the numeric bins.
    Build it once and store it: a stored profile never needs the data again.
    """
    config = config or MonitorConfig()
    kinds = feature_kinds(_arrow_schema(ds), config)
    rows = ds.count()
    if rows == 0:
        raise LaunchbayError("the reference data is empty")
    numeric = [name for name, kind in kinds.items() if kind == NUMERIC]
    categorical = [name for name, kind in kinds.items() if kind != NUMERIC]
    rate = min(1.0, SAMPLE_PER_FINE_BIN * config.fine_bins / rows)
    passes = ds.select_columns(list(kinds)).map_batches(
        _sample_block,
        batch_format="pyarrow",
        batch_size=None,
        zero_copy_batch=True,
        fn_kwargs={"numeric": numeric, "categorical": categorical, "rate": rate},
    )
    samples: dict[str, list[np.ndarray]] = {name: [] for name in numeric}
    found: dict[str, dict[str, int]] = {name: {} for name in categorical}
    nulls = dict.fromkeys(categorical, 0)
    for row in passes.iter_rows():
        part = json.loads(row["part"])
        for name in numeric:
            samples[name].append(np.array(part["samples"][name], np.float64))
        for name in categorical:
            for value, n in part["counts"][name].items():
                found[name][value] = found[name].get(value, 0) + n
            nulls[name] += part["nulls"][name]
    limit = exact_limit(config, rows)
    features = {}
    for name in numeric:
        sample = np.sort(np.concatenate(samples[name]))
        if sample.size == 0:
            raise LaunchbayError(f"feature '{name}' has no values in the reference data (all missing)")
        features[name] = numeric_skeleton(name, sample, config, limit, int(sorted_unique(sample).size))
    counted = sketch_dataset(ds, DatasetProfile(features), device=config.device) if numeric else None
    for name in kinds:
        if name in found:
            features[name] = categorical_profile(name, found[name], nulls[name], config)
            if features[name].count == 0:
                raise LaunchbayError(f"feature '{name}' has no values in the reference data (all missing)")
        else:
            features[name] = counted.features[name]
    return DatasetProfile({name: features[name] for name in kinds}, rows=rows)


def _sample_block(block: pa.Table, numeric: list[str], categorical: list[str], rate: float) -> pa.Table:
    import pyarrow as pa

    keep = np.random.default_rng(0).random(block.num_rows) < rate
    samples = {}
    for name in numeric:
        x = np.concatenate([as_float64(chunk, name) for chunk in block.column(name).chunks] or [np.empty(0)])
        x = x[keep]
        samples[name] = x[np.isfinite(x)].tolist()
    counted = category_counts([block.column(name) for name in categorical])
    counts = {name: found for name, (found, _) in zip(categorical, counted)}
    nulls = {name: n for name, (_, n) in zip(categorical, counted)}
    return pa.table({"part": [json.dumps({"samples": samples, "counts": counts, "nulls": nulls})]})


def _arrow_schema(ds: ray.data.Dataset) -> pa.Schema:
    import pyarrow as pa

    schema = ds.schema()
    if schema is None:
        raise LaunchbayError("the dataset has no schema (no blocks)")
    base = getattr(schema, "base_schema", schema)
    return base if isinstance(base, pa.Schema) else pa.schema(list(zip(schema.names, schema.types)))
