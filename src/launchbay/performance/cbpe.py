"""Performance without labels: confidence-based performance estimation (CBPE, as NannyML defines it).

At training time a binary classifier's score is calibrated on the holdout (the raw score as it is,
Platt scaling or isotonic regression, whichever held-out folds show to be the best beyond their
noise): ``Calibration`` maps a raw score to the probability that the row is positive. On a batch without
labels, each row then counts as an expected positive by its calibrated probability ``p`` and as an
expected negative by ``1 - p``: the expected confusion matrix gives the expected accuracy and F1
(``2 E[TP] / (2 E[TP] + E[FP] + E[FN])``), and the expected positives and negatives per score bin
the expected ROC AUC. The score histogram of the scoring pass (rows and their scores' total per
bin) holds all it needs; see ``estimate`` for the ROC AUC's discretisation bound.

The estimate holds under covariate shift (the features move, the label given the features does
not); when the concept itself changes it cannot see it, and only labels can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from launchbay.performance.metrics import histogram_auc

# The calibrations a holdout chooses from, simplest first: the raw score as it is, Platt scaling (a logistic
# regression on the score's logit) and isotonic regression (scikit-learn's, linear between its steps).
METHODS = ("identity", "platt", "isotonic")
FOLDS = 5


@dataclass(frozen=True)
class Calibration:
    """A monotone map from raw score to calibrated probability: linear between ``scores`` (increasing)
    and their ``probabilities``, constant outside (as scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``)."""

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]
    rows: int  # the holdout rows it was fitted on
    method: str = "isotonic"

    @classmethod
    def fit(cls, scores: np.ndarray, positive: np.ndarray, method: str = "auto") -> Calibration | None:
        """The calibration of ``scores`` against ``positive`` (booleans) by ``method``, or by the simplest of
        ``METHODS`` whose Brier score on held-out folds is within one standard error of the best ("auto").
        None unless both classes occur.

        Isotonic steps (and Platt's two parameters, less so) follow the holdout's noise: on a model whose
        score is already close to calibrated they add more error to the estimate than they take away;
        the folds tell whether a method's gain is more than that noise.
        """
        scores, positive = np.asarray(scores, np.float64), np.asarray(positive, dtype=bool)
        if positive.all() or not positive.any():
            return None
        if method == "auto":
            method = simplest_within_noise(scores, positive)
        knots, probabilities = FITS[method](scores, positive)
        return cls(tuple(map(float, knots)), tuple(map(float, probabilities)), int(len(positive)), method)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(scores, self.scores, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rows": self.rows, "scores": list(self.scores), "probabilities": list(self.probabilities)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Calibration:
        return cls(tuple(record["scores"]), tuple(record["probabilities"]), int(record["rows"]), record.get("method", "isotonic"))


def identity(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.array([0.0, 1.0]), np.array([0.0, 1.0])


def isotonic(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, positive.astype(np.float64))
    return iso.X_thresholds_, iso.y_thresholds_


# Platt scaling is tabulated at these scores: every 1/1024, and denser towards 0 and 1, where the logit is steep.
PLATT_KNOTS = np.unique(np.r_[np.linspace(0, 1, 1025), 1 / (1 + np.exp(-np.linspace(-20, 20, 401)))])


def platt(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigmoid(a logit(score) + b), fitted by logistic regression (a <= 0 would turn the order round: isotonic instead)."""
    from scipy.special import expit, logit
    from sklearn.linear_model import LogisticRegression

    z = logit(np.clip(scores, 1e-12, 1 - 1e-12))[:, None]
    fitted = LogisticRegression(C=1e6).fit(z, positive)
    slope, intercept = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
    if not slope > 0:
        return isotonic(scores, positive)
    return PLATT_KNOTS, expit(slope * logit(np.clip(PLATT_KNOTS, 1e-300, 1 - 1e-16)) + intercept)


FITS = {"identity": identity, "platt": platt, "isotonic": isotonic}


def held_out_losses(scores: np.ndarray, positive: np.ndarray, method: str) -> np.ndarray | None:
    """Each row's squared error under ``method``'s calibration fitted on the other ``FOLDS`` - 1 folds (None where a fold lacks a class)."""
    folds = np.random.default_rng(0).permutation(len(scores)) % FOLDS
    losses = np.empty(len(scores))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        if positive[train].all() or not positive[train].any():
            return None
        knots, probabilities = FITS[method](scores[train], positive[train])
        losses[test] = (np.interp(scores[test], knots, probabilities) - positive[test]) ** 2
    return losses


def simplest_within_noise(scores: np.ndarray, positive: np.ndarray) -> str:
    """The first of ``METHODS`` whose held-out Brier score is above the best one's by at most the standard error of
    the difference (rows paired); isotonic where the holdout is too small for folds."""
    held_out = {m: held_out_losses(scores, positive, m) for m in METHODS}
    losses = {m: v for m, v in held_out.items() if v is not None}
    if len(losses) < len(METHODS):
        return "isotonic"
    best = min(METHODS, key=lambda m: losses[m].mean())
    for method in METHODS:
        gap = losses[method] - losses[best]
        if gap.mean() <= gap.std() / np.sqrt(len(gap)):
            return method
    return best


def expected_counts(counts: np.ndarray, sums: np.ndarray, calibration: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """Expected positives per equal bin of [0, 1] of the rows that ``counts`` counts (``sketch.bin_of``) with score
    total ``sums``, the calibration taken at the bins' edges and linear between them (exact, whatever the scores
    within a bin), and the calibration's rise across each bin."""
    bins = len(counts)
    at_edges = calibration(np.linspace(0.0, 1.0, bins + 1))
    rise = np.diff(at_edges)
    within = np.clip(sums * bins - counts * np.arange(bins), 0.0, counts)  # sum over a bin's rows of their place in it, in [0, 1]
    return counts * at_edges[:-1] + rise * within, rise


def estimate(counts: np.ndarray, sums: np.ndarray, calibration: Calibration) -> tuple[dict[str, float], float] | None:
    """Expected accuracy, ROC AUC and F1 of the rows whose scores ``counts`` counts per equal bin of [0, 1]
    (``sketch.bin_of``), ``sums`` their scores' total per bin, and the bound of the ROC AUC's discretisation;
    a row is predicted positive when its score is above 0.5. None without rows.

    Accuracy and F1 are exact: 0.5 is a bin edge. The exact expected ROC AUC (every pair of rows ordered by
    score, ties and a row with itself one half: NannyML's area under the expected TPR/FPR curve) differs from
    the histogram's only within bins, where the histogram counts every pair one half: by
    ``(p_i - p_j) / 2`` for a pair with ``s_i > s_j``, between 0 and the calibration's rise across the bin.
    The exact value therefore lies in ``[auc, auc + 2 * bound]``: the estimate is the middle,
    ``bound = sum_b n_b (n_b - 1) rise_b / (8 P N)`` (``P``, ``N``: expected positives and negatives).
    """
    counts, sums = np.asarray(counts, np.float64), np.asarray(sums, np.float64)
    rows, bins = counts.sum(), len(counts)
    if not rows:
        return None
    positive, rise = expected_counts(counts, sums, calibration)
    negative = counts - positive
    above = np.arange(bins) >= bins // 2
    tp, fp, fn, tn = positive[above].sum(), negative[above].sum(), positive[~above].sum(), negative[~above].sum()
    auc, _ = histogram_auc(positive, negative)
    bound = float((counts * (counts - 1) * rise).sum() / (8 * positive.sum() * negative.sum())) if tp + fn and fp + tn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0
    return {"accuracy": float((tp + tn) / rows), "roc_auc": auc + bound, "f1": float(f1)}, bound
