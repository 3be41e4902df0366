"""The counting loop of outcomes per group: one pass over a batch's rows (numba)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def count_groups(codes, null_code, labels, predicted, negative, positive, counts) -> None:
    """Add each row to ``counts[its group code, cell]`` (the cells of ``fairness.counts.CELLS``); a code below 0
    (a null group) counts as ``null_code``, a label that is neither class (NaN included) as unlabelled."""
    for i in range(codes.size):
        code = codes[i] if codes[i] >= 0 else null_code
        label = labels[i]
        cell = 1 if predicted[i] == positive else 0
        if label == positive:
            cell += 4
        elif label == negative:
            cell += 2
        counts[code, cell] += 1
