"""Hyperparameter search: launchbay on Ray against scikit-learn's GridSearchCV, same grid, same run.

A 24-point grid (max_depth x min_samples_leaf of a decision tree, through launchbay's
scikit-learn adapter, so both sides fit the same pipeline) with 3-fold stratified CV and
a refit of the best candidate on all rows. Ray start-up is timed apart and left out of
the ratios.

    python benchmarks/train.py             # 200,000 rows x 20 features
    python benchmarks/train.py --rows 20000
"""

from __future__ import annotations

import argparse
import time

from launchbay.data.synthetic import SyntheticConfig, generate
from launchbay.models import SklearnConfig, build
from launchbay.runtime import RuntimeConfig, start
from launchbay.training.search import best, cross_validate, fit, grid

FOLDS, SEED, METRIC = 3, 0, "roc_auc"
ESTIMATOR = {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0, "max_features": 0.5}
SEARCH = {"estimator": {"max_depth": [4, 6, 8, 10, 12, 16], "min_samples_leaf": [1, 20, 100, 500]}}


def launchbay_search(X, y) -> tuple[dict, float]:
    """Cross-validate every candidate as Ray tasks, refit the best: (best point, seconds)."""
    import ray

    start_time = time.perf_counter()
    points = grid(SEARCH)
    candidates = [SklearnConfig(estimator={**ESTIMATOR, **{k.split(".")[1]: v for k, v in p.items()}}) for p in points]
    scores = cross_validate(build, candidates, X, y, folds=FOLDS, metric=METRIC, seed=SEED)
    chosen = best(scores, METRIC)
    ray.get(ray.remote(fit).remote(build, candidates[chosen], X, y))
    return points[chosen], time.perf_counter() - start_time


def sklearn_search(X, y, n_jobs: int) -> tuple[dict, float]:
    """GridSearchCV on the same pipeline, folds and metric: (best point, seconds)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    pipeline = build(SklearnConfig(estimator=ESTIMATOR))
    step = pipeline.steps[-1][0]
    param_grid = {f"{step}__{k}": v for k, v in SEARCH["estimator"].items()}
    search = GridSearchCV(pipeline, param_grid, scoring=METRIC, cv=StratifiedKFold(FOLDS, shuffle=True, random_state=SEED), n_jobs=n_jobs)
    start_time = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - start_time
    return {f"estimator.{k.split('__')[1]}": v for k, v in search.best_params_.items()}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args()

    table = generate(SyntheticConfig(rows=args.rows, numeric=args.features, categorical=0, chunk_rows=args.rows), 0)
    frame = table.to_pandas()
    X, y = frame[[f"num_{i}" for i in range(args.features)]], frame["label"].to_numpy()
    print(f"{args.rows:,} rows x {args.features} features, {len(grid(SEARCH))} candidates x {FOLDS} folds + refit")

    ray_start = time.perf_counter()
    start(RuntimeConfig())
    import ray

    print(f"Ray start-up: {time.perf_counter() - ray_start:.1f} s ({ray.cluster_resources().get('CPU', 0):.0f} CPUs), not counted below")
    ours, ours_s = launchbay_search(X, y)
    serial, serial_s = sklearn_search(X, y, n_jobs=1)
    parallel, parallel_s = sklearn_search(X, y, n_jobs=-1)
    print(f"launchbay on Ray          {ours_s:7.1f} s   best {ours}")
    print(f"GridSearchCV n_jobs=1     {serial_s:7.1f} s   best {serial}")
    print(f"GridSearchCV n_jobs=-1    {parallel_s:7.1f} s   best {parallel}")
    print(f"launchbay vs n_jobs=1:  {serial_s / ours_s:.2f}x faster (target >= 1.7x)")
    print(f"launchbay vs n_jobs=-1: {parallel_s / ours_s:.2f}x (target >= 0.95x)")
    same = ours == serial == parallel
    print(f"same best parameters: {'yes' if same else 'NO'}")
    ray.shutdown()
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
