"""Check the batch (features and the model's predictions) for drift against the model's
reference, without writing scores."""

from __future__ import annotations

from typing import Any

from launchbay.context import RunContext
from launchbay.monitoring import measure_drift, publish
from launchbay.scoring import score_batch


def execute(ctx: RunContext) -> dict[str, Any]:
    job = ctx.cfg.job
    version = ctx.registry.get(job.model_name, job.model_version)
    with score_batch(ctx, version, drift=True, output=None) as (_, scoring_pass):
        result = measure_drift(ctx, scoring_pass)
    drift = publish(ctx, version, result, scoring_pass.drift_device())
    return {"drift": drift, "model": {"name": version.name, "version": version.version}}
