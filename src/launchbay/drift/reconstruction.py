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


def whole(rows: int) -> np.ndarray:
    """The tiles of rows ``0:rows``: (first row, rows) of each, TILE rows each but the last."""
    starts = np.arange(0, rows, TILE, dtype=np.int64)
    return np.column_stack([starts, np.minimum(TILE, rows - starts)]).reshape(-1, 2)


def _table(columns: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The columns as float32 or float64 contiguous arrays and the (address, size, itemsize)
    table the kernels read them by; the arrays must stay referenced while a kernel runs."""
    columns = [np.ascontiguousarray(x, np.float32 if x.dtype == np.float32 else np.float64) for x in columns]
    return columns, np.array([(x.ctypes.data, x.size, x.itemsize) for x in columns], np.int64).reshape(-1, 3)


def reconstruction_errors(
    columns: list[np.ndarray],
    per_unit: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    components: np.ndarray,
    kept: int,
    tasks: int,
    tiles: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, the distance of the standardised row, (x * per_unit - mean) / scale (0, the
    mean, for a non-finite value), to the span of ``components[:kept]`` (orthonormal rows of
    a full basis, ``components[kept:]`` the rest); float32 or float64 columns of one
    length, in ``tasks`` parallel tasks. ``tiles``: the (first row, rows) runs of at most
    TILE rows to measure, in order (default: every row). A row past the float range has an
    infinite error."""
    columns, table = _table(columns)
    tiles = whole(columns[0].size) if tiles is None else tiles
    basis = np.ascontiguousarray(components, np.float64)
    parameters = np.array([per_unit, mean, 1.0 / np.asarray(scale, np.float64)], np.float64).reshape(3, -1)
    return _errors(table, columns[0].size, tiles, parameters, basis, kept, max(1, tasks))


def largest_magnitudes(columns: list[np.ndarray], tiles: np.ndarray, tasks: int) -> np.ndarray:
    """Per column, the largest finite |x| over the rows of ``tiles`` (0 without any)."""
    columns, table = _table(columns)
    return _largest(table, columns[0].size, tiles, max(1, tasks))


def finite_sums(columns: list[np.ndarray], tiles: np.ndarray, per_unit: np.ndarray, tasks: int) -> np.ndarray:
    """Per column, the count and the sum of its finite values times ``per_unit`` over the rows of ``tiles`` (2 x columns)."""
    columns, table = _table(columns)
    return _sums(table, columns[0].size, tiles, np.asarray(per_unit, np.float64), max(1, tasks))


def centred_gram(columns: list[np.ndarray], tiles: np.ndarray, per_unit: np.ndarray, mean: np.ndarray, tasks: int) -> np.ndarray:
    """The Gram matrix of the rows of ``tiles`` with each value x made x * per_unit - mean (0 where x is not finite)."""
    columns, table = _table(columns)
    parameters = np.array([per_unit, mean, np.ones(len(columns))], np.float64).reshape(3, -1)
    return _gram(table, columns[0].size, tiles, parameters, max(1, tasks))


@njit(parallel=True, cache=True, nogil=True)
def _errors(columns, rows, tiles, parameters, basis, kept, tasks):
    d = columns.shape[0]
    offsets = np.zeros(tiles.shape[0] + 1, np.int64)
    offsets[1:] = np.cumsum(tiles[:, 1])
    out = np.empty(offsets[-1])
    per_task = (tiles.shape[0] + tasks - 1) // tasks
    for task in prange(tasks):
        z = np.empty((d, TILE))  # one standardised feature per row: every inner loop runs along the rows
        norm, projected, s = np.empty(TILE), np.empty(TILE), np.empty(TILE)
        for tile in range(task * per_task, min(tiles.shape[0], (task + 1) * per_task)):
            n = tiles[tile, 1]
            _standardise_tile(columns, rows, tiles[tile, 0], n, parameters, z, norm)
            errors = out[offsets[tile] : offsets[tile] + n]
            if 2 * kept > d:  # fewer axes discarded than kept: the residual is summed over them (fewer products, no cancellation)
                _projections(z, basis[kept:], d - kept, n, projected, s)
                for i in range(n):
                    errors[i] = np.inf if norm[i] == np.inf else np.sqrt(projected[i])
                continue
            _projections(z, basis, kept, n, projected, s)
            for i in range(n):
                residual = norm[i] - projected[i]
                if norm[i] == np.inf:
                    errors[i] = np.inf
                elif residual < CANCELLATION * norm[i]:
                    errors[i] = np.sqrt(_discarded(z, basis, kept, i))
                else:
                    errors[i] = np.sqrt(residual)
    return out


@njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "contract"})  # the dot products vectorise
def _gram(columns, rows, tiles, parameters, tasks):
    d = columns.shape[0]
    per_task = (tiles.shape[0] + tasks - 1) // tasks
    parts = np.zeros((tasks, d, d))
    for task in prange(tasks):
        z, norm = np.empty((d, TILE)), np.empty(TILE)
        gram = parts[task]
        for tile in range(task * per_task, min(tiles.shape[0], (task + 1) * per_task)):
            n = tiles[tile, 1]
            _standardise_tile(columns, rows, tiles[tile, 0], n, parameters, z, norm)
            for a in range(d):
                for b in range(a + 1):
                    total = 0.0
                    for i in range(n):
                        total += z[a, i] * z[b, i]
                    gram[a, b] += total
    out = parts.sum(axis=0)
    for a in range(d):
        for b in range(a):
            out[b, a] = out[a, b]
    return out


@njit(parallel=True, cache=True, nogil=True)
def _largest(columns, rows, tiles, tasks):
    d = columns.shape[0]
    per_task = (tiles.shape[0] + tasks - 1) // tasks
    parts = np.zeros((tasks, d))
    for task in prange(tasks):
        for tile in range(task * per_task, min(tiles.shape[0], (task + 1) * per_task)):
            lo, n = tiles[tile, 0], tiles[tile, 1]
            for j in range(d):
                if columns[j, 2] == 4:
                    parts[task, j] = max(parts[task, j], _top(carray(_pointer(columns[j, 0]), rows, np.float32), lo, n))
                else:
                    parts[task, j] = max(parts[task, j], _top(carray(_pointer(columns[j, 0]), rows, np.float64), lo, n))
    out = np.zeros(d)
    for task in range(tasks):
        out = np.maximum(out, parts[task])
    return out


@njit(parallel=True, cache=True, nogil=True)
def _sums(columns, rows, tiles, per_unit, tasks):
    d = columns.shape[0]
    per_task = (tiles.shape[0] + tasks - 1) // tasks
    parts = np.zeros((tasks, 2, d))
    for task in prange(tasks):
        for tile in range(task * per_task, min(tiles.shape[0], (task + 1) * per_task)):
            lo, n = tiles[tile, 0], tiles[tile, 1]
            for j in range(d):
                if columns[j, 2] == 4:
                    _add_finite(carray(_pointer(columns[j, 0]), rows, np.float32), lo, n, per_unit[j], parts[task, :, j])
                else:
                    _add_finite(carray(_pointer(columns[j, 0]), rows, np.float64), lo, n, per_unit[j], parts[task, :, j])
    return parts.sum(axis=0)


@njit(cache=True, nogil=True, inline="always")
def _top(x, lo, n):
    top, tile = 0.0, x[lo : lo + n]
    for i in range(n):
        v = np.float64(tile[i])
        if np.isfinite(v):
            top = max(top, abs(v))
    return top


@njit(cache=True, nogil=True, inline="always")
def _add_finite(x, lo, n, per_unit, out):
    count, total, tile = 0.0, 0.0, x[lo : lo + n]
    for i in range(n):
        v = np.float64(tile[i])
        if np.isfinite(v):
            count += 1.0
            total += v * per_unit
    out[0] += count
    out[1] += total


@njit(cache=True, nogil=True, inline="always")
def _standardise_tile(columns, rows, lo, n, parameters, z, norm):
    """Rows ``lo:lo + n`` of every column standardised into the rows of ``z``, their squared norms into ``norm``."""
    norm[:n] = 0.0
    for j in range(columns.shape[0]):
        per_unit, mean, per_scale = parameters[0, j], parameters[1, j], parameters[2, j]
        if columns[j, 2] == 4:
            _standardise(carray(_pointer(columns[j, 0]), rows, np.float32), lo, n, per_unit, mean, per_scale, z[j], norm)
        else:
            _standardise(carray(_pointer(columns[j, 0]), rows, np.float64), lo, n, per_unit, mean, per_scale, z[j], norm)


@njit(cache=True, nogil=True, inline="always")
def _standardise(x, lo, n, per_unit, mean, per_scale, z, norm):
    """Rows ``lo:lo + n`` of ``x`` standardised into ``z``, their squares added to ``norm`` (in the same read)."""
    tile = x[lo : lo + n]  # indexed from 0 by the loop: no negative-index check, the loop vectorises
    for i in range(n):
        v = np.float64(tile[i])
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
