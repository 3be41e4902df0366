"""Where the counting pass runs: a CUDA GPU when asked for (or found, with ``auto``), else the CPU."""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from launchbay.drift.config import Device
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    from launchbay.drift.kernels import BinLookup

log = logging.getLogger(__name__)

# Arrays shorter than this are counted by one CPU thread.
ROWS_PER_CHUNK = 1 << 16
NO_CUDA_GPU = "monitor.device=gpu but no CUDA GPU is available: use monitor.device=auto or cpu"


def count_arrays(
    arrays: list[np.ndarray], lookups: list[BinLookup], shifts: list[float], device: Device
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Bin counts, per-bin sums of ``x - shift`` and per-chunk statistics of each float64 or
    float32 array over its lookup's bins (see ``kernels.count_columns``); on the CPU, all of
    them in one parallel region."""
    if use_gpu(device):
        from launchbay.drift.cuda import count_column_gpu

        return [count_column_gpu(x, lookup, shift) for x, lookup, shift in zip(arrays, lookups, shifts)]
    from numba import get_num_threads

    from launchbay.drift.kernels import PAD, count_columns

    if not arrays:
        return []
    # the kernel reads these by address: they stay referenced here until it returns
    arrays = [np.ascontiguousarray(x, np.float32 if x.dtype == np.float32 else np.float64) for x in arrays]
    columns = np.array([(x.ctypes.data, x.size, x.itemsize) for x in arrays], np.int64)
    tables = np.array(
        [(k.edges.ctypes.data, k.edges.size, k.lut.ctypes.data, k.lut.size, k.bins) for k in lookups], np.int64
    )
    chunks = max(1, min(get_num_threads(), max(x.size for x in arrays) // ROWS_PER_CHUNK))
    counts, sums, starts, stats = count_columns(
        columns,
        tables,
        np.array([k.scale for k in lookups], np.float64),
        np.array([k.steps for k in lookups], np.int64),
        np.array(shifts, np.float64),
        chunks,
    )
    bins = [slice(starts[i], starts[i + 1] - PAD) for i in range(len(arrays))]
    return [(counts[b], sums[b], stats[i]) for i, b in enumerate(bins)]


@cache
def use_gpu(device: Device) -> bool:
    """True when ``device`` means counting on a CUDA GPU."""
    try:
        device = Device(device)  # a plain string from the Python API
    except ValueError:
        raise LaunchbayError(f"device must be auto, cpu or gpu, got '{device}'") from None
    if device == Device.cpu:
        return False
    from numba import cuda

    available = cuda.is_available()
    if device == Device.gpu and not available:
        raise LaunchbayError(NO_CUDA_GPU)
    if not available:
        log.debug("no CUDA GPU found: drift counting runs on the CPU")
    return available


def require_cluster_gpu() -> None:
    """For ``device=gpu`` on Ray: the error of no CUDA GPU, on the driver, when the Ray cluster
    has no GPU at all and cannot add one (``runtime.autoscaling``)."""
    from launchbay.runtime import AUTOSCALING, cluster_gpus

    if not cluster_gpus() and not AUTOSCALING.is_set():
        raise LaunchbayError(NO_CUDA_GPU)
