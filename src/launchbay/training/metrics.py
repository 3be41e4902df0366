"""Model metrics, by name, shared by cross-validation, the holdout and the promotion rule."""

from __future__ import annotations

import numpy as np

from launchbay.config import BINARY_METRICS, CLASSIFICATION_METRICS, REGRESSION_METRICS
from launchbay.errors import LaunchbayError
from launchbay.performance.metrics import LOWER_IS_BETTER

__all__ = ["LOWER_IS_BETTER", "evaluate", "gain", "is_classifier", "measure"]


def is_classifier(model) -> bool:
    return getattr(model, "classes_", None) is not None


def measure(model, X, y: np.ndarray, metric: str) -> float:
    """One metric of a fitted model on rows ``X`` with labels ``y``."""
    from sklearn import metrics

    if metric == "accuracy":
        return float(metrics.accuracy_score(y, model.predict(X)))
    if metric in ("roc_auc", "log_loss"):
        proba = model.predict_proba(X)
        if metric == "log_loss":
            return float(metrics.log_loss(y, proba, labels=model.classes_))
        if proba.shape[1] == 2:
            return float(metrics.roc_auc_score(y, proba[:, 1]))
        return float(metrics.roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_))
    predicted = model.predict(X)
    if metric == "f1":
        if not is_classifier(model) or len(model.classes_) != 2:
            raise LaunchbayError("train.metric: f1 is measured for binary classifiers only")
        return float(metrics.f1_score(y, predicted, pos_label=model.classes_[1]))
    if metric == "r2":
        return float(metrics.r2_score(y, predicted))
    if metric == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y, predicted)))
    if metric == "mae":
        return float(metrics.mean_absolute_error(y, predicted))
    raise LaunchbayError(
        f"train.metric: unknown metric '{metric}' (known: {list(CLASSIFICATION_METRICS + BINARY_METRICS + REGRESSION_METRICS)})"
    )


def evaluate(model, X, y: np.ndarray) -> dict[str, float]:
    """Every metric that fits the model: classification metrics (and f1 for binary ones) for classifiers, else regression ones."""
    if not len(y):
        return {}
    names: tuple[str, ...] = REGRESSION_METRICS
    if is_classifier(model):
        names = CLASSIFICATION_METRICS + (BINARY_METRICS if len(model.classes_) == 2 else ())
        if len(np.unique(y)) < 2:
            names = ("accuracy",)
    return {name: measure(model, X, y, name) for name in names}


def gain(metric: str, new: float, old: float) -> float:
    """How much better ``new`` is than ``old`` (positive: better), whatever the metric's direction."""
    return old - new if metric in LOWER_IS_BETTER else new - old
