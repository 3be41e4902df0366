"""Score the batch with a registered model, commit the predictions atomically, and
check the same rows for drift in the same pass."""

from __future__ import annotations

from contextlib import nullcontext

from launchbay import storage, validation
from launchbay.errors import LaunchbayError
from launchbay.registry import PROFILE_FILE
from launchbay.runtime import require_gpus, root_cause
from launchbay.scoring import Run, choose


def score(ctx, version, *, drift: bool, output: tuple | None) -> tuple[int, Run]:
    """Score the batch with ``version``, writing under ``output`` ((filesystem, path), see
    ``storage.resolve``) when given; returns rows and the run."""
    import ray

    from launchbay.app import typed

    cfg = ctx.cfg
    scoring = typed(cfg.score, "score")
    source, _ = ctx.settings("data", cfg.batch)
    sink, sink_settings = ctx.settings("sink", cfg.sink) if output else (None, None)
    filesystem, final = output or (None, None)
    if output and (warning := storage.node_local_warning(filesystem, final, sum(n["Alive"] for n in ray.nodes()))):
        ctx.console.print(f"[yellow]warning:[/] score.output {warning}")
    gpus = max(scoring.num_gpus, ctx.manager.component("model", version.meta["family"]).num_gpus)
    strategy = choose(scoring, source, sink, gpus)
    require_gpus(gpus, f"scoring with {version.name} v{version.version} (per actor)")
    contract = version.load_contract()
    run = Run(
        dict(
            model=ray.put(version.load_model()),
            contract=ray.put(contract) if contract is not None else None,
            features=tuple(version.meta["features"]),
            id_column=cfg.job.id_column,
            extra=(("model_version", version.version),),
            model_label=f"{version.name} v{version.version}",
            run_dir=str(ctx.run_dir),
        ),
        version.load_profile() if drift else None,
        version.meta["files"][PROFILE_FILE],
        strategy,
    )
    unwritten = f"nothing was written to {storage.uri(*output)}" if output else None
    try:
        with ctx.step("score"), run.progress(ctx.console, "scoring"), (
            storage.staged_output(filesystem, final, run_id=ctx.run_id, model=version.name, version=version.version)
            if output
            else nullcontext()
        ) as target:
            if strategy == "fragments":
                in_flight = scoring.concurrency or 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
                fragments = ctx.read(cfg.batch, fragments=True)
                rows = run.fragments(fragments, sink, sink_settings, filesystem, target, in_flight)
            else:
                ds = run.dataset(ctx.read(cfg.batch), strategy, scoring, gpus)
                rows = sink.write(ds, target, sink_settings, filesystem) if output else sum(
                    b.num_rows for b in ds.iter_batches(batch_size=None, batch_format="pyarrow")
                )
            if rows == 0:
                raise LaunchbayError(
                    f"batch: the {cfg.batch.name} source gave no rows to score; {unwritten or 'nothing to check'}"
                )
    except Exception as exc:
        from ray.exceptions import RayError

        if isinstance(exc, LaunchbayError) and not isinstance(exc, RayError):
            raise
        raise LaunchbayError(f"scoring failed, {unwritten or 'no drift result'}: {root_cause(exc)}") from exc
    return rows, run


def check_drift(ctx, version, run: Run) -> dict:
    """Compare the sketch of the scored rows with the model's reference; print, report and alert."""
    from launchbay import drift
    from launchbay.jobs.drift import publish

    with ctx.step("drift"):
        result = drift.compare(run.reference, run.sketch(), config=ctx.monitor)
    return publish(ctx, version, result)


def run(ctx) -> dict:
    cfg = ctx.cfg
    version = ctx.registry.get(cfg.job.model_name, cfg.job.model_version)
    target = storage.resolve(cfg.score.output or str(ctx.run_dir / "scores"), "score.output")
    output = storage.uri(*target)
    rows, scoring = score(ctx, version, drift=cfg.score.drift, output=target)
    seconds = ctx.timings["score"]
    ctx.manager.hook.launchbay_batch_scored(run_id=ctx.run_id, rows=rows, output=output)
    ctx.console.print(
        f"[green]scored[/] {rows:,} rows with {version.name} v{version.version} in {seconds:.1f} s "
        f"({rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}"
    )
    summary = {
        "scores": {"path": output, "rows": rows, "rows_per_s": round(rows / max(seconds, 1e-9))},
        "model": {"name": version.name, "version": version.version},
        "contract": validation.report(ctx.run_dir),
    }
    if cfg.score.drift:
        summary["drift"] = check_drift(ctx, version, scoring)
    return summary
