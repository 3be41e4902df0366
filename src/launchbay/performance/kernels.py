"""The counting loop of a binary classifier's outcomes: one pass over a batch's rows (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

from launchbay.performance.metrics import EPS


@njit(cache=True, nogil=True)
def count_binary(score, labels, predicted, negative, positive, counted, sums, histograms, confusion, chosen) -> None:
    """Add every row's score bin to ``counted`` and its score (clipped to [0, 1], NaN as 0) to ``sums``;
    for rows whose label is the ``negative`` or the ``positive`` class (others, NaN included, are not labelled) also to ``histograms[class]``
    and ``confusion[class, predicted class]``, and put the probability of the row's class in ``chosen`` (1 for rows not labelled:
    their log loss is 0, and the caller takes the logarithms, vectorised).

    Bins are right-closed, (b / bins, (b + 1) / bins], the first holding 0 (and NaN) too.
    """
    bins = counted.size
    for i in range(score.size):
        s = score[i]
        if not s > 0.0:
            b, v = 0, 0.0
        elif s >= 1.0:
            b, v = bins - 1, 1.0
        else:
            b, v = max(int(np.ceil(s * bins)) - 1, 0), s
        counted[b] += 1
        sums[b] += v
        label = labels[i]
        chosen[i] = 1.0
        if label == positive or label == negative:
            y = 1 if label == positive else 0
            histograms[y, b] += 1
            confusion[y, 1 if predicted[i] == positive else 0] += 1
            chosen[i] = min(max(s if y == 1 else 1.0 - s, EPS), 1.0 - EPS)
