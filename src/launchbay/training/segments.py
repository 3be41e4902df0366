"""'Many models': one model per value of a segment column, fitted as parallel Ray tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from launchbay.training.search import fit, remote_get


class SegmentedModel:
    """Routes each row to the model of its segment; unknown, null or small segments use ``fallback``."""

    def __init__(self, column: str, models: dict[Any, Any], fallback: Any) -> None:
        self.column = column
        self.models = models
        self.fallback = fallback
        if hasattr(fallback, "classes_"):
            self.classes_ = fallback.classes_

    def _route(self, X: pd.DataFrame, method: str) -> np.ndarray:
        codes, values = pd.factorize(X[self.column])
        out = None
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            model = self.models.get(values[code], self.fallback) if code >= 0 else self.fallback
            part = np.asarray(getattr(model, method)(X.iloc[rows]))
            if out is None:
                out = np.empty((len(X),) + part.shape[1:], dtype=part.dtype)
            out[rows] = part
        return out if out is not None else getattr(self.fallback, method)(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._route(X, "predict")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._route(X, "predict_proba")


def fit_segments(
    build: Callable, settings: Any, X: pd.DataFrame, y: np.ndarray, column: str, *, min_rows: int, resources: dict[str, Any] | None = None
) -> tuple[SegmentedModel, dict[str, dict]]:
    """A model per segment of ``column`` plus one on all rows, all fitted in parallel, each task
    asking for ``resources`` (``runtime.ray_resources``).

    A segment gets its own model when it has at least ``min_rows`` rows and, for a
    classification label, every class of the whole data (so its probabilities line up).
    """
    import ray

    codes, values = pd.factorize(X[column])
    classification = not np.issubdtype(y.dtype, np.floating)
    classes = set(np.unique(y)) if classification else set()
    data, labels = ray.put(X), ray.put(y)
    task = ray.remote(fit).options(scheduling_strategy="SPREAD", **(resources or {}))
    own, info = {}, {}
    for code, value in enumerate(values):
        rows = np.flatnonzero(codes == code)
        eligible = len(rows) >= min_rows and (not classification or set(np.unique(y[rows])) == classes)
        info[str(value)] = {"rows": int(len(rows)), "model": "own" if eligible else "fallback"}
        if eligible:
            own[value] = task.remote(build, settings, data, labels, rows)
    fallback = task.remote(build, settings, data, labels, None)
    names = [f"segment {column}={value}" for value in own] + ["the model of all rows"]
    fitted = remote_get([*own.values(), fallback], lambda i: names[i])
    return SegmentedModel(column, dict(zip(own, fitted[:-1])), fitted[-1]), info
