"""The benchmark gate (``make bench-check``): launchbay's speed as ratios to baselines run side
by side in this process, never as absolute times, so that a slower or busier machine moves
both sides alike.

    python benchmarks/check.py [--rows 4000000] [--files 8] [--compare-rows 1000000] [--rounds 3]

Each round runs, in turn: ``job=score`` with nothing fused, ``job=score`` fused as a user gets
it (drift, multivariate, performance counts), the plain single-process loop, the textbook Ray
Data recipe, ``compare(R, C)`` with its defaults (best of 5: it takes tens of ms) and per-column scipy
on the same columns, at 1M rows a side, the size its goal is set for (at 300k rows the fixed
costs of the reference's edge sample and PCA fit are a third of compare, and the ratio about 45x). A
figure is the median of its per-round ratios. Each is printed with its goal (what launchbay
is built to reach, see benchmarks/README.md) and its floor; the gate fails only below a floor,
set well under the goal so that a shared machine's noise passes and a real regression does not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drift import make_data, scipy_per_column
from score import fresh, plain_loop, textbook_recipe, write_inputs


@dataclass
class Figure:
    """A ratio, its goal and the floor below which the gate fails; ``higher`` says which way is better."""

    name: str
    goal: float
    floor: float
    higher: bool = True
    unit: str = "x"
    rounds: list[float] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.rounds)

    def passes(self, bound: float) -> bool:
        return self.value >= bound if self.higher else self.value <= bound

    def shown(self, x: float) -> str:
        return f"{x:.2f}x" if self.unit == "x" else f"{x:+.1%}"

    def bound(self, x: float) -> str:
        return ("≥ " if self.higher else "≤ ") + self.shown(x)


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(runs: int, fn: Callable[[], object]) -> float:
    return min(seconds(fn) for _ in range(runs))


def quiet_run(overrides: list[str]) -> None:
    """``launchbay.run`` without its printed tables (a run prints them to stderr)."""
    import launchbay

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        launchbay.run(overrides)


def scoring_round(score: list[str], model, folder: Path, work: Path, figures: dict[str, Figure]) -> None:
    """Scoring alone, fused and the plain loop the best of 2 each (a single run of 0.5 s varies by up to 2x here), the textbook recipe once."""
    alone = best_of(2, lambda: quiet_run([*score, "score.drift=false", "score.performance=false", f"score.output={work / 'alone'}"]))
    fused = best_of(2, lambda: quiet_run([*score, f"score.output={work / 'fused'}"]))
    plain = best_of(2, lambda: plain_loop(model, folder, fresh(work / "plain")))
    textbook = seconds(lambda: textbook_recipe(model, folder, fresh(work / "textbook")))
    figures["plain"].rounds.append(plain / alone)
    figures["textbook"].rounds.append(textbook / alone)
    figures["fused"].rounds.append(fused / alone - 1)
    print(f"  scoring: alone {alone:.2f} s, fused {fused:.2f} s, plain loop {plain:.2f} s, textbook recipe {textbook:.2f} s", flush=True)


def compare_round(reference, current, figures: dict[str, Figure]) -> None:
    from launchbay.drift import MonitorConfig, compare

    config = MonitorConfig(device="cpu")
    launchbay_s = best_of(5, lambda: compare(reference, current, config=config))  # about 75 ms: the best of 5
    scipy_s = seconds(lambda: scipy_per_column(reference.to_pandas(), current.to_pandas()))
    figures["compare"].rounds.append(scipy_s / launchbay_s)
    print(f"  compare: launchbay {launchbay_s * 1e3:.0f} ms, per-column scipy {scipy_s * 1e3:.0f} ms", flush=True)


def report(figures: dict[str, Figure], took: float) -> bool:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Benchmark gate: medians of {len(next(iter(figures.values())).rounds)} rounds ({took:.0f} s)")
    for column in ("figure", "rounds", "median", "goal", "floor", "status"):
        table.add_column(column, justify="left" if column in ("figure", "rounds") else "right")
    ok = True
    for f in figures.values():
        status = "ok" if f.passes(f.goal) else "below goal" if f.passes(f.floor) else "FAIL"
        ok &= f.passes(f.floor)
        table.add_row(f.name, ", ".join(f.shown(x) for x in f.rounds), f.shown(f.value), f.bound(f.goal), f.bound(f.floor), status)
    Console(width=130).print(table)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4_000_000, help="rows scored (20 float32 features)")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--compare-rows", type=int, default=1_000_000, help="rows on each side of compare (20 float64 columns)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from launchbay.drift import MonitorConfig, compare
    from launchbay.registry import Registry
    from launchbay.runtime import RuntimeConfig, start

    began = time.perf_counter()
    figures = {
        "plain": Figure(f"job=score alone / plain loop ({args.rows:,} rows)", goal=0.9, floor=0.5),
        "textbook": Figure("job=score alone / textbook Ray Data recipe", goal=3.5, floor=2.0),
        "fused": Figure("job=score fused (defaults) over alone", goal=0.10, floor=1.00, higher=False, unit="%"),
        "compare": Figure(f"compare(R, C) / per-column scipy ({args.compare_rows:,} x 20)", goal=100, floor=35),
    }
    work = Path(tempfile.mkdtemp(prefix="launchbay-bench-check-"))
    os.chdir(work)
    try:
        print(f"writing {args.rows:,} rows in {args.files} files and training a logistic regression ...", flush=True)
        folder = write_inputs(work, args.rows, args.files, seed=1)
        start(RuntimeConfig(object_store_memory_mb=2048))
        quiet_run(["job=train", "data=parquet", f"data.path={folder / 'part-000.parquet'}", "model=logreg",
                       "job.report=false", "job.model_name=cheap"])
        model = Registry(".launchbay/registry").get("cheap").load_model()
        score = ["job=score", "data@batch=parquet", f"batch.path={folder}", "job.model_name=cheap", "job.report=false"]
        quiet_run([*score, f"score.output={work / 'warm'}"])  # the workers start and load the kernels
        columns = [f"num_{i}" for i in range(20)]
        reference = make_data(args.compare_rows, 20, 0, seed=1, drift=False).select(columns)
        current = make_data(args.compare_rows, 20, 0, seed=2, drift=True).select(columns)
        compare(reference.slice(0, 20_000), current.slice(0, 20_000), config=MonitorConfig(device="cpu"))  # JIT
        for i in range(args.rounds):
            print(f"round {i + 1} of {args.rounds}", flush=True)
            compare_round(reference, current, figures)
            scoring_round(score, model, folder, work, figures)
        ok = report(figures, time.perf_counter() - began)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not ok:
        print("bench-check: a figure is below its floor (see the table)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
