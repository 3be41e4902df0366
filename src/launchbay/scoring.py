"""Scoring on Ray: one pass predicts, checks the data contract, counts rows and sketches drift.

The model, its data contract and its reference profile go to the object store once;
each worker process resolves them once (``Scorer`` is cached per process). Row counts and,
when drift is on, drift sketches add up in each scorer and come back once per fragment
(or, under Ray Data, go to a ``Tally`` actor once per batch), so the drift of a run comes
from the same read as its scores. So do the counts of the model's outcomes (labels against
predictions, score histograms: ``launchbay.performance``), its performance on the batch, and
those per group of the ``fairness.groups`` columns (``launchbay.fairness``).

Three execution paths (``score.strategy``):

- ``fragments``: one plain Ray task per piece of the input (a file, a synthetic chunk)
  reads it, scores it batch by batch and writes one part file: no streaming executor in
  between, which is what costs most on small machines. Needs a source that lists its
  pieces and a sink that writes parts (the built-in ones do).
- ``tasks``: Ray Data, read -> map_batches -> write fused into one stage; any source.
- ``actors``: Ray Data with an actor pool, for models that need a GPU or load slowly.
  Actors leave a CPU free for the read and write tasks, or Ray Data stalls.

``auto`` picks ``actors`` when the model needs a GPU, else ``fragments`` when the source
and sink allow it, else ``tasks``.

``score_batch`` is what jobs call: it plans a ``ScoringPass`` for a model version, runs
it inside a staged output and turns any failure into one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from launchbay import storage, validation
from launchbay.config import Strategy, typed
from launchbay.drift.config import Device
from launchbay.drift.dataset import worker_reference
from launchbay.drift.device import use_gpu
from launchbay.errors import LaunchbayError, root_cause
from launchbay.fairness.counts import Groups
from launchbay.models.predict import nonfinite_note, predict_columns
from launchbay.performance.sketch import Target
from launchbay.progress import live_progress
from launchbay.registry import PROFILE_FILE
from launchbay.rowids import generated_ids, id_keys, repeats
from launchbay.runtime import BLOCK_ROWS, alive_hosts, cancel, cluster_cpus, ray_resources, require_resources
from launchbay.tally import Tally, merged

if TYPE_CHECKING:
    from launchbay.context import RunContext
    from launchbay.registry import ModelVersion


# Runs of a scoring task after its worker died (Ray's default for tasks, made explicit).
RETRIES = 3
# rows per model call of the actor pool when score.batch_size is null (the task path's: runtime.BLOCK_ROWS)
ACTOR_ROWS = 8_192


@dataclass(frozen=True)
class Plan:
    """What every scoring worker needs; object-store references are resolved once per process."""

    model: Any  # ObjectRef of the fitted model
    contract: Any  # ObjectRef of the model's data contract, or None
    reference: Any  # ObjectRef of the reference DatasetProfile, or None when drift is off
    reference_key: str  # the profile's sha256: workers keep its bin lookup tables across runs
    device: Device  # where drift is counted (monitor.device, checked against the cluster for the run)
    tally: Any  # handle of the Tally actor (Ray Data paths), or None
    performance: Any  # what to count of the model's outcomes (a ``performance.sketch.Target``), or None
    fairness: Any  # what to count of them per group (a ``fairness.counts.Groups``), or None
    features: tuple[str, ...]
    id_column: str  # copied to the output; random unique ids where the input has none
    extra: tuple[tuple[str, Any], ...]  # constant output columns
    model_label: str  # "demo v3", for errors
    ids_across: bool  # send every id key to the tally (8 bytes a row) to find repeats across pieces
    pass_id: str  # names this pass's contract counts and quarantined rows
    run_dir: str  # where contract violations and quarantined rows go


class Scorer:
    """Scores pyarrow batches: the id column, the predictions and the ``extra`` constants.

    Row counts and drift counts add up in the scorer (the drift profile is built once, on
    ``take``) and go to the tally on ``flush``:
    once per fragment on the fragments path, once per batch under Ray Data (``__call__``).
    """

    def __init__(self, plan: Plan) -> None:
        import numba
        import ray

        # numba would start a thread per core in every worker; use the CPUs Ray gave this one
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        numba.set_num_threads(max(1, min(int(cpus), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
        self.plan = plan
        self.model = ray.get(plan.model)
        self.contract = ray.get(plan.contract) if plan.contract is not None else None
        self.reference = worker_reference(plan.reference_key, plan.reference) if plan.reference is not None else None
        self.device = ("gpu" if use_gpu(plan.device) else "cpu") if self.reference is not None else None
        self.rows = 0
        self.counter: Any = None  # drift counts of the rows scored since the last take (a ``drift.counting.Counter``)
        self.ids: list[np.ndarray] = []  # the id keys of those rows (``rowids.id_keys``), where the input has ids
        self.batches = 0  # batches of the current piece, to name their contract counts
        self.outcomes: Any = None  # counts of the model's outcomes on those rows
        self.groups: Any = None  # and per group

    def __call__(self, batch: pa.Table) -> pa.Table:
        scored = self.score(batch)
        self.flush()
        return scored

    def score(self, batch: pa.Table, piece: int | None = None) -> pa.Table:
        """Score one batch; ``piece`` (the fragment's index) names its contract counts, so that a
        piece run again after its worker died replaces them instead of adding to them."""
        from launchbay.drift.counting import Counter
        from launchbay.validation import enforce_batch

        plan = self.plan
        missing = [f for f in plan.features if f not in batch.column_names]
        if missing:
            raise LaunchbayError(
                f"batch: columns {missing} that model {plan.model_label} needs are missing (batch has {batch.column_names})"
            )
        if self.contract is not None:
            name = f"{plan.pass_id}-{piece:05d}-{self.batches:05d}" if piece is not None else f"{plan.pass_id}-{uuid.uuid4().hex}"
            batch = enforce_batch(batch, self.contract, plan.run_dir, f"batch (contract of {plan.model_label})", name)
        self.batches += 1
        frame = batch.select(list(plan.features)).to_pandas()
        try:
            predictions = {k: pa.array(v) for k, v in predict_columns(self.model, frame).items()} if len(frame) else {}
        except Exception as exc:  # which column is at fault is found only once the model failed
            if (note := nonfinite_note(frame)) is None:
                raise
            raise validation.unusable_values(note, plan.model_label, exc) from exc
        if plan.id_column in batch.column_names:
            ids = batch.column(plan.id_column)
            self.ids.append(id_keys(ids))
        else:
            ids = generated_ids(batch.num_rows)
        columns = {plan.id_column: ids, **predictions}
        columns.update({name: pa.repeat(value, batch.num_rows) for name, value in plan.extra})
        self.rows += batch.num_rows
        if self.reference is not None and batch.num_rows:
            observed = {**dict(zip(batch.column_names, batch.columns)), **predictions}
            monitored = pa.table({name: observed[name] for name in self.reference.features if name in observed})
            if self.counter is None:
                self.counter = Counter(self.reference, self.plan.device)
            self.counter.add(monitored)
        if plan.performance is not None and batch.num_rows:
            proba = (lambda: self.model.predict_proba(frame)) if hasattr(self.model, "predict_proba") else None
            self.outcomes = merged(self.outcomes, plan.performance.gather(batch, predictions, proba))
        if plan.fairness is not None and batch.num_rows:
            self.groups = merged(self.groups, plan.fairness.gather(batch, predictions["prediction"]))
        return pa.table(columns)

    def take(self) -> tuple[int, Any, np.ndarray | int, str | None, Any, Any]:
        """The rows, the sketch, the id keys (or, not across pieces, how many rows repeat an id)
        gathered since the last take, where the sketch was counted, the outcomes and those per group, and start afresh."""
        keys = np.concatenate(self.ids) if self.ids else np.empty(0, np.uint64)
        ids = keys if self.plan.ids_across else repeats(keys)
        sketch = self.counter.profile() if self.counter is not None else None
        gathered = self.rows, sketch, ids, self.device, self.outcomes, self.groups
        self.rows, self.counter, self.ids, self.batches, self.outcomes, self.groups = 0, None, [], 0, None, None
        return gathered

    def flush(self) -> None:
        """Send what was gathered to the tally (the Ray Data paths)."""
        import ray

        ray.get(self.plan.tally.add.remote(*self.take()))


@lru_cache(maxsize=4)
def _cached_scorer(plan: Plan) -> Scorer:
    return Scorer(plan)


def score_task(batch: pa.Table, plan: Plan) -> pa.Table:
    """Ray Data's task path: one ``Scorer`` per worker process, built on its first batch."""
    return _cached_scorer(plan)(batch)


def score_fragment(
    fragment: Callable[[], Iterator[pa.Table]], piece: int, plan: Plan, write_part, settings, filesystem, part: str | None
):
    """Score piece ``piece`` of the input and write it as one part of ``filesystem`` (``part=None``: score only).

    Returns what ``Scorer.take`` gathers: the rows, the drift sketch, the ids of the piece, its counting device and outcomes.
    """
    scorer = _cached_scorer(plan)
    scored = (scorer.score(table, piece) for table in fragment())
    if part is not None:
        write_part(scored, part, settings, filesystem)
    else:
        for _ in scored:
            pass
    return scorer.take()


def choose(cfg, source, sink, gpus: float) -> Strategy:
    """The execution path for ``score.strategy``."""
    if cfg.strategy != Strategy.auto:
        return cfg.strategy
    if gpus:
        return Strategy.actors
    parts = source.fragments is not None and (sink is None or sink.write_part is not None)
    return Strategy.fragments if parts else Strategy.tasks


class ScoringPass:
    """One pass of a model over a batch: the plan shipped to workers, and where their rows
    and sketches add up.

    On the fragments path every task returns its rows, sketch and ids to the driver, which adds
    them to a local ``Tally``; the Ray Data paths have no such return channel, so their
    batches report to a ``Tally`` actor.
    """

    def __init__(self, plan_args: dict[str, Any], reference, reference_key: str, strategy: Strategy, resources: dict[str, Any]) -> None:
        import ray

        self.resources = resources  # what each scoring task or actor asks Ray for
        reference_ref = ray.put(reference) if reference is not None else None
        self.tally: Any = ray.remote(num_cpus=0)(Tally).remote(reference_ref) if strategy != Strategy.fragments else None
        self.totals = Tally(reference)  # what the fragments path gathers (the actor's, on the others)
        self.reference = reference
        self.parts_done = 0  # pieces scored, and how many there are (fragments path)
        self.parts: int | None = None
        self.plan = Plan(tally=self.tally, reference=reference_ref, reference_key=reference_key, **plan_args)

    def fragments(self, fragments: list, sink, settings, filesystem, directory: str | None, in_flight: int) -> int:
        """Score every fragment as a plain Ray task, at most ``in_flight`` at a time; returns rows."""
        import ray

        # A task whose worker dies is run again (up to RETRIES times): it rewrites its whole part
        # and its rows and sketch reach the driver only from the run that finished, so each row counts once.
        # SPREAD: the pieces go to every node of a cluster rather than fill the first one.
        task = ray.remote(score_fragment).options(max_retries=RETRIES, scheduling_strategy="SPREAD", **self.resources)
        write_part = sink.write_part if sink is not None else None
        self.parts = len(fragments)
        pending: list = []
        try:
            for i, fragment in enumerate(fragments):
                if len(pending) >= in_flight:
                    done, pending = ray.wait(pending, num_returns=1)
                    self._add(ray.get(done[0]))
                part = f"{directory}/part-{i:05d}" if directory is not None else None
                pending.append(task.remote(fragment, i, self.plan, write_part, settings, filesystem, part))
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                self._add(ray.get(done[0]))
        except BaseException:
            cancel(pending)
            raise
        return self.totals.count()

    def _add(self, gathered: tuple[int, Any, np.ndarray | int, str | None, Any, Any]) -> None:
        self.totals.add(*gathered)
        self.parts_done += 1

    def _totals(self, method: str) -> Any:
        """What ``method`` of the tally returns: the driver's (fragments path) or the actor's."""
        import ray

        return getattr(self.totals, method)() if self.tally is None else ray.get(getattr(self.tally, method).remote())

    def count(self) -> int:
        """Rows scored so far."""
        return self._totals("count")

    def dataset(self, ds, strategy: Strategy, cfg):
        """``ds`` with predictions, lazily, through Ray Data tasks or an actor pool."""
        import ray

        common = dict(batch_format="pyarrow", **self.resources)
        if strategy == Strategy.tasks:
            batch_size = cfg.batch_size or BLOCK_ROWS
            return ds.map_batches(score_task, fn_args=(self.plan,), concurrency=cfg.concurrency, batch_size=batch_size, **common)
        size = cfg.concurrency or max(1, int(cluster_cpus() - cfg.num_cpus))
        pool = ray.data.ActorPoolStrategy(size=size)
        batch_size = cfg.batch_size or ACTOR_ROWS  # GPU stages need an explicit batch size
        return ds.map_batches(Scorer, fn_constructor_args=(self.plan,), compute=pool, batch_size=batch_size, **common)

    def progress(self, console, label: str) -> AbstractContextManager[None]:
        """A live progress bar of this pass while the block runs (see ``progress.live_progress``)."""
        return live_progress(console, label, self.count, lambda: (self.parts_done, self.parts))

    @cached_property
    def repeated_ids(self) -> int:
        """Rows of the batch whose id an earlier row already had (once the pass is done)."""
        return self._totals("repeated_ids")

    def sketch(self) -> Any:
        """The drift profile of every row scored (None when drift was off)."""
        return self._totals("sketch")

    def outcomes(self) -> Any:
        """The counts of the model's outcomes on every row scored (None when not counted)."""
        return self._totals("outcomes")

    def group_counts(self) -> Any:
        """The counts of the model's outcomes per group on every row scored (None when not counted)."""
        return self._totals("group_counts")

    def drift_device(self) -> str | None:
        """Where the drift of the pass was counted (see ``Tally.counted_on``)."""
        return self._totals("counted_on")


@contextmanager
def score_batch(ctx: RunContext, version: ModelVersion, *, drift: bool, output: tuple | None) -> Iterator[tuple[int, ScoringPass]]:
    """Score the batch (``batch``) with ``version`` in one pass, writing under ``output``
    ((filesystem, path), see ``storage.resolve``) when given; yields the rows and the pass.

    The block inside runs before the output is committed: whatever it checks (drift) fails
    the run with nothing written.
    """
    import ray

    cfg = ctx.cfg
    settings = typed(cfg.score, "score")
    source, _ = ctx.settings("data", cfg.batch)
    sink, sink_settings = ctx.settings("sink", cfg.sink) if output else (None, None)
    filesystem, final = output or (None, None)
    if output and (warning := storage.node_local_warning(filesystem, final, alive_hosts())):
        ctx.console.print(f"[yellow]warning:[/] score.output {warning}")
    monitor = ctx.monitor if drift else None
    family = ctx.manager.component("model", version.meta["family"])
    # a family whose GPUs depend on its settings is asked with those the version was trained with
    trained_with = ctx.settings("model", version.meta["config"]["model"])[1] if callable(family.num_gpus) else None
    model_gpus = max(settings.num_gpus, family.gpus(trained_with))
    strategy = choose(settings, source, sink, model_gpus)
    # with monitor.device=gpu each worker also counts drift on a GPU
    resources = ray_resources(settings.num_cpus, max(model_gpus, monitor.counting_gpus() if monitor else 0.0), settings.memory_mb)
    require_resources(resources, f"scoring with {version.name} v{version.version} (per task or actor)")
    contract = version.load_contract()
    unique_ids = typed(cfg.contract, "contract").unique_ids
    pass_id = f"pass-{uuid.uuid4().hex[:8]}"
    model = version.load_model()
    fairness = typed(cfg.fairness, "fairness")
    group_columns = fairness.groups or (contract.groups if contract is not None else [])
    model_label = f"{version.name} v{version.version}"
    scoring_pass = ScoringPass(
        dict(
            model=ray.put(model),
            contract=ray.put(contract) if contract is not None else None,
            features=tuple(version.meta["features"]),
            id_column=cfg.job.id_column,
            extra=(("model_version", version.version),),
            model_label=model_label,
            ids_across=unique_ids,
            pass_id=pass_id,
            run_dir=str(ctx.run_dir),
            device=monitor.device if monitor else Device.cpu,
            performance=Target.of(model, cfg.job.label, cfg.monitor.performance.bins) if settings.performance else None,
            fairness=Groups.of(model, cfg.job.label, group_columns, fairness.max_groups, model_label) if group_columns else None,
        ),
        version.load_profile() if drift else None,
        version.meta["files"][PROFILE_FILE],
        strategy,
        resources,
    )
    unwritten = f"nothing was written to {storage.uri(*output)}" if output else None
    lost = unwritten or "no drift result"  # what a failure of the pass costs
    staged = (
        storage.staged_output(filesystem, final, run_id=ctx.run_id, model=version.name, version=version.version)
        if output
        else nullcontext()
    )
    try:
        with staged as target:
            with ctx.step("score"), scoring_pass.progress(ctx.console, "scoring"):
                if strategy == Strategy.fragments:
                    in_flight = settings.concurrency or 2 * max(1, int(cluster_cpus()))
                    fragments = ctx.read(cfg.batch, fragments=True)
                    rows = scoring_pass.fragments(fragments, sink, sink_settings, filesystem, target, in_flight)
                else:
                    ds = scoring_pass.dataset(ctx.read(cfg.batch), strategy, settings)
                    rows = sink.write(ds, target, sink_settings, filesystem) if sink is not None else sum(
                        b.num_rows for b in ds.iter_batches(batch_size=None, batch_format="pyarrow")
                    )
            if rows == 0:
                raise LaunchbayError(
                    f"batch: the {cfg.batch.name} source gave no rows to score; {unwritten or 'nothing to check'}"
                )
            # on the Ray Data paths, a batch Ray ran again after its worker died was counted twice
            if strategy != Strategy.fragments and scoring_pass.count() != rows:
                raise LaunchbayError(f"batch: {scoring_pass.count():,} rows counted for {rows:,} scored after a worker failed; {lost}")
            if unique_ids and (repeated := scoring_pass.repeated_ids):
                raise LaunchbayError(f"batch: {repeated:,} rows repeat an earlier row's {cfg.job.id_column} (contract.unique_ids=true); {lost}")
            try:
                yield rows, scoring_pass
            except LaunchbayError as exc:  # the caller's check (drift) failed: nothing is committed
                raise LaunchbayError(f"{exc}; {unwritten}" if unwritten else str(exc)) from exc
            if sink is not None and sink.commit is not None:
                with ctx.step("commit"):
                    sink.commit_run(target, sink_settings, filesystem, ctx.run_id)
    except BaseException as exc:
        from ray.exceptions import RayError

        validation.discard(ctx.run_dir, pass_id)  # what the failed pass counted or set aside
        if not isinstance(exc, Exception) or (isinstance(exc, LaunchbayError) and not isinstance(exc, RayError)):
            raise
        raise LaunchbayError(f"scoring failed, {lost}: {root_cause(exc)}") from exc
