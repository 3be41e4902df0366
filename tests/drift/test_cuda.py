"""The CUDA counting kernel, run on numba's CUDA simulator (no GPU needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from launchbay.drift import MonitorConfig, build_reference
from launchbay.errors import LaunchbayError

SIMULATED = textwrap.dedent(
    """
    import numpy as np
    import pandas as pd
    from numba import cuda
    from launchbay.drift import MonitorConfig, build_reference
    from launchbay.drift.cuda import count_column_gpu
    from launchbay.drift.device import count_arrays, use_gpu
    from launchbay.drift.kernels import COUNT, COUNTED_STEPS, INFS, MAX, MIN, NEGINFS, NULLS, bin_lookup

    assert cuda.is_available() and use_gpu("gpu")
    rng = np.random.default_rng(0)
    x = rng.standard_t(2.0, 3000)
    x[rng.random(x.size) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, 0.0]
    ref = build_reference(pd.DataFrame({"x": x}), MonitorConfig(fine_bins=64), device="cpu").features["x"]
    cases = [(x, ref.lookup, ref.center), (x.astype(np.float32), ref.lookup, ref.center)]
    for k in (5, 50):  # dense cells whose edges are all compared, and bisected
        dense = np.unique(np.concatenate([[-5.0, 1.0], np.linspace(1.0, 1.001, k), [1e150]]))
        near = np.concatenate([dense, np.nextafter(dense, -np.inf), np.nextafter(dense, np.inf), [np.nan, np.inf]])
        cases.append((near, bin_lookup(dense, 4), 0.0))
    assert cases[2][1].steps <= COUNTED_STEPS < cases[3][1].steps
    for values, lookup, shift in cases:
        [(cpu_counts, cpu_sums, cpu_stats)] = count_arrays([values], [lookup], [shift], "cpu")
        gpu_counts, gpu_sums, gpu_stats = count_column_gpu(values, lookup, shift)
        assert np.array_equal(cpu_counts, gpu_counts), (cpu_counts, gpu_counts)
        finite = values[np.isfinite(values)].astype(np.float64)
        bins = np.searchsorted(lookup.edges[: lookup.bins - 1], finite, side="right")
        expected = np.bincount(bins, finite - shift, lookup.bins)  # per-bin sums, numpy's way
        assert np.allclose(cpu_sums, expected, rtol=1e-12, atol=1e-9) and np.allclose(gpu_sums, expected, rtol=1e-12, atol=1e-9)
        for k in (NULLS, INFS, COUNT):
            assert cpu_stats[:, k].sum() == gpu_stats[0, k]
        assert cpu_stats[:, NEGINFS].sum() == gpu_stats[0, NEGINFS] == np.sum(values == -np.inf)
        assert cpu_stats[:, MIN].min() == gpu_stats[0, MIN] and cpu_stats[:, MAX].max() == gpu_stats[0, MAX]
    print("ok", int(gpu_counts.sum()))
    """
)


def test_cuda_kernel_counts_equal_the_cpu_kernel_on_the_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, "-c", SIMULATED], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")


def test_gpu_without_a_gpu_is_a_one_line_error():
    import pandas as pd
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(LaunchbayError, match="monitor.device=gpu but no CUDA GPU is available"):
        build_reference(pd.DataFrame({"x": [1.0, 2.0]}), MonitorConfig(device="gpu"))


def test_unknown_device_is_an_error():
    import pandas as pd

    with pytest.raises(LaunchbayError, match="monitor.device must be auto, cpu or gpu"):
        build_reference(pd.DataFrame({"x": [1.0, 2.0]}), MonitorConfig(device="tpu"))
