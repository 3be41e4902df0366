"""Batch scoring: launchbay against a plain loop and the textbook Ray Data recipe, same run.

    python benchmarks/score.py [--rows 10000000] [--heavy-rows 2000000] [--files 20]

Writes N rows x 20 float32 features as parquet, trains a cheap model (logistic
regression) and two heavy ones through launchbay (gradient boosting with 300 trees:
scikit-learn's histogram version, which predicts on every core by itself, and the classic
one, which predicts on one), then scores the same files with:

- launchbay ``job=score`` (stateless fused tasks), with and without the fused drift sketch, and with
  drift and the performance counts (confusion counts, log loss, score histograms: the batch has labels);
- a plain single-process loop: pyarrow read, predict, pyarrow write (floats without dictionary);
- the textbook Ray Data recipe: a callable class in an actor pool, numpy batches.

Prints rows/s and the ratios; Ray's start-up is measured once and reported apart. Peak
RSS is the largest sum over this process and its children (the Ray workers) seen during
a run, sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(20)]


def write_inputs(root: Path, rows: int, files: int, seed: int) -> Path:
    """``rows`` rows in ``files`` parquet files, with a label that depends on the features."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=len(FEATURES))
    folder = root / f"batch-{rows}"
    folder.mkdir()
    for i, n in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(int))):
        x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
        label = (x @ weights + rng.normal(size=n) > 0).astype(np.int64)
        table = pa.table({"row_id": np.arange(i * n, i * n + n), **dict(zip(FEATURES, x.T)), "label": label})
        pq.write_table(table, folder / f"part-{i:03d}.parquet", use_dictionary=["row_id"])
    return folder


class PeakRss:
    """Largest RSS of this process plus its children while the block runs."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.1):
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def fresh(path: Path) -> Path:
    """``path`` as a new empty directory."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def plain_loop(model, folder: Path, out: Path) -> None:
    for f in sorted(folder.glob("*.parquet")):
        table = pq.read_table(f)
        frame = table.select(FEATURES).to_pandas()
        scored = pa.table({"row_id": table["row_id"], "score": model.predict_proba(frame)[:, 1]})
        pq.write_table(scored, out / f.name, use_dictionary=False)


def textbook_recipe(model, folder: Path, out: Path) -> None:
    import pandas as pd
    import ray

    model_ref = ray.put(model)

    class Predictor:
        def __init__(self):
            self.model = ray.get(model_ref)

        def __call__(self, batch: dict) -> dict:
            frame = pd.DataFrame({name: batch[name] for name in FEATURES})
            return {"row_id": batch["row_id"], "score": self.model.predict_proba(frame)[:, 1]}

    ds = ray.data.read_parquet(str(folder))
    # One actor: a pool that takes every CPU starves the write tasks and hangs.
    scored = ds.map_batches(Predictor, compute=ray.data.ActorPoolStrategy(size=1), batch_format="numpy", batch_size=65536)
    scored.write_parquet(str(out))


def counting_cost(model, folder: Path, repeat: int) -> None:
    """The performance counts of one file in this process against predicting it: the counts alone, per row."""
    from launchbay.models.predict import predict_columns
    from launchbay.performance.sketch import Target

    table = pq.read_table(sorted(folder.glob("*.parquet"))[0])
    frame = table.select(FEATURES).to_pandas()
    target = Target.of(model, "label", 2048)
    best = {"predict": float("inf"), "count": float("inf"), "count, no labels": float("inf")}
    for _ in range(repeat):
        start = time.perf_counter()
        predictions = {k: pa.array(v) for k, v in predict_columns(model, frame).items()}
        best["predict"] = min(best["predict"], time.perf_counter() - start)
        for label, batch in (("count", table), ("count, no labels", table.drop_columns(["label"]))):
            start = time.perf_counter()
            target.gather(batch, predictions)
            best[label] = min(best[label], time.perf_counter() - start)
    n = table.num_rows
    print(f"  one file ({n:,} rows) in process: predict {best['predict'] * 1e3:.1f} ms; performance counts "
          f"{best['count'] * 1e3:.1f} ms ({best['count'] / n * 1e9:.1f} ns a row, {best['count'] / best['predict']:.1%} of predict), "
          f"without labels {best['count, no labels'] * 1e3:.1f} ms ({best['count, no labels'] / n * 1e9:.1f} ns a row)")


def timed(label: str, rows: int, fn, results: dict, repeat: int) -> None:
    """Best of ``repeat`` runs (the machine is shared; the best run is the least disturbed)."""
    seconds, peak = float("inf"), 0
    for _ in range(repeat):
        with PeakRss() as rss:
            start = time.perf_counter()
            fn()
            seconds = min(seconds, time.perf_counter() - start)
        peak = max(peak, rss.peak)
    results[label] = rows / seconds
    print(f"  {label:<34} {seconds:7.2f} s  {rows / seconds / 1e6:6.2f} M rows/s  peak RSS {peak / 2**30:5.2f} GiB")


def bench_model(name: str, model_overrides: list[str], folder: Path, rows: int, work: Path, repeat: int) -> dict:
    import launchbay
    from launchbay.registry import Registry

    launchbay.run(["job=train", "data=parquet", f"data.path={folder / 'part-000.parquet'}", *model_overrides,
                   "job.report=false", f"job.model_name={name}"])
    version = Registry(".launchbay/registry").get(name)
    model = version.load_model()
    results: dict[str, float] = {}
    print(f"\n{name}: {rows:,} rows x {len(FEATURES)} float32 features")
    score = ["job=score", "data@batch=parquet", f"batch.path={folder}", f"job.model_name={name}",
             f"job.model_version={version.version}", "job.report=false"]
    start = time.perf_counter()
    launchbay.run([*score, f"score.output={work / name / 'warm'}"])
    print(f"  first run, Ray workers starting:   {time.perf_counter() - start:7.2f} s (not counted)")
    alone = ["score.drift=false", "score.performance=false"]
    timed("launchbay score", rows, lambda: launchbay.run([*score, *alone, f"score.output={work / name / 'lb'}"]), results, repeat)
    drift = ["score.performance=false", f"score.output={work / name / 'lbd'}"]
    timed("launchbay score + fused drift", rows, lambda: launchbay.run([*score, *drift]), results, repeat)
    both = [f"score.output={work / name / 'lbdp'}"]
    timed("launchbay score + drift + performance", rows, lambda: launchbay.run([*score, *both]), results, repeat)
    timed("plain loop (1 process)", rows, lambda: plain_loop(model, folder, fresh(work / name / "plain")), results, repeat)
    if name == "cheap":
        recipe = lambda: textbook_recipe(model, folder, fresh(work / name / "textbook"))  # noqa: E731
        timed("textbook Ray Data actor recipe", rows, recipe, results, repeat)
    elif name == "heavy":  # histogram gradient boosting predicts on every core by itself (OpenMP): the 1-core loop
        from threadpoolctl import threadpool_limits

        def one_thread() -> None:
            with threadpool_limits(1):
                plain_loop(model, folder, fresh(work / name / "plain1"))

        timed("plain loop, model on 1 thread", rows, one_thread, results, repeat)
        print(f"  launchbay / 1-thread plain loop:   {results['launchbay score'] / results['plain loop, model on 1 thread']:.2f}x")
    lb = results["launchbay score"]
    print(f"  launchbay / plain loop:            {lb / results['plain loop (1 process)']:.2f}x")
    if "textbook Ray Data actor recipe" in results:
        print(f"  launchbay / textbook recipe:       {lb / results['textbook Ray Data actor recipe']:.2f}x")
    print(f"  fused drift cost over scoring:     {lb / results['launchbay score + fused drift'] - 1:+.1%}")
    performance = results["launchbay score + fused drift"] / results["launchbay score + drift + performance"]
    print(f"  performance counts over score + drift: {performance - 1:+.1%} (time ratio {performance:.3f})")
    counting_cost(model, folder, repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--heavy-rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    parser.add_argument("--models", default="cheap,heavy,heavy-1-core", help="which models to run, comma-separated")
    args = parser.parse_args()

    from launchbay.runtime import RuntimeConfig, start

    work = Path(tempfile.mkdtemp(prefix="launchbay-bench-score-"))
    os.chdir(work)
    try:
        print(f"writing inputs under {work} ...")
        cheap = write_inputs(work, args.rows, args.files, seed=1)
        heavy = write_inputs(work, args.heavy_rows, args.files, seed=2) if args.heavy_rows != args.rows else cheap
        t = time.perf_counter()
        start(RuntimeConfig(object_store_memory_mb=2048))
        print(f"Ray start-up: {time.perf_counter() - t:.2f} s (not included below)")
        models = args.models.split(",")
        if "cheap" in models:
            bench_model("cheap", ["model=logreg"], cheap, args.rows, work, args.repeat)
        heavy_model = ["model=gbm", "model.estimator.max_iter=300", "++model.estimator.early_stopping=false"]
        if "heavy" in models:
            bench_model("heavy", heavy_model, heavy, args.heavy_rows, work, args.repeat)
        one_core = ["model=sklearn", "~model.estimator.max_iter", "+model.estimator.n_estimators=300",
                    "model.estimator._target_=sklearn.ensemble.GradientBoostingClassifier", "+model.estimator.max_depth=4",
                    "+model.estimator.subsample=0.25"]
        if "heavy-1-core" in models:
            bench_model("heavy-1-core", one_core, heavy, args.heavy_rows, work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
