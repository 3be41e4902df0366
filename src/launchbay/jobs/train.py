"""Train a model on ``data`` and register it; its first version becomes the champion."""

from __future__ import annotations

from typing import Any

from launchbay.context import RunContext
from launchbay.training.approval import crown_first
from launchbay.training.fit import train_model


def execute(ctx: RunContext) -> dict[str, Any]:
    trained = train_model(ctx, ctx.cfg.data)
    crown_first(ctx, trained)
    return trained.summary
