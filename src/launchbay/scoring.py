"""Scoring on Ray Data: one streaming pass predicts, counts rows and sketches drift.

The model and the reference profile go to the object store once; each worker
process turns them into objects once (cached by reference). Every scored batch sends
its row count and, when drift is on, its drift sketch to a ``Tally`` actor, so the
drift of a run comes from the same read as its scores.

Two execution paths: stateless tasks (the default: cheapest for CPU models, fused
with the read and the write) and an actor pool (models that need a GPU or are slow
to load). Actors leave a CPU free for the read and write tasks, or Ray Data stalls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from launchbay.errors import LaunchbayError
from launchbay.models.predict import predict_columns


class Tally:
    """Ray actor: rows scored so far and the merged drift sketch of those rows."""

    def __init__(self, reference_json: str | None) -> None:
        from launchbay.drift.profile import DatasetProfile

        self.rows = 0
        self.profile = DatasetProfile.from_json(reference_json).empty() if reference_json else None

    def add(self, rows: int, sketch_json: str | None) -> None:
        from launchbay.drift.profile import DatasetProfile

        self.rows += rows
        if sketch_json is not None:
            self.profile = self.profile.merge(DatasetProfile.from_json(sketch_json))

    def count(self) -> int:
        return self.rows

    def sketch(self) -> str | None:
        return self.profile.to_json() if self.profile is not None else None


@dataclass(frozen=True)
class Plan:
    """What every scoring worker needs; object-store references, resolved once per process."""

    model: Any  # ObjectRef of the fitted model
    reference: Any  # ObjectRef of the reference profile's JSON, or None when drift is off
    tally: Any  # handle of the Tally actor
    features: tuple[str, ...]
    keep: tuple[str, ...]  # input columns copied to the output
    extra: tuple[tuple[str, Any], ...]  # constant output columns
    id_column: str


class Scorer:
    """Callable on a pyarrow batch: ``keep`` columns, predictions and ``extra`` constants."""

    def __init__(self, plan: Plan) -> None:
        import ray

        from launchbay.drift.profile import DatasetProfile

        self.plan = plan
        self.model = ray.get(plan.model)
        self.reference = DatasetProfile.from_json(ray.get(plan.reference)) if plan.reference is not None else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        import ray

        from launchbay.drift.profile import sketch

        plan = self.plan
        frame = batch.select(list(plan.features)).to_pandas()
        predictions = {k: pa.array(v) for k, v in predict_columns(self.model, frame).items()}
        columns = {name: batch.column(name) for name in plan.keep}
        if plan.id_column not in columns:
            columns = {plan.id_column: generated_ids(batch.num_rows), **columns}
        columns.update(predictions)
        columns.update({name: pa.array([value] * batch.num_rows) for name, value in plan.extra})
        sketch_json = None
        if self.reference is not None:
            observed = {**dict(zip(batch.column_names, batch.columns)), **predictions}
            monitored = pa.table({name: observed[name] for name in self.reference.features if name in observed})
            sketch_json = sketch(monitored, self.reference).to_json()
        ray.get(plan.tally.add.remote(batch.num_rows, sketch_json))
        return pa.table(columns)


def generated_ids(n: int) -> pa.Array:
    """Random 63-bit row ids for inputs without one: unique, not stable across runs."""
    start = int.from_bytes(np.random.default_rng().bytes(8), "little") >> 2
    return pa.array(np.arange(start, start + n, dtype=np.int64))


@lru_cache(maxsize=4)
def _cached_scorer(plan: Plan) -> Scorer:
    return Scorer(plan)


def score_task(batch: pa.Table, plan: Plan) -> pa.Table:
    """The task path: one ``Scorer`` per worker process, built on its first batch."""
    return _cached_scorer(plan)(batch)


def score_dataset(ds, plan_args: dict, reference_json: str | None, cfg, family_gpus: float = 0.0):
    """``ds`` with predictions, lazily, and the ``Tally`` actor its batches report to."""
    import ray

    tally = ray.remote(num_cpus=0)(Tally).remote(reference_json)
    reference = ray.put(reference_json) if reference_json is not None else None
    plan = Plan(tally=tally, reference=reference, **plan_args)
    gpus = max(cfg.num_gpus, family_gpus)
    strategy = cfg.strategy if cfg.strategy != "auto" else ("actors" if gpus else "tasks")
    common = dict(batch_format="pyarrow", batch_size=cfg.batch_size, num_cpus=cfg.num_cpus, fn_args=(plan,))
    if strategy == "tasks":
        return ds.map_batches(score_task, **common), tally
    if strategy != "actors":
        raise LaunchbayError(f"score.strategy must be tasks, actors or auto, got '{cfg.strategy}'")
    size = cfg.actors or max(1, int(ray.cluster_resources().get("CPU", 1) - cfg.num_cpus))
    common["batch_size"] = cfg.batch_size or 8192  # GPU stages need an explicit batch size
    common["fn_constructor_args"] = common.pop("fn_args")
    scored = ds.map_batches(Scorer, compute=ray.data.ActorPoolStrategy(size=size), num_gpus=gpus, **common)
    return scored, tally


@contextmanager
def progress(tally, console, label: str) -> Iterator[None]:
    """A live line with rows scored and rows/s while the block runs."""
    import ray
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    done = threading.Event()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, rate="")
        start = time.perf_counter()

        def poll() -> None:
            while not done.wait(0.5):
                rows = ray.get(tally.count.remote())
                rate = rows / max(time.perf_counter() - start, 1e-9)
                bar.update(task, description=f"{label}: {rows:,} rows", rate=f"{rate:,.0f} rows/s")

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()


def merged_sketch(tally) -> Any:
    """The drift profile of every row the tally saw (None when drift was off)."""
    import ray

    from launchbay.drift.profile import DatasetProfile

    text = ray.get(tally.sketch.remote())
    return DatasetProfile.from_json(text) if text is not None else None
