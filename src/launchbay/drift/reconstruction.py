"""The numba kernel of the multivariate metric: per-row PCA reconstruction errors in one
pass over the columns (imported on first use, like ``kernels``)."""

from __future__ import annotations

import numpy as np
from numba import carray, njit, prange

from launchbay.drift.kernels import _pointer

# Rows a task standardises into a (TILE x features) block that stays in cache.
TILE = 2048
# Below this share of the squared norm the residual is summed over the discarded axes, not
# found as the norm minus the kept projection (which loses digits to cancellation there).
CANCELLATION = 1e-6


def reconstruction_errors(
    columns: list[np.ndarray], per_unit: np.ndarray, mean: np.ndarray, scale: np.ndarray, components: np.ndarray, kept: int, tasks: int
) -> np.ndarray:
    """Per row, the distance of the standardised row, (x * per_unit - mean) / scale (0, the
    mean, for a non-finite value), to the span of ``components[:kept]`` (orthonormal rows of
    a full basis, ``components[kept:]`` the rest); float32 or float64 columns of one
    length, in ``tasks`` parallel tasks. A row past the float range has an infinite error."""
    # the kernel reads the arrays by address: they stay referenced here until it returns
    columns = [np.ascontiguousarray(x, np.float32 if x.dtype == np.float32 else np.float64) for x in columns]
    table = np.array([(x.ctypes.data, x.size, x.itemsize) for x in columns], np.int64).reshape(-1, 3)
    rows = columns[0].size
    basis = np.ascontiguousarray(components, np.float64)
    parameters = np.array([per_unit, mean, 1.0 / np.asarray(scale, np.float64)], np.float64).reshape(3, -1)
    return _errors(table, rows, parameters, basis, kept, max(1, tasks))


@njit(parallel=True, cache=True, nogil=True)
def _errors(columns, rows, parameters, basis, kept, tasks):
    d = columns.shape[0]
    out = np.empty(rows)
    tiles = (rows + TILE - 1) // TILE
    per_task = (tiles + tasks - 1) // tasks
    for task in prange(tasks):
        z = np.empty((d, TILE))  # one standardised feature per row: every inner loop runs along the rows
        norm, projected, s = np.empty(TILE), np.empty(TILE), np.empty(TILE)
        for tile in range(task * per_task, min(tiles, (task + 1) * per_task)):
            lo = tile * TILE
            n = min(TILE, rows - lo)
            norm[:n] = 0.0
            for j in range(d):
                per_unit, mean, per_scale = parameters[0, j], parameters[1, j], parameters[2, j]
                if columns[j, 2] == 4:
                    _standardise(carray(_pointer(columns[j, 0]), rows, np.float32), lo, n, per_unit, mean, per_scale, z[j], norm)
                else:
                    _standardise(carray(_pointer(columns[j, 0]), rows, np.float64), lo, n, per_unit, mean, per_scale, z[j], norm)
            if 2 * kept > d:  # fewer axes discarded than kept: the residual is summed over them (fewer products, no cancellation)
                _projections(z, basis[kept:], d - kept, n, projected, s)
                for i in range(n):
                    out[lo + i] = np.inf if norm[i] == np.inf else np.sqrt(projected[i])
                continue
            _projections(z, basis, kept, n, projected, s)
            for i in range(n):
                residual = norm[i] - projected[i]
                if norm[i] == np.inf:
                    out[lo + i] = np.inf
                elif residual < CANCELLATION * norm[i]:
                    out[lo + i] = np.sqrt(_discarded(z, basis, kept, i))
                else:
                    out[lo + i] = np.sqrt(residual)
    return out


@njit(cache=True, nogil=True, inline="always")
def _standardise(x, lo, n, per_unit, mean, per_scale, z, norm):
    """Rows ``lo:lo + n`` of ``x`` standardised into ``z``, their squares added to ``norm`` (in the same read)."""
    for i in range(n):
        v = np.float64(x[lo + i])
        w = (v * per_unit - mean) * per_scale if np.isfinite(v) else 0.0
        z[i] = w
        norm[i] += w * w


@njit(cache=True, nogil=True, inline="always")
def _projections(z, basis, count, n, out, s):
    """``out[i]``: the sum of the squared projections of column i of ``z`` on ``basis[:count]``."""
    out[:n] = 0.0
    for a in range(count):
        s[:n] = 0.0
        for j in range(z.shape[0]):
            w = basis[a, j]
            for i in range(n):
                s[i] += w * z[j, i]
        for i in range(n):
            out[i] += s[i] * s[i]


@njit(cache=True, nogil=True)
def _discarded(z, basis, kept, i):
    """The squared norm of column i of ``z`` along the discarded axes (no cancellation)."""
    total = 0.0
    for a in range(kept, basis.shape[0]):
        s = 0.0
        for j in range(z.shape[0]):
            s += basis[a, j] * z[j, i]
        total += s * s
    return total
