"""The end-to-end job: train and register, then score the batch and check it for drift in one pass."""

from __future__ import annotations

from omegaconf import open_dict

from launchbay.jobs import score, train


def run(ctx) -> dict:
    trained = train.run(ctx)
    with open_dict(ctx.cfg):
        ctx.cfg.job.model_version = str(trained["model"]["version"])
    return {"train": trained, **score.run(ctx)}
