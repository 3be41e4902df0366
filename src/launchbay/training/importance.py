"""What a model version relies on, stored in its ``meta.json`` as ``importance``: the answer of a
plugin's ``launchbay_model_attributions`` for its family, else the permutation importance of each
feature on (at most ``MAX_ROWS`` of) the holdout, scored by the training metric in one Ray task."""

from __future__ import annotations

import math
import reprlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from launchbay.plugins import PluginError
from launchbay.training.metrics import LOWER_IS_BETTER, measure
from launchbay.training.search import remote_get

if TYPE_CHECKING:
    from launchbay.context import RunContext

REPEATS = 5  # shuffles of each feature
MAX_ROWS = 5_000  # holdout rows explained, drawn with job.seed beyond that


def explain(ctx: RunContext, family: str, model: Any, X: pd.DataFrame, y: np.ndarray, metrics: dict[str, float], resources: dict[str, Any]) -> dict[str, Any]:
    """The ``importance`` record of ``model`` (of ``family``) on the holdout ``X``, ``y``, where it measured ``metrics``;
    the permutation runs in a Ray task that asks for ``resources`` (each training task's)."""
    import ray

    seed = ctx.cfg.job.seed
    rows = sample(len(X), seed)
    X, y = X.iloc[rows], y[rows]
    if answered := ctx.manager.first_answer("launchbay_model_attributions", family=family, model=model, frame=X):
        plugin, answer = answered
        method, ranked = checked(answer, list(X.columns), f"{plugin.label} answered launchbay_model_attributions with")
        return {"method": method, "rows": len(X), "features": ranked}
    metric = scored_by(metrics, ctx.cfg.train.metric)
    ref = ray.remote(permutation).options(**resources).remote(model, X, y, metric, seed)
    ranked = remote_get([ref], lambda _: f"the {family} model", doing="computing the permutation importance of")[0]
    return {"method": "permutation", "metric": metric, "repeats": REPEATS, "seed": seed, "rows": len(X), "features": ranked}


def sample(rows: int, seed: int) -> np.ndarray:
    """Positions of the holdout rows explained: all of them, or ``MAX_ROWS`` drawn with ``seed``, in their order."""
    if rows <= MAX_ROWS:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, MAX_ROWS, replace=False))


def scored_by(metrics: dict[str, float], metric: str) -> str:
    """``train.metric`` where the holdout measures it, else the first metric it does (a regressor under the default roc_auc)."""
    return metric if metric in metrics else next(iter(metrics))


def score(model: Any, X: pd.DataFrame, y: np.ndarray, metric: str) -> float:
    """``metric`` of ``model`` on ``X``, ``y`` as a score, higher is better (lower-is-better metrics negated)."""
    value = measure(model, X, y, metric)
    return -value if metric in LOWER_IS_BETTER else value


def permutation(model: Any, X: pd.DataFrame, y: np.ndarray, metric: str, seed: int) -> list[dict[str, Any]]:
    """Each feature's permutation importance (``REPEATS`` shuffles with ``seed``): the mean and std of the drop of the score."""
    from sklearn.inspection import permutation_importance

    def scorer(_: Any, X: pd.DataFrame, y: np.ndarray) -> float:  # scores ``model`` itself: any family, segmented ones too
        return score(model, X, y, metric)

    found = permutation_importance(Fitted(), X, y, scoring=scorer, n_repeats=REPEATS, random_state=seed)
    return ranking(X.columns, found.importances_mean, found.importances_std)


class Fitted:
    """What ``permutation_importance`` takes for an estimator (it asks for ``fit``; nothing is refitted): the scorer holds the model."""

    def fit(self, *_: Any) -> Fitted:
        return self


def ranking(features: Any, means: Any, stds: Any) -> list[dict[str, Any]]:
    """``{"feature", "mean", "std"}`` per feature, by mean, highest first."""
    rows = [{"feature": str(name), "mean": float(mean), "std": float(std)} for name, mean, std in zip(features, means, stds)]
    return sorted(rows, key=lambda row: -row["mean"])


def checked(answer: Any, features: list[str], who: str) -> tuple[str, list[dict[str, Any]]]:
    """A plugin's attributions as ``(method, ranking)``; an answer of another shape is a one-line error after ``who``."""
    shape = "{'method': str, 'features': [{'feature': name, 'mean': number, 'std': number}, ...]}"
    if not isinstance(answer, dict) or not isinstance(answer.get("method"), str) or not isinstance(answer.get("features"), list):
        raise PluginError(f"{who} {reprlib.repr(answer)}, expected {shape}")
    for row in answer["features"]:
        numbers = isinstance(row, dict) and all(isinstance(row.get(key), int | float) and math.isfinite(row[key]) for key in ("mean", "std"))
        if not numbers or row.get("feature") not in features:
            raise PluginError(f"{who} {reprlib.repr(row)} among its features: expected finite 'mean' and 'std' of a 'feature' of {features}")
    rows = answer["features"]
    return answer["method"], ranking([r["feature"] for r in rows], [r["mean"] for r in rows], [r["std"] for r in rows])
