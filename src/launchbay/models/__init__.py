"""The built-in model family: any scikit-learn estimator, named by Hydra ``_target_``.

The estimator is wrapped with the preprocessing every tabular model needs:
categorical (string) columns one-hot encoded with unseen categories ignored,
numeric nulls imputed by the median. ``_target_`` must start with one of
``allowed_prefixes`` so that a config file cannot instantiate arbitrary code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from launchbay.components import ModelFamily
from launchbay.config import plain
from launchbay.errors import LaunchbayError
from launchbay.hookspecs import hookimpl


@dataclass
class SklearnConfig:
    estimator: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 500}
    )
    allowed_prefixes: list[str] = field(default_factory=lambda: ["sklearn.", "xgboost.", "lightgbm."])


def _targets(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["_target_"]] if "_target_" in node else []
        return own + [t for value in node.values() for t in _targets(value)]
    if isinstance(node, list):
        return [t for value in node for t in _targets(value)]
    return []


def build(cfg: SklearnConfig):
    """An unfitted pipeline: preprocessing, then the configured estimator."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    spec = plain(OmegaConf.create(cfg.estimator))
    for target in _targets(spec) or ["<none>"]:
        if not any(target.startswith(prefix) for prefix in cfg.allowed_prefixes):
            raise LaunchbayError(
                f"model.estimator._target_ '{target}' is not allowed (allowed prefixes: {list(cfg.allowed_prefixes)})"
            )
    try:
        estimator = instantiate(spec)
    except Exception as exc:
        raise LaunchbayError(f"model.estimator: cannot build {spec['_target_']}: {exc.__cause__ or exc}") from exc
    preprocess = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", min_frequency=5), make_column_selector(dtype_include=["object", "string"])),
        (SimpleImputer(strategy="median"), make_column_selector(dtype_include="number")),
    )
    return make_pipeline(preprocess, estimator)


@hookimpl
def launchbay_model_families() -> list[ModelFamily]:
    return [ModelFamily("sklearn", build, SklearnConfig, "any scikit-learn estimator, by _target_")]
