"""Score the batch with a registered model and commit the predictions atomically."""

from __future__ import annotations

from launchbay.data.commit import staged_directory
from launchbay.errors import LaunchbayError
from launchbay.models.predict import score_batch


def scored(ctx, version, *, keep_features: bool):
    """The batch as a lazy Ray Dataset with prediction columns added; checked against the model's features."""
    job = ctx.cfg.job
    features = version.meta["features"]
    ds = ctx.read(ctx.cfg.batch)
    columns = ds.schema().names
    missing = [f for f in features if f not in columns]
    if missing:
        raise LaunchbayError(
            f"batch: columns {missing} that model {version.name} v{version.version} needs are missing (batch has {columns})"
        )
    keep = [job.id_column] if job.id_column in columns else [c for c in columns if c not in features]
    if keep_features:
        keep = keep + features
    extra = {"model_version": version.version}
    return ds.map_batches(
        score_batch,
        batch_format="pyarrow",
        fn_kwargs={"model": version.load_model(), "features": features, "keep": keep, "extra": extra},
    )


def run(ctx) -> dict:
    job = ctx.cfg.job
    version = ctx.registry.get(job.model_name, job.model_version)
    sink, settings = ctx.settings("sink", ctx.cfg.sink)
    output = ctx.run_dir / "scores"
    with ctx.step("score"), staged_directory(output) as staging:
        ds = scored(ctx, version, keep_features=False)
        rows = sink.write(ds, str(staging), settings)
    seconds = ctx.timings["score"]
    ctx.manager.hook.launchbay_batch_scored(run_id=ctx.run_id, rows=rows, output=str(output))
    ctx.console.print(
        f"[green]scored[/] {rows:,} rows with {version.name} v{version.version} in {seconds:.1f} s "
        f"({rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}"
    )
    return {
        "scores": {"path": str(output), "rows": rows, "rows_per_s": round(rows / max(seconds, 1e-9))},
        "model": {"name": version.name, "version": version.version},
    }

