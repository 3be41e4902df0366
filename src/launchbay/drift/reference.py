"""Reference profiles: one builder for in-memory tables and for Ray Datasets.

``ReferenceBuilder.add`` takes the data a block at a time: it counts the categories and
keeps each numeric feature's values. ``finish`` places the edges and counts the bins.
A table is one block whose values are kept whole, so the edges come from a sample of
all of them and ``finish`` counts them itself. A Ray Dataset streams by in two passes:
in the first each block keeps a seeded share of its finite values (about
``SAMPLE_PER_FINE_BIN * fine_bins`` in all) and sends back a small JSON part; the second
counts the numeric bins with ``sketch_dataset``.
The multivariate part (see ``multivariate``) is fitted on the same rows as the edges: all
of a table's, or the sampled rows of a Ray Dataset (whole rows, missing values kept, for
the PCA and its held-out errors), whose second pass then counts every row's error.
Build it once and store it: a stored profile never needs the data again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from launchbay.drift.checks import require_rows, require_values
from launchbay.drift.columns import as_arrow, column_values, feature_kinds
from launchbay.drift.config import Device, MonitorConfig, ValuesMode
from launchbay.drift.counting import category_counts, count_numeric
from launchbay.drift.dataset import DRIFT_STAGES, arrow_schema, sketch_dataset
from launchbay.drift.edges import SAMPLE_PER_FINE_BIN, distinct_count, edge_sample, missed_values, numeric_skeleton, sorted_unique
from launchbay.drift.multivariate import Reconstruction, fit
from launchbay.drift.profile import CATEGORICAL, NUMERIC, DatasetProfile, FeatureProfile
from launchbay.errors import LaunchbayError
from launchbay.runtime import BLOCK_ROWS, ray_resources, require_resources

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

UNLIMITED = 1 << 62


def build_reference(
    table: Any, config: MonitorConfig | None = None, *, device: Device | None = None, outputs: Collection[str] = ()
) -> DatasetProfile:
    """Profile reference data: edges from its quantiles, categories from its counts. ``outputs``: the
    columns a model wrote (its prediction and score), profiled per feature but left out of the multivariate part."""
    config = config or MonitorConfig()
    table = as_arrow(table, "reference")
    builder = ReferenceBuilder(table.schema, table.num_rows, config, device=device, outputs=outputs)
    builder.add(table)
    return builder.finish()


def build_reference_dataset(ds: ray.data.Dataset, config: MonitorConfig | None = None) -> DatasetProfile:
    """Reference profile of a Ray Dataset in two streamed passes (see the module docstring)."""
    config = config or MonitorConfig()
    resources = ray_resources(config.num_cpus, memory_mb=config.memory_mb)  # the first pass counts no bins: no GPU
    require_resources(resources, DRIFT_STAGES)
    builder = ReferenceBuilder(arrow_schema(ds), ds.count(), config, sampled=True)
    parts = ds.select_columns(list(builder.kinds)).map_batches(
        _reference_part,  # type: ignore[arg-type]  # Ray's stubs do not allow fn_args
        batch_format="pyarrow",
        batch_size=BLOCK_ROWS,
        zero_copy_batch=True,
        fn_kwargs={"builder": builder},
        **resources,
    )
    for row in parts.iter_rows():
        builder.add_part(BlockPart.from_json(row["part"]))
    return builder.finish(lambda skeleton: sketch_dataset(ds, skeleton, device=config.device, resources=config.stage_resources()))


def _reference_part(block: pa.Table, builder: ReferenceBuilder) -> pa.Table:
    import pyarrow as pa

    return pa.table({"part": [builder.part(block).to_json()]})


class BlockPart(NamedTuple):
    """What one block adds to a reference: per numeric feature its values (see
    ``ReferenceBuilder.part``), per categorical one its category counts and nulls, and
    with ``sampled`` the sampled rows of the multivariate features (None without)."""

    values: dict[str, np.ndarray]
    categories: dict[str, tuple[dict[str, int], int]]
    rows: np.ndarray | None = None

    def to_json(self) -> str:
        """JSON text (of sampled values); ``from_json`` reads it back exactly."""
        return json.dumps(
            {
                "samples": {name: x.tolist() for name, x in self.values.items()},
                "counts": {name: found for name, (found, _) in self.categories.items()},
                "nulls": {name: nulls for name, (_, nulls) in self.categories.items()},
                "rows": None if self.rows is None else self.rows.tolist(),  # NaN and inf as JSON's extensions
                "width": None if self.rows is None else self.rows.shape[1],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> BlockPart:
        """Inverse of ``to_json``."""
        part = json.loads(text)
        values = {name: np.array(x, np.float64) for name, x in part["samples"].items()}
        rows = None if part["rows"] is None else np.array(part["rows"], np.float64).reshape(-1, part["width"])
        return cls(values, {name: (found, part["nulls"][name]) for name, found in part["counts"].items()}, rows)


class ReferenceBuilder:
    """A reference profile from ``rows`` rows of data with this ``schema``: ``add`` each
    block, then ``finish``.

    ``sampled``: each block keeps only a seeded share of its finite numeric values, for
    the edges, and ``finish`` needs a second pass over the data to count the bins.
    ``outputs``: columns a model wrote, left out of the multivariate part, which watches its inputs.
    """

    def __init__(
        self,
        schema: pa.Schema,
        rows: int,
        config: MonitorConfig,
        *,
        sampled: bool = False,
        device: Device | None = None,
        outputs: Collection[str] = (),
    ) -> None:
        require_rows(rows, "reference")
        self.rows, self.config = rows, config
        self.device = device or config.device
        self.limit = exact_limit(config, rows)
        self.kinds = feature_kinds(schema, config)
        self.rate = min(1.0, SAMPLE_PER_FINE_BIN * config.fine_bins / rows) if sampled else None
        self.numeric = [name for name, kind in self.kinds.items() if kind == NUMERIC]
        self.categorical = [name for name, kind in self.kinds.items() if kind == CATEGORICAL]
        self.values: dict[str, list[np.ndarray]] = {name: [] for name in self.numeric}
        self.found: dict[str, dict[str, int]] = {name: {} for name in self.categorical}
        self.nulls = dict.fromkeys(self.categorical, 0)
        self.inputs = [name for name in self.numeric if name not in outputs]  # the multivariate part's features
        self.multivariate = wants_multivariate(self.inputs, config)
        self.rows_kept: list[np.ndarray] = []
        self.one_bin_per_value: set[str] = set()  # numeric features with a fine bin per sampled value

    def add(self, block: pa.Table) -> None:
        """Take in a block of the reference data."""
        self.add_part(self.part(block))

    def part(self, block: pa.Table) -> BlockPart:
        """What ``block`` adds (computed where the block is): its category counts and its
        numeric values, NaN for missing ones, or with ``sampled`` a seeded share of its finite ones
        and, for the multivariate part, the same share of its rows, missing values kept."""
        counted = category_counts([block.column(name) for name in self.categorical])
        values = {name: column_values(block.column(name), name) for name in self.numeric}
        rows = None
        if self.rate is not None:
            keep = np.random.default_rng(0).random(block.num_rows) < self.rate
            values = {name: x[keep] for name, x in values.items()}
            if self.multivariate:
                rows = np.column_stack([values[name] for name in self.inputs])
            values = {name: x[np.isfinite(x)] for name, x in values.items()}
        return BlockPart(values, dict(zip(self.categorical, counted)), rows)

    def add_part(self, part: BlockPart) -> None:
        """Take in what ``part`` made of a block."""
        for name, x in part.values.items():
            self.values[name].append(x)
        for name, (found, nulls) in part.categories.items():
            total = self.found[name]
            for value, n in found.items():
                total[value] = total.get(value, 0) + n
            self.nulls[name] += nulls
        if part.rows is not None:
            self.rows_kept.append(part.rows)

    def finish(self, count: Callable[[DatasetProfile], DatasetProfile] | None = None) -> DatasetProfile:
        """The reference profile. ``count`` profiles the data over the bins of a profile of
        the numeric skeletons (the second pass, skipped without numeric features); without
        it, the values ``add`` kept are counted."""
        features = {name: self._skeleton(name, kind) for name, kind in self.kinds.items()}
        multivariate = self._reconstruction()
        if count is None:
            counted = count_numeric(features, {name: [self._kept(name)] for name in self.numeric}, self.device)
            missed = [name for name in self.one_bin_per_value if missed_values(counted[name])]
            if missed:  # the edge sample missed some of few distinct values: edges from all of them
                whole = {name: self._skeleton(name, NUMERIC, whole=True) for name in missed}
                counted.update(count_numeric(whole, {name: [self._kept(name)] for name in missed}, self.device))
        elif self.numeric:
            skeleton = DatasetProfile({name: features[name] for name in self.numeric}, multivariate=multivariate)
            recounted = count(skeleton)
            counted, multivariate = recounted.features, recounted.multivariate
        else:
            counted = {}
        return DatasetProfile({name: counted.get(name, f) for name, f in features.items()}, rows=self.rows, multivariate=multivariate)

    def _reconstruction(self) -> Reconstruction | None:
        """The multivariate part, fitted on every row kept (the sample with ``sampled``)."""
        if not self.multivariate:
            return None
        if self.rate is None:
            columns = [self._kept(name) for name in self.inputs]
        else:
            columns = list(np.concatenate(self.rows_kept or [np.empty((0, len(self.inputs)))]).T)
        return fit(self.inputs, columns, self.config.multivariate_variance)

    def _skeleton(self, name: str, kind: str, *, whole: bool = False) -> FeatureProfile:
        """The categorical profile, or the numeric one with its edges and nothing counted:
        from a sample of the values, or from all of them (``whole``). A numeric feature
        whose sampled values are few gets one bin per value (see ``edges``) and is noted
        in ``one_bin_per_value``."""
        if kind == CATEGORICAL:
            feature = categorical_profile(name, self.found[name], self.nulls[name], self.config)
            require_values(name, feature.count, "reference")
            return feature
        values = self._kept(name)
        if whole:
            sample = np.sort(values[np.isfinite(values)])
        elif self.rate is None:
            sample = edge_sample(values, SAMPLE_PER_FINE_BIN * self.config.fine_bins)
        else:
            sample = np.sort(values)  # already a sample
        require_values(name, sample.size, "reference", 0 if sample.size else int(np.isinf(values).sum()))
        distinct = sorted_unique(sample)
        if self.rate is None and distinct.size <= self.config.fine_bins and sample.size < values.size:
            self.one_bin_per_value.add(name)
        return numeric_skeleton(name, sample, self.config, self.limit, distinct_count(values, distinct))

    def _kept(self, name: str) -> np.ndarray:
        values = self.values[name]
        return values[0] if len(values) == 1 else np.concatenate(values or [np.empty(0)])


def wants_multivariate(inputs: list[str], config: MonitorConfig) -> bool:
    """Whether a reference with these numeric input features gets a multivariate part (``monitor.multivariate``)."""
    if config.multivariate and len(inputs) < 2:
        raise LaunchbayError(f"monitor.multivariate needs at least 2 numeric features, the reference has {len(inputs)}")
    return config.multivariate is not False and len(inputs) >= 2


def exact_limit(config: MonitorConfig, reference_rows: int) -> int:
    """Values a profile keeps for exact KS and Wasserstein (0: sketch only)."""
    if config.mode == ValuesMode.exact:
        return UNLIMITED
    return config.exact_max_rows if config.mode == ValuesMode.auto and reference_rows <= config.exact_max_rows else 0


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
