"""numba kernels of the drift engine (CPU).

Every kernel is compiled once and cached on disk (``cache=True``); parallel kernels take
their chunk count as an argument, since asking numba for its thread count inside a
cached parallel kernel defeats the cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# int64 slots between two chunks' histograms: 128 bytes, two cache lines.
PAD = 16
# Per-chunk statistics of a counting pass, one row per chunk.
NULLS, INFS, COUNT, MIN, MAX, SHIFTED_SUM, SHIFTED_SUMSQ = range(7)
N_STATS = 7


# Each chunk bins this many values into a buffer, then counts the buffer.
TILE = 2048
# The grid gets finer until no cell holds more edges than this (or it is MAX_CELLS_PER_EDGE fine).
MAX_STEPS = 3
MAX_CELLS_PER_EDGE = 64


@njit(cache=True, nogil=True)
def grid_lookup(edges, cells_per_edge):
    """The O(1) bin lookup over sorted ``edges``: a uniform grid over [edges[0], edges[-1]].

    Returns (scale, lut, steps): a value ``v`` there falls in grid cell
    ``c = min(int((v - edges[0]) * scale), cells - 1)`` and its bin (the number of edges
    <= v) is ``lut[c]`` plus at most ``steps`` edges. The cell of each edge is computed
    with the same arithmetic, so this holds for every float, rounding included. The grid
    doubles until ``steps <= MAX_STEPS`` (dense quantiles of heavy tails need it finer).
    """
    n_edges = edges.size
    span = edges[n_edges - 1] - edges[0]
    cells = max(1, n_edges * cells_per_edge)
    while True:
        scale = cells / span if span > 0 else 0.0
        lut = np.zeros(cells + 1, np.int32)
        for k in range(n_edges):
            lut[min(int((edges[k] - edges[0]) * scale), cells - 1) + 1] += 1
        steps = 0
        for c in range(cells):
            steps = max(steps, lut[c + 1])
            lut[c + 1] += lut[c]
        if steps <= MAX_STEPS or cells >= n_edges * MAX_CELLS_PER_EDGE:
            return scale, lut, steps
        cells *= 2


def find_bin(v, edges, lut, scale, steps):
    """Number of edges <= v for a finite v: the grid cell, then ``steps`` branch-free steps.

    Plain Python so that the CPU kernel and the CUDA kernel compile the same code.
    """
    last = edges.size - 1
    clamped = min(max(v, edges[0]), edges[last])
    b = lut[min(int((clamped - edges[0]) * scale), lut.size - 2)]
    for _ in range(steps):
        b += (b <= last) and edges[min(b, last)] <= v
    return b


bin_of = njit(inline="always")(find_bin)


@njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def count_column(x, edges, lut, scale, steps, shift, n_chunks):
    """One pass over ``x``: bin counts over ``edges`` plus per-chunk statistics.

    NaN counts as null and +-inf as infinite (two extra histogram slots); neither is
    binned. Each chunk bins a tile of values into a small buffer without branches, then
    adds the buffer to its own histogram, padded against false sharing. Returns
    (counts, stats[n_chunks, N_STATS]); the sums are of ``x - shift``.
    """
    n = x.size
    n_bins = edges.size + 1
    null_slot, inf_slot = n_bins, n_bins + 1
    hist = np.zeros((n_chunks, n_bins + 2 + PAD), np.int64)
    stats = np.zeros((n_chunks, N_STATS))
    size = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        row = hist[c]
        buffer = np.empty(TILE, np.int32)
        lo = np.inf
        hi = -np.inf
        s1 = 0.0
        s2 = 0.0
        stop = min(n, (c + 1) * size)
        for tile in range(c * size, stop, TILE):
            m = min(TILE, stop - tile)
            for j in range(m):
                v = x[tile + j]
                finite = (v - v) == 0.0
                w = v if finite else edges[0]
                b = bin_of(w, edges, lut, scale, steps)
                buffer[j] = b if finite else (null_slot if v != v else inf_slot)
                d = w - shift if finite else 0.0
                s1 += d
                s2 += d * d
                lo = min(lo, w if finite else np.inf)
                hi = max(hi, w if finite else -np.inf)
            for j in range(m):
                row[buffer[j]] += 1
        stats[c, NULLS] = row[null_slot]
        stats[c, INFS] = row[inf_slot]
        stats[c, COUNT] = max(0, stop - c * size) - row[null_slot] - row[inf_slot]
        stats[c, MIN] = lo
        stats[c, MAX] = hi
        stats[c, SHIFTED_SUM] = s1
        stats[c, SHIFTED_SUMSQ] = s2
    counts = np.zeros(n_bins, np.int64)
    for c in range(n_chunks):
        counts += hist[c, :n_bins]
    return counts, stats


@njit(cache=True, nogil=True)
def ks_statistic(a, b):
    """Two-sample KS statistic of sorted samples: the largest gap between their ECDFs."""
    n1 = a.size
    n2 = b.size
    i = 0
    j = 0
    d = 0.0
    while i < n1 and j < n2:
        v = min(a[i], b[j])
        while i < n1 and a[i] == v:
            i += 1
        while j < n2 and b[j] == v:
            j += 1
        d = max(d, abs(i / n1 - j / n2))
    return d


@njit(cache=True, nogil=True)
def wasserstein_sorted(a, b):
    """First Wasserstein distance of sorted samples: the integral of |F_a - F_b|."""
    n1 = a.size
    n2 = b.size
    i = 0
    j = 0
    total = 0.0
    v = min(a[0], b[0])
    while i < n1 or j < n2:
        while i < n1 and a[i] == v:
            i += 1
        while j < n2 and b[j] == v:
            j += 1
        if i == n1 and j == n2:
            break
        nxt = min(a[i] if i < n1 else np.inf, b[j] if j < n2 else np.inf)
        total += abs(i / n1 - j / n2) * (nxt - v)
        v = nxt
    return total


@njit(cache=True, nogil=True)
def ks_exact_sf(n1, n2, h):
    """P(D >= h / lcm(n1, n2)) for two samples of sizes n1, n2 from one distribution.

    Counts the lattice paths from (0, 0) to (n1, n2) that stay strictly inside
    |i/n1 - j/n2| < h/lcm (Hodges 1958). Row i holds path counts divided by
    C(i + n2, n2), rescaled by its largest entry (kept as a log) so nothing under- or
    overflows.
    """
    if n1 < n2:
        n1, n2 = n2, n1
    g = np.gcd(n1, n2)
    bound = h * g  # |i*n2 - j*n1| < bound  <=>  |i/n1 - j/n2| < h/lcm
    u = np.zeros(n2 + 1)
    for j in range(n2 + 1):
        u[j] = 1.0 if j * n1 < bound else 0.0
    log_scale = 0.0
    for i in range(1, n1 + 1):
        w = i / (i + n2)
        u[0] = w * u[0] if i * n2 < bound else 0.0
        top = u[0]
        for j in range(1, n2 + 1):
            if abs(i * n2 - j * n1) < bound:
                u[j] = w * u[j] + u[j - 1]
            else:
                u[j] = 0.0
            top = max(top, u[j])
        if top > 0.0:
            u /= top
            log_scale += np.log(top)
    inside = u[n2] * np.exp(log_scale) if u[n2] > 0.0 else 0.0
    return min(1.0, max(0.0, 1.0 - inside))
