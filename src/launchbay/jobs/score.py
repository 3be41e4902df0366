"""Score the batch with a registered model and check the same rows for drift in the same
pass; the predictions are committed only once the drift check has passed. The model's
performance on the batch (realized from its labels, else estimated) and by group is assessed afterwards."""

from __future__ import annotations

from typing import Any

from launchbay import storage, validation
from launchbay.context import RunContext
from launchbay.monitoring import alert_performance, assess_fairness, assess_performance, measure_drift, publish
from launchbay.scoring import score_batch


def execute(ctx: RunContext) -> dict[str, Any]:
    cfg = ctx.cfg
    version = ctx.registry.get(cfg.job.model_name, cfg.job.model_version)
    target = ctx.scores_output
    output = storage.uri(*target)
    with score_batch(ctx, version, drift=cfg.score.drift, output=target) as (rows, scoring_pass):
        result = measure_drift(ctx, scoring_pass) if cfg.score.drift else None
    if repeated := scoring_pass.repeated_ids:  # counted within each piece: contract.unique_ids=true refuses them before the commit
        ctx.warn(
            f"{repeated:,} of {rows:,} rows repeat an earlier row's {cfg.job.id_column} within their piece of the batch "
            f"({cfg.batch.name}); set contract.unique_ids=true to refuse such batches"
        )
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
    target = scoring_pass.plan.performance
    performance = assess_performance(ctx, version, target, scoring_pass.outcomes()) if target is not None else None
    fairness = assess_fairness(ctx, counts) if (counts := scoring_pass.group_counts()) is not None else None
    if fairness is not None:
        summary["fairness"] = fairness
    if result is not None:
        summary["drift"] = publish(ctx, version, result, scoring_pass.drift_device(), performance, fairness)
    if performance is not None:
        summary["performance"] = performance.section
        if performance.dropped:
            summary["performance_alerts"] = alert_performance(ctx, version, performance, summary.get("drift", {}).get("report"))
    return summary
