"""Profiles of Ray Datasets: a sketch per block, merged as the blocks stream by.

The reference profile goes to the workers once (``ray.put``, JSON text); each block
comes back as a small JSON sketch, and the driver merges them pairwise (a binary-counter
tree reduce that holds log2(blocks) partial profiles). Counts are integers, so the
result is the same to the float on 1 block or 1,000.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from launchbay.drift.checks import require_features
from launchbay.drift.config import Device
from launchbay.drift.counting import sketch
from launchbay.drift.device import require_cluster_gpu
from launchbay.drift.profile import DatasetProfile, merge
from launchbay.errors import LaunchbayError
from launchbay.runtime import BLOCK_ROWS, require_resources

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# What asks for the resources of drift's own Ray Data stages, in errors.
DRIFT_STAGES = "drift's Ray stages (monitor.num_cpus, num_gpus, memory_mb per task)"


def sketch_dataset(
    ds: ray.data.Dataset, reference: DatasetProfile, *, device: Device = Device.auto, resources: dict[str, Any] | None = None
) -> DatasetProfile:
    """Profile of a Ray Dataset over the reference's bins and categories, streamed; each task
    of the stage asks Ray for ``resources`` (see ``MonitorConfig.stage_resources``)."""
    import ray

    require_features(reference.features, arrow_schema(ds).names)
    resources = resources or {}
    if device == Device.gpu:
        require_cluster_gpu()
    require_resources(resources, DRIFT_STAGES)
    key = hashlib.sha256(reference.to_json().encode()).hexdigest()
    sketches = ds.select_columns(list(reference.features)).map_batches(
        _sketch_block,  # type: ignore[arg-type]  # Ray's stubs do not allow fn_kwargs
        batch_format="pyarrow",
        batch_size=BLOCK_ROWS,
        zero_copy_batch=True,
        fn_kwargs={"reference": ray.put(reference), "key": key, "device": device},
        **resources,
    )
    profiles = (DatasetProfile.from_json(row["profile"]) for row in sketches.iter_rows())
    return tree_merge(profiles, reference.empty())


def _sketch_block(block: pa.Table, reference: Any, key: str, device: Device) -> pa.Table:
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
        while level < len(slots) and (held := slots[level]) is not None:
            profile = merge(held, profile)
            slots[level] = None
            level += 1
        if level == len(slots):
            slots.append(profile)
        else:
            slots[level] = profile
    result = empty
    for partial in slots:
        if partial is not None:
            result = merge(partial, result)
    return result


def arrow_schema(ds: ray.data.Dataset) -> pa.Schema:
    """The schema of a Ray Dataset as a pyarrow Schema."""
    import pyarrow as pa

    schema = ds.schema()
    if schema is None:
        raise LaunchbayError("the dataset has no schema (no blocks)")
    base = getattr(schema, "base_schema", schema)
    return base if isinstance(base, pa.Schema) else pa.schema(list(zip(schema.names, schema.types)))
