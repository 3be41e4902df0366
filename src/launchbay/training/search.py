"""Hyperparameter search and cross-validation as Ray tasks.

The training rows go to the object store once; each (candidate, fold) fit is one Ray
task that reads them without a copy and returns one number, so the same code runs on
two cores or on a cluster. Candidates are ranked by their mean fold score; ties go to
the first candidate in grid order (as scikit-learn's ``GridSearchCV`` does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from launchbay.errors import LaunchbayError
from launchbay.registry import flatten
from launchbay.training.metrics import LOWER_IS_BETTER, measure


def grid(search: dict[str, Any]) -> list[dict[str, Any]]:
    """Every point of a nested grid as ``{"estimator.C": 0.1, ...}``; one empty point without a grid."""
    axes = flatten(search) if search else {}
    for path, values in axes.items():
        if not isinstance(values, list) or not values:
            raise LaunchbayError(f"train.search.{path}: expected a non-empty list of candidate values, got {values!r}")
    return [dict(zip(axes, point)) for point in itertools.product(*axes.values())]


def fold_rows(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, validation rows) per fold; stratified unless the label is a float."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if folds < 2 or folds > len(y):
        raise LaunchbayError(f"train.folds must be between 2 and the number of training rows ({len(y)}), got {folds}")
    splitter = (KFold if np.issubdtype(y.dtype, np.floating) else StratifiedKFold)(folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def fit(build: Callable, settings: Any, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray | None = None):
    """Build and fit a model on ``rows`` of ``X`` (all rows when None)."""
    if rows is not None:
        X, y = X.iloc[rows], y[rows]
    return build(settings).fit(X, y)


def fold_score(build: Callable, settings: Any, X, y, train_rows, validation_rows, metric: str) -> float:
    """Fit on one fold's training rows, score ``metric`` on its validation rows."""
    model = fit(build, settings, X, y, train_rows)
    return measure(model, X.iloc[validation_rows], y[validation_rows], metric)


def remote_get(refs: list, what: Callable[[int], str], doing: str = "fitting") -> list:
    """``ray.get`` of each ref, a failed task becoming one line that says which fit (or what ``doing``) failed."""
    import ray

    from launchbay.errors import root_cause

    results = []
    for i, ref in enumerate(refs):
        try:
            results.append(ray.get(ref))
        except ray.exceptions.RayTaskError as exc:
            raise LaunchbayError(f"train: {doing} {what(i)} failed: {root_cause(exc)}") from exc
    return results


def cross_validate(
    build: Callable, candidates: list[Any], X: pd.DataFrame, y: np.ndarray, *, folds: int, metric: str, seed: int, resources: dict[str, Any] | None = None
) -> list[float]:
    """The mean validation ``metric`` of each candidate's settings, one Ray task per (candidate, fold)
    that asks for ``resources`` (``runtime.ray_resources``)."""
    import ray

    data, labels = ray.put(X), ray.put(y)
    splits = [(ray.put(train), ray.put(validation)) for train, validation in fold_rows(y, folds, seed)]
    task = ray.remote(fold_score).options(scheduling_strategy="SPREAD", **(resources or {}))
    refs = [task.remote(build, s, data, labels, train, validation, metric) for s in candidates for train, validation in splits]
    scores = np.array(remote_get(refs, lambda i: f"candidate {i // folds} on fold {i % folds}")).reshape(len(candidates), folds)
    return [float(v) for v in scores.mean(axis=1)]


def best(scores: list[float], metric: str) -> int:
    """Index of the best mean score; the first one among ties."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return max(range(len(scores)), key=lambda i: (sign * scores[i], -i))
