"""Drift benchmark: launchbay against per-column pandas + scipy, and against memory bandwidth.

    python benchmarks/drift.py                # 1M rows x (20 numeric + 5 categorical), each side
    python benchmarks/drift.py --rows 10000000 --categorical 0

Everything runs in one process on the same data. Printed ratios compare:
  0. ``compare(R, C)`` of the numeric columns (tables, default metrics, the multivariate part
     included) against per-column scipy on the same columns: the goal is 100x;
  1. launchbay end to end (build_reference + compare, default metrics) against the way
     mainstream drift tools do it: per column, pandas + scipy (normed
     ``wasserstein_distance`` for numeric columns, ``jensenshannon`` over
     ``value_counts`` for categorical ones), and ``ks_2samp`` against launchbay's ks;
  2. the counting pass alone against ``a.sum()`` over the same arrays (memory bandwidth);
  3. with ``--device gpu``: the CUDA counting kernel against the CPU kernel on the same arrays
     (counts checked equal, host-to-device copies included), then nothing else.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
import pyarrow as pa


def make_data(rows: int, numeric: int, categorical: int, seed: int, drift: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    shift = 0.2 if drift else 0.0
    columns = {}
    for i in range(numeric):
        shape = i % 4
        if shape == 0:
            x = rng.normal(shift * (i % 3 == 0), 1.0, rows)
        elif shape == 1:
            x = rng.lognormal(shift, 1.0, rows)
        elif shape == 2:
            x = rng.standard_t(3.0, rows) + shift
        else:
            x = rng.integers(0, 100, rows).astype(np.float64)
        columns[f"num_{i}"] = x
    names = np.array([f"value_{k}" for k in range(20)])
    for i in range(categorical):
        p = np.linspace(1.0, 2.0 + drift * i, 20)
        columns[f"cat_{i}"] = pa.array(names[rng.choice(20, rows, p=p / p.sum())])
    return pa.table(columns)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of(fn, repeat: int) -> float:
    return min(timed(fn)[0] for _ in range(repeat))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scipy_per_column(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """What mainstream tools run per column: normed Wasserstein or Jensen-Shannon."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    out = {}
    for name in reference.columns:
        ref, cur = reference[name], current[name]
        if not pd.api.types.is_numeric_dtype(ref):
            r, c = ref.value_counts(), cur.value_counts()
            keys = r.index.union(c.index)
            out[name] = jensenshannon(r.reindex(keys, fill_value=0), c.reindex(keys, fill_value=0))
        else:
            out[name] = wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
    return out


def scipy_ks(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    from scipy.stats import ks_2samp

    return {name: ks_2samp(reference[name], current[name]).pvalue for name in reference if pd.api.types.is_numeric_dtype(reference[name])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--numeric", type=int, default=20)
    parser.add_argument("--categorical", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; the best is printed")
    parser.add_argument("--skip-scipy", action="store_true", help="leave out the slow per-column baseline")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu", help="gpu: time the CUDA counting kernel against the CPU's")
    args = parser.parse_args()

    from numba import get_num_threads

    from launchbay.drift import MonitorConfig, build_reference, compare, sketch
    from launchbay.drift.device import count_arrays

    reference = make_data(args.rows, args.numeric, args.categorical, seed=1, drift=False)
    current = make_data(args.rows, args.numeric, args.categorical, seed=2, drift=True)
    config = MonitorConfig(device="cpu")
    cells = args.rows * (args.numeric + args.categorical)
    print(f"data: {args.rows:,} rows x ({args.numeric} numeric + {args.categorical} categorical), each side;")
    print(f"      {get_num_threads()} numba threads; peak RSS after generating {peak_rss_mib():,.0f} MiB")

    warm_up = build_reference(reference.slice(0, 20_000), config)  # JIT (or cache load) and lazy imports
    for metrics in (None, ["ks"]):
        compare(warm_up, current.slice(0, 20_000), metrics=metrics, config=config)

    def end_to_end():
        return compare(build_reference(reference, config), current, config=config)

    launchbay_s = best_of(end_to_end, args.repeat)
    result = end_to_end()
    print(f"launchbay  build_reference + compare: {launchbay_s * 1e3:8.1f} ms "
          f"({2 * cells / launchbay_s / 1e6:,.0f} M values/s); "
          f"{len(result.drifted_features)}/{len(result.features)} features drifted; "
          f"peak RSS {peak_rss_mib():,.0f} MiB")

    profile = build_reference(reference, config)
    ks_s = best_of(lambda: compare(profile, current, metrics=["ks"], config=config), args.repeat)
    print(f"launchbay  compare(ks, stored reference): {ks_s * 1e3:8.1f} ms")

    numeric = [reference.column(f"num_{i}").to_numpy() for i in range(args.numeric)]
    features = [profile.features[f"num_{i}"] for i in range(args.numeric)]
    lookups, centers = [f.lookup for f in features], [f.center for f in features]

    count_s = best_of(lambda: count_arrays(numeric, lookups, centers, "cpu"), 2 * args.repeat)
    sum_s = best_of(lambda: [x.sum() for x in numeric], 2 * args.repeat)
    numeric_table = reference.select([f"num_{i}" for i in range(args.numeric)])
    sketch_s = best_of(lambda: sketch(numeric_table, profile.__class__(
        {name: profile.features[name] for name in numeric_table.column_names}), device="cpu"), args.repeat)
    print(f"counting pass, {args.numeric} numeric columns: {count_s * 1e3:8.1f} ms; "
          f"numpy a.sum(): {sum_s * 1e3:6.1f} ms; ratio {count_s / sum_s:5.1f}x "
          f"(sketch() of the numeric columns: {sketch_s * 1e3:.1f} ms)")

    if args.device == "gpu":
        gpu_against_cpu(numeric, lookups, centers, count_s, args.repeat)
        return
    if args.skip_scipy:
        return
    numeric_current = current.select(numeric_table.column_names)
    compare_s = best_of(lambda: compare(numeric_table, numeric_current, config=config), args.repeat)
    multivariate = compare(numeric_table, numeric_current, config=config).multivariate
    scipy_numeric_s, _ = timed(lambda: scipy_per_column(numeric_table.to_pandas(), numeric_current.to_pandas()))
    print(f"compare(R, C), {args.numeric} numeric columns, default metrics + multivariate "
          f"({multivariate.components} of {args.numeric} components): {compare_s * 1e3:8.1f} ms; "
          f"per-column scipy {scipy_numeric_s * 1e3:8.1f} ms; speed-up {scipy_numeric_s / compare_s:6.1f}x (goal >= 100x)")
    ref_pd, cur_pd = reference.to_pandas(), current.to_pandas()
    scipy_s, _ = timed(lambda: scipy_per_column(ref_pd, cur_pd))
    print(f"pandas + scipy per column (wasserstein normed, jensenshannon): {scipy_s * 1e3:10.1f} ms; "
          f"peak RSS {peak_rss_mib():,.0f} MiB")
    scipy_ks_s, _ = timed(lambda: scipy_ks(ref_pd, cur_pd))
    print(f"scipy ks_2samp per numeric column: {scipy_ks_s * 1e3:10.1f} ms")
    print(f"speed-up, default metrics end to end: {scipy_s / launchbay_s:6.1f}x")
    print(f"speed-up, ks with a stored reference:  {scipy_ks_s / ks_s:6.1f}x")


def gpu_against_cpu(numeric: list[np.ndarray], lookups: list, centers: list[float], cpu_s: float, repeat: int) -> None:
    """The CUDA counting kernel on the arrays the CPU kernel counted in ``cpu_s``: same counts, time and ratio."""
    from numba import cuda

    from launchbay.drift.device import count_arrays

    if not cuda.is_available():
        raise SystemExit("--device gpu: no CUDA GPU is available here")
    cpu, gpu = count_arrays(numeric, lookups, centers, "cpu"), count_arrays(numeric, lookups, centers, "gpu")
    assert all(np.array_equal(c[0], g[0]) for c, g in zip(cpu, gpu)), "CUDA and CPU counts differ"
    gpu_s = best_of(lambda: count_arrays(numeric, lookups, centers, "gpu"), 2 * repeat)
    values = sum(x.size for x in numeric)
    name = cuda.get_current_device().name if hasattr(cuda, "get_current_device") else "the CUDA simulator"
    print(f"counting pass on {name.decode() if isinstance(name, bytes) else name}: {gpu_s * 1e3:8.1f} ms "
          f"({values / gpu_s / 1e9:.2f} G values/s, host-to-device copies included); "
          f"CPU {cpu_s * 1e3:.1f} ms; GPU is {cpu_s / gpu_s:.1f}x the CPU")


if __name__ == "__main__":
    main()
