"""XGBoost for launchbay: the model family ``model=xgboost``, and the SHAP attributions of its models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay import hookimpl
from launchbay.components import ModelFamily
from launchbay_xgboost.model import Device, XGBoostConfig, XGBoostModel

if TYPE_CHECKING:
    import pandas as pd


def gpus(cfg: XGBoostConfig) -> float:
    """``device=cuda``: every fit and scoring task asks Ray for one GPU."""
    return 1.0 if cfg.device == Device.cuda else 0.0


@hookimpl
def launchbay_model_families() -> list[ModelFamily]:
    return [ModelFamily("xgboost", XGBoostModel, XGBoostConfig, "XGBoost gradient-boosted trees (CPU or CUDA)", num_gpus=gpus)]


@hookimpl
def launchbay_model_attributions(family: str, model: Any, frame: pd.DataFrame) -> dict[str, Any] | None:
    """An XGBoost model's mean absolute SHAP contribution of each feature on ``frame`` (XGBoost's own TreeSHAP), and its
    std over the rows; None for other families, and for one model per segment (``train.partition_by``)."""
    if family != "xgboost" or not isinstance(model, XGBoostModel):
        return None
    size = np.abs(model.contributions(frame))
    means, stds = size.mean(axis=0), size.std(axis=0)
    return {"method": "shap", "features": [{"feature": c, "mean": float(m), "std": float(s)} for c, m, s in zip(frame.columns, means, stds)]}
