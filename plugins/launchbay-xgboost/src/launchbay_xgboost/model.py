"""XGBoost gradient-boosted trees behind the scikit-learn API launchbay's model families follow.

String columns become categorical features, with the categories seen in training (an unseen
category or a null is a missing value, which XGBoost routes down each tree's default branch);
numeric nulls stay missing. Classification encodes the labels as ``0..k-1`` and decodes the
predictions, so ``classes_`` holds the original labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import pandas as pd


class Task(Enum):
    auto = "auto"  # regression for float labels, else classification
    classification = "classification"
    regression = "regression"


class Device(Enum):
    cpu = "cpu"
    cuda = "cuda"


class TreeMethod(Enum):
    hist = "hist"
    approx = "approx"
    exact = "exact"


@dataclass
class XGBoostConfig:
    """``model=xgboost model.max_depth=8 model.device=cuda``; ``params`` passes any other XGBoost parameter."""

    task: Task = Task.auto
    n_estimators: int = 200  # boosting rounds (at most, with early stopping)
    max_depth: int = 6
    learning_rate: float = 0.1
    tree_method: TreeMethod = TreeMethod.hist
    early_stopping_rounds: int | None = None  # stop after this many rounds without a better validation score
    validation_fraction: float = 0.1  # share of the training rows held out for early stopping
    device: Device = Device.cpu  # cuda: each fit and scoring task asks Ray for a GPU
    n_jobs: int | None = None  # threads; null: the CPUs Ray gave the task
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {subsample: 0.8, reg_lambda: 2}

    def __post_init__(self) -> None:
        checks = [
            (self.n_estimators >= 1, "n_estimators", "at least 1", self.n_estimators),
            (self.max_depth >= 0, "max_depth", "0 or more", self.max_depth),
            (self.learning_rate > 0, "learning_rate", "positive", self.learning_rate),
            (self.early_stopping_rounds is None or self.early_stopping_rounds >= 1, "early_stopping_rounds", "at least 1 (or null)",
             self.early_stopping_rounds),
            (0 < self.validation_fraction < 1, "validation_fraction", "in (0, 1)", self.validation_fraction),
            (self.n_jobs is None or self.n_jobs >= 1, "n_jobs", "at least 1 (or null)", self.n_jobs),
            (not (self.tree_method == TreeMethod.exact and self.device == Device.cuda), "tree_method", "hist or approx with device=cuda",
             self.tree_method.value),
        ]
        for ok, key, expected, value in checks:
            if not ok:
                raise LaunchbayError(f"{key} must be {expected}, got {value}")


def task_resources() -> dict[str, float]:
    """What Ray gave the task this runs in (``CPU``, ``GPU``); nothing outside one, on the driver."""
    import ray

    in_task = ray.is_initialized() and ray.get_runtime_context().worker.mode == ray.WORKER_MODE
    return ray.get_runtime_context().get_assigned_resources() if in_task else {}


def threads(cfg: XGBoostConfig) -> int | None:
    """``n_jobs``, else the CPUs Ray gave the task (None: XGBoost's default, every core)."""
    cpus = task_resources().get("CPU")
    return cfg.n_jobs or (max(1, int(cpus)) if cpus else None)


class XGBoostModel:
    """An unfitted XGBoost classifier or regressor (``task``) with ``XGBoostConfig``'s settings."""

    def __init__(self, cfg: XGBoostConfig) -> None:
        self.cfg = cfg

    def _params(self) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "n_estimators": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "learning_rate": cfg.learning_rate,
            "tree_method": cfg.tree_method.value,
            "early_stopping_rounds": cfg.early_stopping_rounds,
            "device": cfg.device.value,
            "n_jobs": threads(cfg),
            "random_state": cfg.seed,
            "enable_categorical": True,
            **cfg.params,
        }

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` with its string columns as the categories seen in training (others: missing)."""
        import pandas as pd

        columns = {
            name: pd.Categorical.from_codes(dtype.categories.get_indexer(X[name]), dtype=dtype)
            for name, dtype in self.categories_.items()
        }
        return X.assign(**columns) if columns else X

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> XGBoostModel:
        import pandas as pd
        import xgboost
        from sklearn.model_selection import train_test_split

        strings = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
        self.categories_ = {c: pd.CategoricalDtype(sorted(X[c].dropna().unique())) for c in strings}
        frame, y = self._frame(X), np.asarray(y)
        classify = self.cfg.task == Task.classification or (self.cfg.task == Task.auto and not np.issubdtype(y.dtype, np.floating))
        if classify:
            self.classes_, target = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise LaunchbayError(f"job.label: the training rows hold one class only ({self.classes_[0]!r}); a classifier needs two")
        else:
            target = y.astype(np.float64)
        estimator = (xgboost.XGBClassifier if classify else xgboost.XGBRegressor)(**self._params())
        fit_args: dict[str, Any] = {}
        if self.cfg.early_stopping_rounds:
            stratify = target if classify and np.bincount(target).min() >= 2 else None
            train, valid = train_test_split(
                np.arange(len(frame)), test_size=self.cfg.validation_fraction, random_state=self.cfg.seed, stratify=stratify
            )
            fit_args = {"eval_set": [(frame.iloc[valid], target[valid])], "verbose": False}
            frame, target = frame.iloc[train], target[train]
        self.estimator_ = estimator.fit(frame, target, **fit_args)
        return self

    def _ready(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` prepared for the fitted trees, which use the CPUs of the task that predicts, and its GPU
        where it has one (trained with ``device=cuda``); elsewhere (the driver) the CPU."""
        on_gpu = self.cfg.device == Device.cuda and task_resources().get("GPU")
        self.estimator_.set_params(n_jobs=threads(self.cfg), device="cuda" if on_gpu else "cpu")
        return self._frame(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict_proba(self._ready(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if hasattr(self, "classes_"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return self.estimator_.predict(self._ready(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's SHAP contribution of each feature (XGBoost's ``pred_contribs``, the bias column dropped), summed
        in absolute value over the classes of a multi-class model: one row per row of ``X``, one column per feature."""
        import xgboost

        rounds = (0, self.estimator_.best_iteration + 1) if self.cfg.early_stopping_rounds else (0, 0)
        matrix = xgboost.DMatrix(self._ready(X), enable_categorical=True)
        contributions = self.estimator_.get_booster().predict(matrix, pred_contribs=True, iteration_range=rounds)[..., :-1]
        return np.abs(contributions).sum(axis=1) if contributions.ndim == 3 else contributions
