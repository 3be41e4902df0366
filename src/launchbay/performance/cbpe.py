"""Performance without labels: confidence-based performance estimation (CBPE, as NannyML defines it).

At training time a binary classifier's score is calibrated on the holdout (isotonic regression):
``Calibration`` maps a raw score to the probability that the row is positive. On a batch without
labels, each row then counts as an expected positive by its calibrated probability ``p`` and as an
expected negative by ``1 - p``: the expected confusion matrix gives the expected accuracy and F1
(``2 E[TP] / (2 E[TP] + E[FP] + E[FN])``), and the expected positives and negatives per score bin
the expected ROC AUC. The score histogram of the scoring pass holds all it needs; a bin counts
at the calibrated probability of its centre.

The estimate holds under covariate shift (the features move, the label given the features does
not); when the concept itself changes it cannot see it, and only labels can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from launchbay.performance.metrics import histogram_auc


@dataclass(frozen=True)
class Calibration:
    """A monotone map from raw score to calibrated probability: linear between ``scores`` (increasing)
    and their ``probabilities``, constant outside (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``)."""

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]
    rows: int  # the holdout rows it was fitted on

    @classmethod
    def fit(cls, scores: np.ndarray, positive: np.ndarray) -> Calibration | None:
        """Isotonic regression of ``positive`` (booleans) on ``scores``; None unless both classes occur."""
        from sklearn.isotonic import IsotonicRegression

        positive = np.asarray(positive, dtype=bool)
        if positive.all() or not positive.any():
            return None
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(scores, np.float64), positive.astype(np.float64))
        return cls(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)), int(len(positive)))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(scores, self.scores, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "isotonic", "rows": self.rows, "scores": list(self.scores), "probabilities": list(self.probabilities)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Calibration:
        return cls(tuple(record["scores"]), tuple(record["probabilities"]), int(record["rows"]))


def estimate(counts: np.ndarray, calibration: Calibration) -> dict[str, float] | None:
    """Expected accuracy, ROC AUC and F1 of the rows whose scores ``counts`` counts per equal bin of
    [0, 1] (``sketch.bin_of``); a row is predicted positive when its score is above 0.5. None without rows."""
    counts = np.asarray(counts, np.float64)
    rows, bins = counts.sum(), len(counts)
    if not rows:
        return None
    positive = calibration((np.arange(bins) + 0.5) / bins) * counts
    negative = counts - positive
    above = np.arange(bins) >= bins // 2
    tp, fp, fn, tn = positive[above].sum(), negative[above].sum(), positive[~above].sum(), negative[~above].sum()
    auc, _ = histogram_auc(positive, negative)
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0
    return {"accuracy": float((tp + tn) / rows), "roc_auc": auc, "f1": float(f1)}
