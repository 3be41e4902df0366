"""The vocabulary of model metrics: their names, which way is better, how much worse one got,
and the ROC AUC of scores counted in bins (with its error bound)."""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float64).eps)  # probabilities are clipped to [EPS, 1 - EPS] for log loss, as scikit-learn does

# Every model metric launchbay measures; f1 is for binary classifiers only.
METRICS = ("accuracy", "roc_auc", "log_loss", "f1", "r2", "rmse", "mae")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})


def drop(metric: str, reference: float, value: float) -> float:
    """How much worse ``value`` is than ``reference`` (positive: worse), whatever the metric's direction."""
    return value - reference if metric in LOWER_IS_BETTER else reference - value


def histogram_auc(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    """ROC AUC of scores counted (or, for expected counts, weighted) per bin, bins in increasing
    score order, and its error bound; NaN for both without positives or negatives.

    Pairs of a positive and a negative in different bins are ordered as their scores are; a pair
    within one bin counts one half, as a tie does in scikit-learn. The AUC of the rows themselves
    therefore lies within ``bound = sum_b positive_b * negative_b / (2 * P * N)`` of the value.
    """
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    pairs = positive.sum() * negative.sum()
    if not pairs > 0:
        return float("nan"), float("nan")
    below = np.cumsum(negative) - negative
    auc = float((positive * (below + 0.5 * negative)).sum() / pairs)
    return auc, float(0.5 * (positive * negative).sum() / pairs)
