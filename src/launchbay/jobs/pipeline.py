"""The end-to-end job: score the batch with the champion and check it for drift in one pass;
on drift, on a performance drop (``approval.trigger``) or on demand train a challenger and
promote it only if it wins (``approval.mode=manual``: make it a candidate that people approve,
and tell the alert channels).

The first run of a model has no champion: it trains one from ``data`` first. Once the
scores are committed the run stands: a challenger that cannot be trained is reported in
the summary (and as a warning), not as a failed run.
"""

from __future__ import annotations

from typing import Any

from omegaconf import open_dict

from launchbay.context import RunContext
from launchbay.errors import root_cause
from launchbay.jobs import score, train
from launchbay.monitoring import alert_candidate
from launchbay.training.approval import challenge, trigger


def execute(ctx: RunContext) -> dict[str, Any]:
    summary = {}
    alias = ctx.cfg.approval.alias
    if alias not in ctx.registry.aliases(ctx.cfg.job.model_name):
        ctx.scores_output  # noqa: B018  (checked before a model is trained for it)
        summary["train"] = train.execute(ctx)
    with open_dict(ctx.cfg):
        ctx.cfg.job.model_version = alias
    summary.update(score.execute(ctx))
    reason = trigger(ctx.cfg.approval.trigger, summary.get("drift"), summary.get("performance"))
    if reason:
        drift = {key: summary["drift"][key] for key in ("verdict", "drifted_features", "share_drifted")} if summary.get("drift") else None
        try:
            summary["challenger"] = challenge(ctx, reason, drift)
        except Exception as exc:  # the scores are committed: the run stands, and says why there is no challenger
            cause = root_cause(exc)
            ctx.warn(f"no challenger was trained ({reason}): {cause}", error=exc)
            summary["challenger"] = {"trigger": reason, "error": cause}
            return summary
        if "candidate" in summary["challenger"]:
            summary["challenger"]["candidate"]["alerts"] = alert_candidate(ctx, summary["challenger"])
    return summary
