"""The numba loops of the scoring pass's own checks: a column's contract counts, and whether a piece's ids can repeat.

Each is one pass over a batch's values, so that the guarantees of the pass cost a few
percent of reading, predicting and writing (``benchmarks/score.py`` profiles them).
Imported lazily: loading numba is for the workers, not for every command.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def numeric_violations(values, low, high):
    """(NaN, +-inf, outside [low, high]) counts of ``values`` (floats or integers; a null
    read as NaN). NaN is never outside; an infinity is, unless a bound is infinite too."""
    missing = infinite = outside = 0
    for v in values:
        if v != v:
            missing += 1
        elif v < low or v > high:
            outside += 1
            if np.isinf(v):
                infinite += 1
        elif np.isinf(v):
            infinite += 1
    return missing, infinite, outside


@njit(cache=True, nogil=True)
def strictly_increasing(keys) -> bool:
    """True when every key is larger than the one before (ids numbered in order: none repeats)."""
    for i in range(1, keys.size):
        if keys[i] <= keys[i - 1]:
            return False
    return True
