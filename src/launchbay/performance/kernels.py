"""The counting loop of a binary classifier's outcomes: one pass over a batch's rows (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

EPS = float(np.finfo(np.float64).eps)  # probabilities are clipped to [EPS, 1 - EPS] for log loss, as scikit-learn does


@njit(cache=True, nogil=True)
def count_binary(score, labels, predicted, negative, positive, counted, histograms, confusion) -> float:
    """Add every row's score bin to ``counted``; for rows whose label is the ``negative`` or the ``positive``
    class (others, NaN included, are not labelled) also to ``histograms[class]`` and ``confusion[class,
    predicted class]``; return the labelled rows' sum of log losses.

    Bins are right-closed, (b / bins, (b + 1) / bins], the first holding 0 (and NaN) too.
    """
    bins = counted.size
    loss = 0.0
    for i in range(score.size):
        s = score[i]
        if not s > 0.0:
            b = 0
        elif s >= 1.0:
            b = bins - 1
        else:
            b = max(int(np.ceil(s * bins)) - 1, 0)
        counted[b] += 1
        label = labels[i]
        if label == positive or label == negative:
            y = 1 if label == positive else 0
            histograms[y, b] += 1
            confusion[y, 1 if predicted[i] == positive else 0] += 1
            p = s if y == 1 else 1.0 - s
            loss -= np.log(min(max(p, EPS), 1.0 - EPS))
    return loss
