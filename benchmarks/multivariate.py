"""Multivariate drift benchmark: what the PCA reconstruction error adds to ``counting.sketch``.

    python benchmarks/multivariate.py            # 1M rows x 20 numeric features
    python benchmarks/multivariate.py --rows 10000000 --dtype float32

One process, the same data: ``sketch`` over a reference without the multivariate part
(the per-feature sketch alone, the baseline), the same with it, and the reconstruction
error alone; each the best of ``--repeat`` rounds after a warm-up, the three taken in turn
in every round so that a busy machine slows them alike. Also times ``build_reference``
with the PCA against without it (best of 2).
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


def best_of(fns: list, repeat: int) -> list[float]:
    """The best time of each function over ``repeat`` rounds, one call of each per round."""
    for fn in fns:
        fn()  # warm-up: numba compiles, caches fill
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


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
    off = MonitorConfig(mode="sketch", device="cpu", multivariate=False)
    plain, reference = build_reference(reference_data, off), build_reference(reference_data, config)
    model = reference.multivariate
    columns = [current.column(name).chunk(0).to_numpy() for name in model.features]

    fit_plain, fit_with = best_of([lambda: build_reference(reference_data, off), lambda: build_reference(reference_data, config)], 2)
    alone, both, error = best_of(
        [lambda: sketch(current, plain, device="cpu"), lambda: sketch(current, reference, device="cpu"), lambda: model.count(columns)],
        args.repeat,
    )

    values = args.rows * args.features
    print(f"{args.rows:,} rows x {args.features} {args.dtype} features; PCA keeps {model.kept} of {args.features} components")
    print(f"sketch alone (per-feature)          {alone * 1e3:8.1f} ms  {values / alone / 1e6:7.0f} M values/s  1")
    print(f"sketch with the reconstruction error {both * 1e3:8.1f} ms  {values / both / 1e6:7.0f} M values/s  {both / alone:.2f}x")
    print(f"reconstruction error alone           {error * 1e3:8.1f} ms  {values / error / 1e6:7.0f} M values/s  {error / alone:.2f}x")
    print(f"build_reference without / with PCA   {fit_plain * 1e3:8.1f} ms / {fit_with * 1e3:.1f} ms  {fit_with / fit_plain:.2f}x")


if __name__ == "__main__":
    main()
