"""Check the batch (features and the model's predictions) for drift against the model's
reference, without writing scores."""

from __future__ import annotations

from typing import Any

from launchbay.context import RunContext
from launchbay.monitoring import check_drift
from launchbay.scoring import score_batch


def execute(ctx: RunContext) -> dict[str, Any]:
    job = ctx.cfg.job
    version = ctx.registry.get(job.model_name, job.model_version)
    _, scoring_pass = score_batch(ctx, version, drift=True, output=None)
    return {"drift": check_drift(ctx, version, scoring_pass), "model": {"name": version.name, "version": version.version}}
