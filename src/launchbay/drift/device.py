"""Where the counting pass runs: a CUDA GPU when asked for (or found, with ``auto``), else the CPU."""

from __future__ import annotations

import logging
from functools import cache

import numpy as np

from launchbay.errors import LaunchbayError

log = logging.getLogger(__name__)

# Arrays shorter than this are counted by one CPU thread.
ROWS_PER_CHUNK = 1 << 16


def count_values(
    x: np.ndarray, edges: np.ndarray, lookup: tuple[float, np.ndarray, int], shift: float, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Bin counts and per-chunk statistics of ``x`` (see ``kernels.count_column``); ``lookup`` from ``grid_lookup``."""
    if use_gpu(device):
        from launchbay.drift.cuda import count_column_gpu

        return count_column_gpu(x, edges, lookup, shift)
    from numba import get_num_threads

    from launchbay.drift.kernels import count_column

    chunks = max(1, min(get_num_threads(), x.size // ROWS_PER_CHUNK))
    return count_column(x, edges, lookup[1], lookup[0], lookup[2], shift, chunks)


@cache
def use_gpu(device: str) -> bool:
    """True when ``device`` (auto, cpu or gpu) means counting on a CUDA GPU."""
    if device == "cpu":
        return False
    if device not in ("auto", "gpu"):
        raise LaunchbayError(f"monitor.device must be auto, cpu or gpu, got '{device}'")
    from numba import cuda

    available = cuda.is_available()
    if device == "gpu" and not available:
        raise LaunchbayError("monitor.device=gpu but no CUDA GPU is available: use monitor.device=auto or cpu")
    if not available:
        log.info("no CUDA GPU found: drift counting runs on the CPU")
    return available
