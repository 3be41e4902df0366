"""XGBoost against scikit-learn's histogram gradient boosting, both through launchbay.

The same synthetic rows (numeric features only, a binary label) train ``model=xgboost``
(launchbay-xgboost) with its defaults and shaped like gbm, and ``model=gbm``
(``HistGradientBoostingClassifier``, ``conf/model/gbm.yaml``) with ``job=train``, then
``job=score`` scores the same fresh batch with each. All boost at most 200 rounds at learning
rate 0.1 and use every CPU the fit task gets
(``train.num_cpus``: Ray sets OpenMP's threads for scikit-learn, launchbay-xgboost its
``n_jobs``). Reported per model: the fit's wall time, scoring throughput (read, predict,
write; drift off), and ROC AUC on the training run's holdout; ratios are against gbm,
measured in the same run. Ray start-up and a warm-up run of each model on 2,000 rows (the
workers import each library once) are left out.

    python benchmarks/xgboost_vs_gbm.py                    # 200,000 rows x 20 features
    python benchmarks/xgboost_vs_gbm.py --rows 20000 --features 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

MODELS = {
    "xgboost": ["model=xgboost"],  # launchbay-xgboost's defaults: 200 rounds of depth-6 trees, learning rate 0.1
    # shaped like gbm: best-first trees of 31 leaves, stopping after 10 rounds without gain on 10% of the rows
    "xgboost_like_gbm": ["model=xgboost", "model.max_depth=0", "+model.params.grow_policy=lossguide", "+model.params.max_leaves=31",
                         "model.early_stopping_rounds=10", "model.validation_fraction=0.1"],
    "gbm": ["model=gbm"],  # HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31), early stopping on
}


def rounds(model) -> int:
    """The boosting rounds a fitted model kept."""
    if hasattr(model, "estimator_"):  # launchbay-xgboost
        booster = model.estimator_
        return booster.best_iteration + 1 if model.cfg.early_stopping_rounds else booster.n_estimators
    return model.steps[-1][1].n_iter_  # the scikit-learn family's pipeline


def measure(name: str, overrides: list[str], data: list[str], batch: list[str], cpus: int) -> dict[str, float]:
    """Train ``name`` on ``data`` and score ``batch`` with it: fit seconds, rounds, scoring rows/s, holdout ROC AUC."""
    import launchbay
    from launchbay.registry import Registry

    train = launchbay.run(["job=train", f"job.model_name={name}", f"train.num_cpus={cpus}", *overrides, *data])
    score = launchbay.run(["job=score", f"job.model_name={name}", "job.model_version=latest", "score.drift=false", *batch])
    model = Registry(".launchbay/registry").get(name).load_model()
    return {"fit_s": train["timings_s"]["fit"], "rounds": rounds(model), "rows_per_s": score["scores"]["rows_per_s"],
            "roc_auc": train["metrics"]["roc_auc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the embedded Ray and of each fit")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from launchbay.runtime import RuntimeConfig, start

    shape = [f"data.numeric={args.features}", "data.categorical=0"]
    data = ["data=synthetic", f"data.rows={args.rows}", *shape]
    batch = ["data@batch=synthetic", f"batch.rows={args.rows}", "batch.seed=1", *[s.replace("data.", "batch.") for s in shape]]
    os.chdir(tempfile.mkdtemp(prefix="xgboost-vs-gbm-"))  # runs/ and the registry
    began = time.perf_counter()
    start(RuntimeConfig(num_cpus=args.cpus))
    console = Console(width=max(Console().width, 120))
    console.print(f"{args.rows:,} rows x {args.features} features; Ray start-up {time.perf_counter() - began:.1f} s, not counted")
    small = ["data.rows=2000", "batch.rows=2000"]
    for name, overrides in MODELS.items():  # warm-up, not counted: the workers import each library once
        measure(f"warmup_{name}", overrides, [*data, *small], [*batch, *small], args.cpus)
    results = {name: measure(name, overrides, data, batch, args.cpus) for name, overrides in MODELS.items()}

    base = results["gbm"]
    table = Table(title=f"XGBoost vs HistGradientBoosting through launchbay ({args.cpus} CPUs)")
    for column in ("model", "rounds", "fit s", "fit: × faster", "score rows/s", "score: ×", "ROC AUC", "AUC − gbm"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, r in results.items():
        table.add_row(
            name, str(r["rounds"]), f"{r['fit_s']:.2f}", f"{base['fit_s'] / r['fit_s']:.2f}", f"{r['rows_per_s']:,.0f}",
            f"{r['rows_per_s'] / base['rows_per_s']:.2f}", f"{r['roc_auc']:.4f}", f"{r['roc_auc'] - base['roc_auc']:+.4f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
