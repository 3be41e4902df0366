"""Mergeable counts of a model's outcomes on scored rows, and the metrics they give.

A scoring worker gathers a sketch per batch (``Target.gather``); sketches merge by adding,
so the performance of a run comes from the same read as its scores, however it was split.

- Classifiers: the confusion matrix (accuracy and F1, exact), the sum of log losses (exact up
  to float rounding), and per true class a histogram of each scored probability column over
  ``bins`` equal bins of [0, 1], right-closed so that the decision threshold 0.5 is an edge
  (ROC AUC, within the bound of ``metrics.histogram_auc``). Binary classifiers also count every
  row's score, labelled or not, and the scores' total per bin: the estimate without labels
  (``cbpe``) reads them.
- Regressors: the labels' count, mean and sum of squared deviations (merged by Chan's rule) and
  the sums of squared and absolute errors: r2, rmse and mae, exact up to float rounding.

Rows whose label is null are not labelled; a classifier's label that is none of its classes
(or a regressor's non-finite label) is counted in ``unknown`` and left out of the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from launchbay.performance.metrics import EPS, histogram_auc


def task_of(model: Any) -> str:
    """"binary", "multiclass" or "regression", from a fitted model."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return "regression"
    return "binary" if len(classes) == 2 else "multiclass"


def bin_of(scores: np.ndarray, bins: int) -> np.ndarray:
    """The bin of each score in ``bins`` equal right-closed bins of [0, 1]: (b / bins, (b + 1) / bins]; 0 in the first."""
    return np.clip(np.ceil(scores * bins).astype(np.int64) - 1, 0, bins - 1)


def numbers(values: Any) -> np.ndarray:
    """An Arrow or numpy column as float64: nulls, and every value of a column that is not numeric, as NaN."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        try:
            values = values.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return np.full(len(values), np.nan)
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class Target:
    """What a scoring worker needs to gather a model's performance: its task, the label column,
    its classes (in the model's order) and the bins of the score histograms."""

    task: str
    label: str
    classes: tuple = ()
    bins: int = 2048

    @classmethod
    def of(cls, model: Any, label: str, bins: int) -> Target:
        """What to count of a fitted ``model``'s outcomes, its labels in column ``label``."""
        classes = getattr(model, "classes_", None)
        return cls(task_of(model), label, tuple(classes.tolist()) if classes is not None else (), bins)

    def class_index(self, values: Any) -> np.ndarray:
        """The index of each value among the classes; -1 for nulls and values that are none of them."""
        values = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
        if not isinstance(values, pa.ChunkedArray):
            values = pa.chunked_array([pa.array(values)])
        known = pa.array(list(self.classes))
        try:  # the classes in the values' type, so that each value is matched on its own (a NaN or 2.5 is -1, not the batch)
            known = known.cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            try:
                values = values.cast(known.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return np.full(len(values), -1, np.int64)
        return np.asarray(pc.index_in(values, value_set=known).fill_null(-1).to_numpy(), dtype=np.int64)

    def comparable(self, labels: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray, float, float]:
        """A binary classifier's labels and predictions as float64 to compare with the returned negative and positive
        class in a kernel: numeric classes as they are, others by their index among the classes (-1: neither)."""
        if all(isinstance(c, int | float) for c in self.classes):
            negative, positive = map(float, self.classes)
            return numbers(labels), numbers(predicted), negative, positive
        return self.class_index(labels).astype(np.float64), self.class_index(predicted).astype(np.float64), 0.0, 1.0

    def gather(self, batch: pa.Table, predictions: dict[str, Any], probabilities: Callable[[], np.ndarray] | None = None) -> Any:
        """The sketch of one scored batch: ``predictions`` holds ``prediction`` (and ``score`` for binary
        classifiers); ``probabilities`` gives a multiclass model's class probabilities (None: not counted)."""
        labels = batch.column(self.label) if self.label in batch.column_names else pa.chunked_array([pa.nulls(batch.num_rows)])
        if self.task == "regression":
            return RegressorSketch.of(numbers(labels), numbers(predictions["prediction"]), labels.null_count)
        if self.task == "binary" and "score" in predictions:  # a classifier without predict_proba has none
            return ClassifierSketch.binary(self, numbers(predictions["score"]), labels, predictions["prediction"])
        truth = self.class_index(labels)
        predicted = self.class_index(predictions["prediction"])
        unknown = int((truth < 0).sum()) - labels.null_count
        labelled = truth >= 0
        y = truth[labelled]
        chosen = cells = None  # the true class's probability and the bins of the scored columns, of labelled rows
        if probabilities is not None:
            proba = probabilities()[labelled] if len(y) else np.zeros((0, len(self.classes)))
            chosen, cells = proba[np.arange(len(y)), y], bin_of(proba, self.bins)
        return ClassifierSketch.of(self, batch.num_rows, y, predicted[labelled], chosen, cells, unknown)


@dataclass
class ClassifierSketch:
    """Counts of a classifier's outcomes (see the module docstring); arrays add up when merged."""

    rows: int
    labeled: int
    unknown: int
    confusion: np.ndarray  # [true class, predicted class]
    log_loss: float  # sum over labelled rows; NaN where the probabilities were not seen
    histograms: np.ndarray | None  # [true class, scored column, bin]: binary: the score column only
    scores: np.ndarray | None  # binary: every row's score per bin, labelled or not
    score_sums: np.ndarray | None  # binary: the total of those scores per bin (clipped to [0, 1], NaN as 0)

    @classmethod
    def of(cls, target: Target, rows: int, y: np.ndarray, predicted: np.ndarray, chosen, cells, unknown: int) -> ClassifierSketch:
        """From ``rows`` rows: the labelled rows' classes ``y``, predicted classes, probability of their
        true class and bins of each scored column (None: probabilities not seen)."""
        k, bins = len(target.classes), target.bins
        confusion = np.bincount(y * k + predicted, minlength=k * k).reshape(k, k)
        log_loss, histograms = float("nan"), None
        if chosen is not None:
            log_loss = float(-np.log(np.clip(chosen, EPS, 1 - EPS)).sum())
            histograms = np.stack(
                [np.bincount(y * bins + cells[:, c], minlength=k * bins).reshape(k, bins) for c in range(cells.shape[1])], axis=1
            )
        return cls(rows, len(y), unknown, confusion, log_loss, histograms, None, None)

    @classmethod
    def binary(cls, target: Target, score: np.ndarray, labels: Any, predicted: Any) -> ClassifierSketch:
        """From every row's score, label and prediction, in one pass; numeric classes are compared as
        they are, others by their index among the classes."""
        from launchbay.performance.kernels import count_binary

        nulls = labels.null_count
        labels, predicted, negative, positive = target.comparable(labels, predicted)
        bins = target.bins
        counted, sums = np.zeros(bins, np.int64), np.zeros(bins)
        histograms, confusion = np.zeros((2, 1, bins), np.int64), np.zeros((2, 2), np.int64)
        chosen = np.empty(len(score))
        count_binary(score, labels, predicted, negative, positive, counted, sums, histograms[:, 0], confusion, chosen)
        labeled = int(confusion.sum())
        loss = float(-np.log(chosen).sum()) if labeled else 0.0  # unlabelled rows add log(1) each
        return cls(len(score), labeled, len(score) - labeled - nulls, confusion, loss, histograms, counted, sums)

    def merge(self, other: ClassifierSketch) -> ClassifierSketch:
        return replace(self, **{f.name: add(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)})

    def realized(self) -> dict[str, float] | None:
        """accuracy, roc_auc, log_loss (and f1 for binary classifiers) of the labelled rows, as
        scikit-learn measures them; a metric they do not define is left out; None without labels."""
        if not self.labeled:
            return None
        n, k = self.labeled, len(self.confusion)
        out = {"accuracy": float(np.trace(self.confusion) / n)}
        auc, _ = self.roc_auc()
        if auc == auc:
            out["roc_auc"] = auc
        if self.log_loss == self.log_loss:
            out["log_loss"] = self.log_loss / n
        if k == 2:
            tp, fp, fn = self.confusion[1, 1], self.confusion[0, 1], self.confusion[1, 0]
            out["f1"] = float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0
        return out

    def roc_auc(self) -> tuple[float, float]:
        """ROC AUC of the labelled rows from the histograms (one-vs-rest, macro-averaged for several
        classes) and its error bound; NaN where a class has no positive or no negative row."""
        if self.histograms is None:
            return float("nan"), float("nan")
        k, columns = self.histograms.shape[:2]
        if columns == 1:  # binary: the score of the second class
            return histogram_auc(self.histograms[1, 0], self.histograms[0, 0])
        pairs = [histogram_auc(self.histograms[c, c], self.histograms[:, c].sum(axis=0) - self.histograms[c, c]) for c in range(k)]
        return float(np.mean([a for a, _ in pairs])), float(np.mean([b for _, b in pairs]))


@dataclass
class RegressorSketch:
    """Sums of a regressor's outcomes (see the module docstring)."""

    rows: int
    labeled: int
    unknown: int
    mean: float  # of the labels
    m2: float  # sum of the labels' squared deviations from their mean
    sse: float  # sum of squared errors
    sae: float  # sum of absolute errors

    @classmethod
    def of(cls, y: np.ndarray, predicted: np.ndarray, nulls: int) -> RegressorSketch:
        known = np.isfinite(y)
        y, error = y[known], y[known] - predicted[known]
        mean = float(y.mean()) if len(y) else 0.0
        return cls(len(known), len(y), len(known) - len(y) - nulls, mean, float(((y - mean) ** 2).sum()), float((error**2).sum()),
                   float(np.abs(error).sum()))

    def merge(self, other: RegressorSketch) -> RegressorSketch:
        n = self.labeled + other.labeled
        delta = other.mean - self.mean
        mean = self.mean + delta * other.labeled / n if n else 0.0
        m2 = self.m2 + other.m2 + (delta**2 * self.labeled * other.labeled / n if n else 0.0)
        return RegressorSketch(self.rows + other.rows, n, self.unknown + other.unknown, mean, m2, self.sse + other.sse, self.sae + other.sae)

    def realized(self) -> dict[str, float] | None:
        """r2, rmse and mae of the labelled rows, as scikit-learn measures them; None without labels."""
        n = self.labeled
        if not n:
            return None
        r2 = 1 - self.sse / self.m2 if self.m2 else (1.0 if self.sse == 0 else 0.0)
        return {"r2": float(r2), "rmse": float(np.sqrt(self.sse / n)), "mae": self.sae / n}

    def roc_auc(self) -> tuple[float, float]:
        return float("nan"), float("nan")


def add(a: Any, b: Any) -> Any:
    """The sum of two counts or arrays; an array missing on one side (None) is missing in the sum."""
    return None if a is None or b is None else a + b
