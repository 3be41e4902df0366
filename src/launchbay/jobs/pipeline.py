"""The end-to-end job: train and register, score the batch, check it for drift."""

from __future__ import annotations

from omegaconf import open_dict

from launchbay.jobs import drift, score, train


def run(ctx) -> dict:
    trained = train.run(ctx)
    with open_dict(ctx.cfg):
        ctx.cfg.job.model_version = str(trained["model"]["version"])
    return {"train": trained, "score": score.run(ctx), "drift": drift.run(ctx)}
