"""The counting pass on a CUDA GPU (numba.cuda).

The kernel runs the very bin lookup of the CPU kernel (``kernels.grid_cell`` and
``kernels.bin_in_cell``), so both give the same counts. The sums behind the mean and variance are added atomically in
whatever order threads finish, so those and the per-bin sums agree with the CPU to float rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from launchbay.drift.kernels import (
    COUNT,
    INFS,
    MAX,
    MIN,
    N_STATS,
    NEGINFS,
    NULLS,
    SHIFTED_SUM,
    SHIFTED_SUMSQ,
    BinLookup,
    bin_in_cell,
    grid_bounds,
    grid_cell,
)

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 1024

bounds_of = cuda.jit(device=True)(grid_bounds)
cell_of = cuda.jit(device=True)(grid_cell)
bin_of = cuda.jit(device=True)(bin_in_cell)


@cuda.jit
def count_kernel(x, edges, lut, scale, steps, shift, counts, sums, stats):
    """Grid-stride loop: bin counts and sums by atomic adds, per-thread statistics added once."""
    first, last, top = bounds_of(edges, lut, steps)
    nulls = 0.0
    infs = 0.0
    neginfs = 0.0
    lo = math.inf
    hi = -math.inf
    s1 = 0.0
    s2 = 0.0
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        v = np.float64(x[i])  # float32 input is summed in float64, as on the CPU
        if v != v:
            nulls += 1
        elif v == math.inf or v == -math.inf:
            infs += 1
            if v < 0:
                neginfs += 1
        else:
            d = v - shift
            s1 += d
            s2 += d * d
            lo = min(lo, v)
            hi = max(hi, v)
            b = bin_of(v, cell_of(v, first, last, top, scale), edges, lut, steps)
            cuda.atomic.add(counts, b, 1)
            cuda.atomic.add(sums, b, d)
    cuda.atomic.add(stats, NULLS, nulls)
    cuda.atomic.add(stats, INFS, infs)
    cuda.atomic.add(stats, NEGINFS, neginfs)
    cuda.atomic.min(stats, MIN, lo)
    cuda.atomic.max(stats, MAX, hi)
    cuda.atomic.add(stats, SHIFTED_SUM, s1)
    cuda.atomic.add(stats, SHIFTED_SUMSQ, s2)


def count_column_gpu(x: np.ndarray, lookup: BinLookup, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``kernels.count_columns`` for one array on the GPU; the statistics come back as one chunk."""
    stats = np.zeros(N_STATS)
    stats[MIN], stats[MAX] = math.inf, -math.inf
    edges, lut, scale, steps = lookup
    counts = cuda.to_device(np.zeros(lookup.bins, np.int64))
    sums = cuda.to_device(np.zeros(lookup.bins))
    device_stats = cuda.to_device(stats)
    blocks = max(1, min(MAX_BLOCKS, -(-x.size // THREADS_PER_BLOCK)))
    count_kernel[blocks, THREADS_PER_BLOCK](
        cuda.to_device(x), cuda.to_device(edges), cuda.to_device(lut), scale, steps, shift, counts, sums, device_stats
    )
    stats = device_stats.copy_to_host()
    stats[COUNT] = x.size - stats[NULLS] - stats[INFS]
    return counts.copy_to_host(), sums.copy_to_host(), stats[None, :]
