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
    parameters = np.array([per_unit, mean, scale], np.float64).reshape(3, -1)
    return _errors(table, rows, parameters, basis, kept, max(1, tasks))


@njit(parallel=True, cache=True, nogil=True)
def _errors(columns, rows, parameters, basis, kept, tasks):
    d = columns.shape[0]
    out = np.empty(rows)
    tiles = (rows + TILE - 1) // TILE
    per_task = (tiles + tasks - 1) // tasks
    for task in prange(tasks):
        z = np.empty((TILE, d))
        for tile in range(task * per_task, min(tiles, (task + 1) * per_task)):
            lo = tile * TILE
            n = min(TILE, rows - lo)
            for j in range(d):
                per_unit, mean, scale = parameters[0, j], parameters[1, j], parameters[2, j]
                if columns[j, 2] == 4:
                    _standardise(carray(_pointer(columns[j, 0]), rows, np.float32), lo, n, per_unit, mean, scale, z[:, j])
                else:
                    _standardise(carray(_pointer(columns[j, 0]), rows, np.float64), lo, n, per_unit, mean, scale, z[:, j])
            for i in range(n):
                out[lo + i] = _residual(z[i], basis, kept)
    return out


@njit(cache=True, nogil=True, inline="always")
def _standardise(x, lo, n, per_unit, mean, scale, z):
    for i in range(n):
        v = np.float64(x[lo + i])
        z[i] = (v * per_unit - mean) / scale if np.isfinite(v) else 0.0


@njit(cache=True, nogil=True, inline="always")
def _residual(z, basis, kept):
    d = z.size
    norm = 0.0
    for j in range(d):
        norm += z[j] * z[j]
    if norm == np.inf:
        return np.inf
    projected = 0.0
    for a in range(kept):
        s = 0.0
        for j in range(d):
            s += basis[a, j] * z[j]
        projected += s * s
    residual = norm - projected
    if residual < CANCELLATION * norm:
        residual = 0.0
        for a in range(kept, basis.shape[0]):
            s = 0.0
            for j in range(d):
                s += basis[a, j] * z[j]
            residual += s * s
    return np.sqrt(max(residual, 0.0))
