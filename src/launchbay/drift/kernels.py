"""numba kernels of the drift engine (CPU).

Every kernel is compiled once and cached on disk (``cache=True``); parallel kernels take
their chunk count as an argument, since asking numba for its thread count inside a
cached parallel kernel defeats the cache.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

# int64 slots between two chunks' histograms: 128 bytes, two cache lines.
PAD = 16
# Per-chunk statistics of a counting pass, one row per chunk: INFS counts +-inf, NEGINFS the -inf of them.
NULLS, INFS, COUNT, MIN, MAX, SHIFTED_SUM, SHIFTED_SUMSQ, NEGINFS = range(8)
N_STATS = 8

# A chunk is counted a tile at a time: moments first (vectorised), then bins from cache.
TILE = 4096
# The grid gets finer until no cell holds more edges than this (or it is MAX_CELLS_PER_EDGE fine).
MAX_STEPS = 1
MAX_CELLS_PER_EDGE = 64
# Dense cells with up to this many edges compare them all; denser ones are bisected.
COUNTED_STEPS = 16
# The grid spans at most this much past the first edge, so that ``v - first`` stays finite;
# its cell size is at least the span over the largest float (for spans of subnormals).
MAX_SPAN = 2.0**1023
MAX_SCALE = np.finfo(np.float64).max
# XOR mask that turns the bits of a float64 into an int64 with the same order.
ORDER_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
LOWEST_KEY = -ORDER_MASK - 1


class BinLookup(NamedTuple):
    """The O(1) fine-bin lookup of a profile: ``edges`` (the inner edges, then
    ``max(steps, 1)`` NaN sentinels), the grid's ``lut``, ``scale`` and ``steps``."""

    edges: np.ndarray
    lut: np.ndarray
    scale: float
    steps: int

    @property
    def bins(self) -> int:
        """Bins counted: one more than the inner edges."""
        return self.edges.size - max(self.steps, 1) + 1


def bin_lookup(edges: np.ndarray, cells_per_edge: int) -> BinLookup:
    """The lookup over sorted finite inner ``edges`` (see ``grid_lookup``)."""
    scale, lut, steps = grid_lookup(edges, cells_per_edge)
    return BinLookup(np.append(edges, np.full(max(steps, 1), np.nan)), lut, scale, steps)


@njit(cache=True, nogil=True)
def grid_lookup(edges, cells_per_edge):
    """A uniform grid over [edges[0], edges[-1]]: (scale, lut, steps).

    A value ``v`` there falls in grid cell ``c = min(int((v - edges[0]) * scale), cells - 1)``
    and its bin (the number of edges <= v) is ``lut[c]`` plus at most ``steps`` edges.
    The cell of each edge is computed with the same arithmetic, so this holds for every
    float, rounding included. The grid doubles until ``steps <= MAX_STEPS`` (dense
    quantiles of heavy tails need it finer). ``lut`` is unsigned so that indices built
    from it need no negative-index check. The grid ends ``MAX_SPAN`` past the first edge
    at most (edges beyond share its last cell), and its cells are at least the span
    over ``MAX_SCALE`` wide.
    """
    n_edges = edges.size
    last = min(edges[n_edges - 1], edges[0] + MAX_SPAN)
    span = last - edges[0]
    cells = max(1, n_edges * cells_per_edge)
    while True:
        scale = min(cells / span, MAX_SCALE) if span > 0 else 0.0
        lut = np.zeros(cells + 1, np.uint32)
        for k in range(n_edges):
            lut[min(int((min(edges[k], last) - edges[0]) * scale), cells - 1) + 1] += 1
        steps = 0
        for c in range(cells):
            steps = max(steps, lut[c + 1])
            lut[c + 1] += lut[c]
        if steps <= MAX_STEPS or cells >= n_edges * MAX_CELLS_PER_EDGE:
            return scale, lut, steps
        cells *= 2


# The bin lookup in three steps, plain Python so that the CPU and the CUDA kernels compile
# the same code: a value's bin is ``bin_in_cell(v, grid_cell(v, *grid_bounds(...), scale), ...)``.


def grid_bounds(edges, lut, steps):
    """(first edge, end of the grid, last grid cell) of a lookup (see ``BinLookup``)."""
    first = edges[0]
    return first, min(edges[edges.size - max(steps, 1) - 1], first + MAX_SPAN), np.uint32(lut.size - 2)


def grid_cell(v, first, last, top, scale):
    """The grid cell of v clamped to [first, last]; NaN counts as ``first``. Branch-free."""
    w = v if v >= first else first
    w = w if w <= last else last
    return min(np.uint32((w - first) * scale), top)


def bin_in_cell(v, cell, edges, lut, steps):
    """Number of inner edges <= v, for v in grid ``cell``: one comparison (``steps`` <= 1,
    the usual case), else the at most ``steps`` edges of a dense cell compared at once (up
    to ``COUNTED_STEPS``: independent loads) or bisected (log2(steps) dependent probes);
    the NaN sentinels stop both at the last edge. NaN and -inf give 0, +inf the last bin."""
    b = np.intp(lut[cell])
    if steps <= 1:
        return b + (edges[b] <= v)
    if steps <= COUNTED_STEPS:
        n = 0
        for k in range(steps):
            n += edges[b + k] <= v
        return b + n
    n = steps + 1
    while n > 1:
        half = n >> 1
        b += half * (edges[b + half - 1] <= v)
        n -= half
    return b


bounds_of = njit(inline="always")(grid_bounds)
cell_of = njit(inline="always")(grid_cell)
bin_of = njit(inline="always")(bin_in_cell)


@njit(cache=True, nogil=True)
def _count_bins(x, shift, all_finite, edges, lut, scale, steps, hist, sums, cells):
    """Add the bin of every value of ``x`` to ``hist`` (non-finite values included, see
    ``bin_in_cell``) and its ``v - shift`` to that bin's ``sums`` (finite values only;
    ``all_finite``: ``x`` has no others, so none is checked): the grid cells of all values
    first, in a loop that vectorises, into ``cells`` (at least as long as ``x``), then the
    edges within each cell."""
    first, last, top = bounds_of(edges, lut, steps)
    for j in range(x.size):
        cells[j] = cell_of(x[j], first, last, top, scale)
    for j in range(x.size):
        v = np.float64(x[j])
        b = bin_of(v, cells[j], edges, lut, steps)
        hist[b] += 1
        sums[b] += v - shift if all_finite or (v - v) == 0.0 else 0.0


@intrinsic
def _float_bits(typingctx, value):
    """The bits of a float64 as an int64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _add_moments(x, shift, moments, keys):
    """Add the sum of squares of ``v - shift`` over the finite values of ``x`` (float32 or
    float64) to ``moments[0]`` (their sum comes from the per-bin sums) and fold its extremes (as ordered int64 keys of their float64 values) and non-finite
    counts into ``keys``: [min, max, nan, +inf, -inf].

    Branch-free, so that it vectorises.
    """
    s2 = 0.0
    lo = keys[0]
    hi = keys[1]
    nans = 0
    pos = 0
    neg = 0
    for j in range(x.size):
        v = np.float64(x[j])
        finite = (v - v) == 0.0
        d = v - shift if finite else 0.0
        s2 += d * d
        bits = _float_bits(v)
        k = bits ^ ((bits >> 63) & ORDER_MASK)
        lo = min(lo, k if finite else ORDER_MASK)
        hi = max(hi, k if finite else LOWEST_KEY)
        nans += v != v
        pos += v == np.inf
        neg += v == -np.inf
    moments[0] += s2
    keys[0] = lo
    keys[1] = hi
    keys[2] += nans
    keys[3] += pos
    keys[4] += neg


@njit(cache=True, nogil=True)
def _count_chunk(x, edges, lut, scale, steps, shift, hist, sums, stats):
    """Bin counts of ``x`` added to ``hist``, per-bin sums of ``x - shift`` to ``sums`` and
    its statistics written to ``stats``.

    A tile is read into cache while summing it, then binned from there. Non-finite
    values land in the outer bins (see ``bin_in_cell``) and are taken out again.
    """
    moments = np.zeros(1)
    keys = np.array([ORDER_MASK, LOWEST_KEY, 0, 0, 0])
    cells = np.empty(TILE, np.uint32)
    for tile in range(0, x.size, TILE):
        part = x[tile : tile + TILE]
        nonfinite = keys[2] + keys[3] + keys[4]
        _add_moments(part, shift, moments, keys)
        _count_bins(part, shift, keys[2] + keys[3] + keys[4] == nonfinite, edges, lut, scale, steps, hist, sums, cells)
    nans, pos, neg = keys[2], keys[3], keys[4]
    hist[0] -= nans + neg
    hist[hist.size - 1] -= pos
    count = x.size - nans - pos - neg
    extremes = (keys[:2] ^ ((keys[:2] >> 63) & ORDER_MASK)).view(np.float64)
    stats[NULLS] = nans
    stats[INFS] = pos + neg
    stats[NEGINFS] = neg
    stats[COUNT] = count
    stats[MIN] = extremes[0] if count else np.inf
    stats[MAX] = extremes[1] if count else -np.inf
    stats[SHIFTED_SUM] = sums.sum()
    stats[SHIFTED_SUMSQ] = moments[0]


@intrinsic
def _pointer(typingctx, address):
    """An int64 memory address as a void pointer, for ``numba.carray``."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return types.voidptr(types.int64), codegen


@njit(cache=True, nogil=True)
def _count_share(x, c, n_chunks, edges, lut, scale, steps, shift, hist, sums, stats):
    """``_count_chunk`` over chunk ``c`` of ``n_chunks`` of ``x``."""
    size = (x.size + n_chunks - 1) // n_chunks
    lo = min(x.size, c * size)
    _count_chunk(x[lo : lo + size], edges, lut, scale, steps, shift, hist, sums, stats)


@njit(parallel=True, cache=True, nogil=True)
def count_columns(columns, tables, scales, steps, shifts, n_chunks):
    """One pass over each float64 or float32 array: bin counts, per-bin sums of
    ``x - shifts[i]`` (finite values) and per-chunk statistics, in one parallel region.

    Arrays come by address so that one compiled kernel takes any number of them without
    building a typed list: ``columns[i]`` is (address, length, itemsize) of array ``i``,
    ``tables[i]`` is (address, size) of its ``edges`` then of its ``lut`` (from
    ``bin_lookup``, C-contiguous), then its number of bins; it is summed as ``x - shifts[i]``. NaN counts as null
    and +-inf as infinite; neither is binned. Task ``t`` counts chunk ``t // n`` of array
    ``t % n``, so with one chunk per thread every thread gets a share of every array; each
    task has its own histogram and sums, padded against false sharing. Returns (counts,
    sums, starts, stats): the counts of array ``i`` are ``counts[starts[i]:starts[i + 1] - PAD]``,
    its sums the same slice of ``sums``, its statistics ``stats[i]`` (n_chunks x N_STATS).
    """
    n = columns.shape[0]
    starts = np.zeros(n + 1, np.int64)
    for i in range(n):
        starts[i + 1] = starts[i] + tables[i, 4] + PAD
    width = starts[n]
    hist = np.zeros(n_chunks * width, np.int64)
    bin_sums = np.zeros(n_chunks * width)
    stats = np.zeros((n, n_chunks, N_STATS))
    for t in prange(n * n_chunks):
        i = t % n
        c = t // n
        edges = carray(_pointer(tables[i, 0]), tables[i, 1], np.float64)
        lut = carray(_pointer(tables[i, 2]), tables[i, 3], np.uint32)
        lo = c * width + starts[i]
        hi = c * width + starts[i + 1] - PAD
        if columns[i, 2] == 4:
            x32 = carray(_pointer(columns[i, 0]), columns[i, 1], np.float32)
            _count_share(x32, c, n_chunks, edges, lut, scales[i], steps[i], shifts[i], hist[lo:hi], bin_sums[lo:hi], stats[i, c])
        else:
            x = carray(_pointer(columns[i, 0]), columns[i, 1], np.float64)
            _count_share(x, c, n_chunks, edges, lut, scales[i], steps[i], shifts[i], hist[lo:hi], bin_sums[lo:hi], stats[i, c])
    counts = np.zeros(width, np.int64)
    sums = np.zeros(width)
    for c in range(n_chunks):
        counts += hist[c * width : (c + 1) * width]
        sums += bin_sums[c * width : (c + 1) * width]
    return counts, sums, starts, stats


# Open-addressing table of distinct strings: multiplicative hashing, linear probing.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def _tail_word(data, p, n):
    """The n <= 8 bytes at ``data[p]`` as a little-endian uint64, one byte at a time."""
    w = np.uint64(0)
    for k in range(n):
        w |= np.uint64(data[p + k]) << np.uint64(8 * k)
    return w


@njit(cache=True, nogil=True)
def _word(words, data, p, n):
    """The first min(n, 8) bytes at ``data[p]`` as a little-endian uint64, zero above them."""
    half = np.uint64(4 * (8 - min(n, 8)))
    if (p >> 3) < words.shape[1]:
        return words[p & 7, p >> 3] & ((ALL_BITS >> half) >> half)
    return _tail_word(data, p, min(n, 8))


@njit(cache=True, nogil=True)
def _long_key(words, data, p, n):
    """A hash of the n > 8 bytes at ``data[p]``."""
    h = np.uint64(n)
    for k in range(0, n, 8):
        h = (h ^ _word(words, data, p + k, n - k)) * GOLDEN
        h ^= h >> np.uint64(29)
    return h


@njit(cache=True, nogil=True)
def _same_bytes(words, data, a, b, n):
    for k in range(0, n, 8):
        if _word(words, data, a + k, n - k) != _word(words, data, b + k, n - k):
            return False
    return True


@njit(cache=True, nogil=True)
def count_strings(offsets, words, data, bitmap, bit_offset, slots, max_distinct):
    """Distinct values of an Arrow string array and how often each occurs.

    ``offsets`` are the array's value offsets into ``data`` (its bytes); ``words[k, i]``
    is the uint64 at byte ``k + 8 * i`` of ``data`` (an overlapping view, so a string
    of up to 8 bytes is one load); ``bitmap`` is the validity bitmap from bit
    ``bit_offset`` (empty: no nulls). A string's key is its bytes when it fits in 8,
    else a hash checked byte for byte. Returns (rows, counts, nulls, complete): per
    table slot the first row holding its value (-1: empty) and the count; complete is
    False when there are more than ``max_distinct`` values (the counts are then partial).
    """
    mask = slots - 1
    shift = np.uint64(64 - int(np.log2(slots)))
    n_words = words.shape[1]
    rows = np.full(slots, -1, np.int64)
    counts = np.zeros(slots, np.int64)
    keys = np.zeros(slots, np.uint64)
    lengths = np.zeros(slots, np.int64)
    distinct = 0
    nulls = 0
    for i in range(offsets.size - 1):
        if bitmap.size:
            j = i + bit_offset
            if not (bitmap[j >> 3] >> (j & 7)) & 1:
                nulls += 1
                continue
        p = np.int64(offsets[i])
        n = np.int64(offsets[i + 1]) - p
        if n > 8:
            key = _long_key(words, data, p, n)
        elif (p >> 3) < n_words:  # _word, written out: a call per value costs several times more
            half = np.uint64(4 * (8 - n))
            key = words[p & 7, p >> 3] & ((ALL_BITS >> half) >> half)
        else:
            key = _tail_word(data, p, n)
        slot = np.intp(((key ^ (np.uint64(n) << np.uint64(56))) * GOLDEN) >> shift)
        while True:
            r = rows[slot]
            if r < 0:
                distinct += 1
                if distinct > max_distinct:
                    return rows, counts, nulls, False
                rows[slot] = i
                keys[slot] = key
                lengths[slot] = n
                counts[slot] = 1
                break
            if keys[slot] == key and lengths[slot] == n and (n <= 8 or _same_bytes(words, data, offsets[r], p, n)):
                counts[slot] += 1
                break
            slot = (slot + 1) & mask
    return rows, counts, nulls, True


@njit(inline="always")
def _past(a, b, i, j, v):
    """One step of the merge walk over sorted ``a`` and ``b``: the positions past value
    ``v`` from ``i`` and ``j``, where the ECDFs step to i / a.size and j / b.size."""
    while i < a.size and a[i] == v:
        i += 1
    while j < b.size and b[j] == v:
        j += 1
    return i, j


@njit(cache=True, nogil=True)
def ks_statistic(a, b):
    """Two-sample KS statistic of sorted samples: the largest gap between their ECDFs."""
    n1 = a.size
    n2 = b.size
    i = 0
    j = 0
    d = 0.0
    while i < n1 and j < n2:
        i, j = _past(a, b, i, j, min(a[i], b[j]))
        d = max(d, abs(i / n1 - j / n2))
    return d


@njit(cache=True, nogil=True)
def wasserstein_sorted(a, b):
    """First Wasserstein distance of sorted samples: the integral of |F_a - F_b|."""
    n1 = a.size
    n2 = b.size
    v = min(a[0], b[0])
    i, j = _past(a, b, 0, 0, v)
    total = 0.0
    while i < n1 or j < n2:
        nxt = min(a[i] if i < n1 else np.inf, b[j] if j < n2 else np.inf)
        total += abs(i / n1 - j / n2) * (nxt - v)
        v = nxt
        i, j = _past(a, b, i, j, v)
    return total


@njit(cache=True, nogil=True)
def ks_exact_sf(n1, n2, h):
    """P(D >= h / lcm(n1, n2)) for two samples of sizes n1, n2 from one distribution.

    The share of lattice paths from (0, 0) to (n1, n2) that leave the band
    |i/n1 - j/n2| < h/lcm (Hodges 1958). Row i holds, per j, the share of the paths to
    (i, j) that have left it: 1 outside the band, else the average of the two cells a
    path can come from, weighted i : j. Every entry is an average of numbers in [0, 1],
    so nothing under- or overflows and small p-values keep their relative precision
    (the recursion of Viehmann 2021, as scipy's).
    """
    if n1 < n2:
        n1, n2 = n2, n1
    g = np.gcd(n1, n2)
    bound = h * g  # |i*n2 - j*n1| < bound  <=>  |i/n1 - j/n2| < h/lcm
    u = np.zeros(n2 + 1)
    for j in range(n2 + 1):
        u[j] = 0.0 if j * n1 < bound else 1.0
    for i in range(1, n1 + 1):
        u[0] = 0.0 if i * n2 < bound else 1.0
        for j in range(1, n2 + 1):
            if abs(i * n2 - j * n1) < bound:
                u[j] = (i * u[j] + j * u[j - 1]) / (i + j)
            else:
                u[j] = 1.0
    return min(1.0, max(0.0, u[n2]))
