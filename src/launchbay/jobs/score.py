"""Score the batch with a registered model, commit the predictions atomically, and
check the same rows for drift in the same pass."""

from __future__ import annotations

from pathlib import Path

from launchbay.data.commit import staged_directory
from launchbay.errors import LaunchbayError
from launchbay.runtime import root_cause
from launchbay.scoring import merged_sketch, progress, score_dataset


def scored(ctx, version, *, drift: bool):
    """The batch as a lazy Ray Dataset with predictions, and the tally its batches report to."""
    import ray

    from launchbay.app import typed

    job = ctx.cfg.job
    features = version.meta["features"]
    ds = ctx.read(ctx.cfg.batch)
    columns = ds.schema().names
    missing = [f for f in features if f not in columns]
    if missing:
        raise LaunchbayError(
            f"batch: columns {missing} that model {version.name} v{version.version} needs are missing (batch has {columns})"
        )
    family = ctx.manager.component("model", version.meta["family"])
    plan = dict(
        model=ray.put(version.load_model()),
        features=tuple(features),
        keep=(job.id_column,) if job.id_column in columns else (),
        extra=(("model_version", version.version),),
        id_column=job.id_column,
    )
    reference = (version.path / "profile.json").read_text() if drift else None
    return score_dataset(ds, plan, reference, typed(ctx.cfg.score, "score"), family.num_gpus)


def check_drift(ctx, version, tally) -> dict:
    """Compare the tally's sketch with the model's reference; print, report and alert."""
    from launchbay import drift
    from launchbay.jobs.drift import publish

    with ctx.step("drift"):
        result = drift.compare(version.load_profile(), merged_sketch(tally), config=ctx.monitor)
    return publish(ctx, version, result)


def run(ctx) -> dict:
    cfg = ctx.cfg
    version = ctx.registry.get(cfg.job.model_name, cfg.job.model_version)
    sink, settings = ctx.settings("sink", cfg.sink)
    output = Path(cfg.score.output).expanduser().resolve() if cfg.score.output else ctx.run_dir / "scores"
    dataset, tally = scored(ctx, version, drift=cfg.score.drift)
    try:
        with ctx.step("score"), progress(tally, ctx.console, "scoring"), staged_directory(output) as staging:
            rows = sink.write(dataset, str(staging), settings)
    except LaunchbayError:
        raise
    except Exception as exc:
        raise LaunchbayError(f"scoring failed, nothing was written to {output}: {root_cause(exc)}") from exc
    seconds = ctx.timings["score"]
    ctx.manager.hook.launchbay_batch_scored(run_id=ctx.run_id, rows=rows, output=str(output))
    ctx.console.print(
        f"[green]scored[/] {rows:,} rows with {version.name} v{version.version} in {seconds:.1f} s "
        f"({rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}"
    )
    summary = {
        "scores": {"path": str(output), "rows": rows, "rows_per_s": round(rows / max(seconds, 1e-9))},
        "model": {"name": version.name, "version": version.version},
    }
    if cfg.score.drift:
        summary["drift"] = check_drift(ctx, version, tally)
    return summary
