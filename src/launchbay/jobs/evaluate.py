"""Join labels that arrived after the scores (``data@labels=<source>``) to a past run's scores
(``job.scores``: its run directory or its scores folder) by ``job.id_column``, and measure the
model's realized performance on that run. The counts of the join say what did not match."""

from __future__ import annotations

from typing import Any

from launchbay.context import RunContext
from launchbay.errors import LaunchbayError
from launchbay.monitoring import alert_performance, assess_performance
from launchbay.performance.labels import join_labels, read_scores
from launchbay.performance.sketch import Target
from launchbay.training.fit import read_table


def execute(ctx: RunContext) -> dict[str, Any]:
    cfg = ctx.cfg
    if not cfg.job.scores:
        raise LaunchbayError("job.scores: name the run directory (or scores folder) of the scores the labels are for")
    if not cfg.labels:
        raise LaunchbayError("labels: no labels source selected (e.g. data@labels=parquet labels.path=labels.parquet)")
    scores = read_scores(cfg.job.scores)
    version = ctx.registry.get(scores.model or cfg.job.model_name, scores.version if scores.version is not None else cfg.job.model_version)
    labels = read_table(ctx, cfg.labels, "the labels")
    joined, counts = join_labels(scores.table, labels, cfg.job.id_column, cfg.job.label, f"the labels ({cfg.labels.name})")
    ctx.console.print(
        f"labels: {counts['matched']:,} of {counts['scored_rows']:,} scored rows of {scores.uri} matched; {counts['missing']:,} have no label, "
        f"{counts['unmatched']:,} label row(s) match no scored row, {counts['repeated_label_ids']:,} repeat an earlier label row's id"
    )
    target = Target.of(version.load_model(), cfg.job.label, cfg.monitor.performance.bins)
    if target.task == "multiclass":
        ctx.console.print("note: scores keep a multiclass model's prediction only: accuracy is measured, roc_auc and log_loss are not")
    outcomes = target.gather(joined, {name: joined.column(name) for name in ("prediction", "score") if name in joined.column_names})
    performance = assess_performance(ctx, version, target, outcomes)
    summary = {
        "evaluation": {"scores": scores.uri, "scored_run_id": scores.run_id, **counts},
        "model": {"name": version.name, "version": version.version},
        "performance": performance.section,
    }
    if performance.dropped:
        summary["performance_alerts"] = alert_performance(ctx, version, performance, None)
    return summary
