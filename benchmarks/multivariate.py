"""Multivariate drift benchmark: what the PCA reconstruction error adds to ``counting.sketch``.

    python benchmarks/multivariate.py            # 1M rows x 20 numeric features
    python benchmarks/multivariate.py --rows 10000000 --dtype float32

One process, the same data: ``sketch`` over a reference without the multivariate part
(the per-feature sketch alone, the baseline), the same with it, and the reconstruction
error alone; each the best of ``--repeat`` runs after a warm-up. Also times fitting the
reference PCA against ``build_reference`` without it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from launchbay.drift import MonitorConfig, build_reference, sketch


def make_data(rows: int, features: int, seed: int, dtype: str) -> pa.Table:
    """Correlated numeric features: a few latent factors mixed, plus noise."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(rows, 4))
    mixed = factors @ rng.normal(size=(4, features)) + rng.normal(size=(rows, features))
    return pa.table({f"num_{j}": mixed[:, j].astype(dtype) for j in range(features)})


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up: numba compiles, caches fill
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    reference_data = make_data(args.rows, args.features, 0, args.dtype)
    current = make_data(args.rows, args.features, 1, args.dtype)
    config = MonitorConfig(mode="sketch", device="cpu")
    plain = build_reference(reference_data, MonitorConfig(mode="sketch", device="cpu", multivariate=False))
    reference = build_reference(reference_data, config)
    model = reference.multivariate
    columns = [current.column(name).chunk(0).to_numpy() for name in model.features]

    fit_plain = min(once(lambda: build_reference(reference_data, MonitorConfig(mode="sketch", device="cpu", multivariate=False))) for _ in range(2))
    fit_with = min(once(lambda: build_reference(reference_data, config)) for _ in range(2))
    alone = best_of(lambda: sketch(current, plain, device="cpu"), args.repeat)
    both = best_of(lambda: sketch(current, reference, device="cpu"), args.repeat)
    error = best_of(lambda: model.count(columns), args.repeat)

    values = args.rows * args.features
    print(f"{args.rows:,} rows x {args.features} {args.dtype} features; PCA keeps {model.kept} of {args.features} components")
    print(f"sketch alone (per-feature)          {alone * 1e3:8.1f} ms  {values / alone / 1e6:7.0f} M values/s  1")
    print(f"sketch with the reconstruction error {both * 1e3:8.1f} ms  {values / both / 1e6:7.0f} M values/s  {both / alone:.2f}x")
    print(f"reconstruction error alone           {error * 1e3:8.1f} ms  {values / error / 1e6:7.0f} M values/s  {error / alone:.2f}x")
    print(f"build_reference without / with PCA   {fit_plain * 1e3:8.1f} ms / {fit_with * 1e3:.1f} ms  {fit_with / fit_plain:.2f}x")


if __name__ == "__main__":
    main()
