"""XGBoost for launchbay: the model family ``model=xgboost``."""

from __future__ import annotations

from launchbay import hookimpl
from launchbay.components import ModelFamily
from launchbay_xgboost.model import Device, XGBoostConfig, XGBoostModel


def gpus(cfg: XGBoostConfig) -> float:
    """``device=cuda``: every fit and scoring task asks Ray for one GPU."""
    return 1.0 if cfg.device == Device.cuda else 0.0


@hookimpl
def launchbay_model_families() -> list[ModelFamily]:
    return [ModelFamily("xgboost", XGBoostModel, XGBoostConfig, "XGBoost gradient-boosted trees (CPU or CUDA)", num_gpus=gpus)]
