"""Score the batch with a registered model and check the same rows for drift in the same
pass; the predictions are committed only once the drift check has passed."""

from __future__ import annotations

from typing import Any

from launchbay import storage, validation
from launchbay.context import RunContext
from launchbay.monitoring import measure_drift, publish
from launchbay.scoring import score_batch


def execute(ctx: RunContext) -> dict[str, Any]:
    cfg = ctx.cfg
    version = ctx.registry.get(cfg.job.model_name, cfg.job.model_version)
    target = ctx.scores_output
    output = storage.uri(*target)
    with score_batch(ctx, version, drift=cfg.score.drift, output=target) as (rows, scoring_pass):
        result = measure_drift(ctx, scoring_pass) if cfg.score.drift else None
    seconds = ctx.timings["score"]
    ctx.notify("launchbay_batch_scored", run_id=ctx.run_id, rows=rows, output=output)
    ctx.console.print(
        f"[green]scored[/] {rows:,} rows with {version.name} v{version.version} in {seconds:.1f} s "
        f"({rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}"
    )
    summary = {
        "scores": {
            "path": output,
            "rows": rows,
            "rows_per_s": round(rows / max(seconds, 1e-9)),
            "repeated_ids": scoring_pass.repeated_ids,
            "repeated_ids_counted": "across the batch" if cfg.contract.unique_ids else "within each piece",
        },
        "model": {"name": version.name, "version": version.version},
        "contract": validation.report(ctx.run_dir),
    }
    if result is not None:
        summary["drift"] = publish(ctx, version, result, scoring_pass.drift_device())
    return summary
