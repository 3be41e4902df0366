"""Fit the model on the training data, evaluate it on a holdout, register it with its reference profile."""

from __future__ import annotations

import platform
from importlib import metadata

import numpy as np
import pandas as pd

from launchbay.errors import LaunchbayError
from launchbay.models.predict import predict_columns


def feature_columns(columns: list[str], ctx) -> list[str]:
    """Every column but the label, the id and those the monitor excludes."""
    job = ctx.cfg.job
    if job.label not in columns:
        raise LaunchbayError(f"job.label: column '{job.label}' is not in the training data (columns: {columns})")
    skip = {job.label, job.id_column, *ctx.cfg.monitor.exclude}
    features = [c for c in columns if c not in skip]
    if not features:
        raise LaunchbayError(f"data: no feature columns left after removing {sorted(skip)}")
    return features


def fit_remote(build, settings, X: pd.DataFrame, y: np.ndarray):
    """Build and fit a model (runs as a Ray task)."""
    return build(settings).fit(X, y)


def evaluate(model, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    predicted = predict_columns(model, X)
    metrics = {"accuracy": float(accuracy_score(y, predicted["prediction"]))}
    if "score" in predicted and len(np.unique(y)) == 2:
        metrics["roc_auc"] = float(roc_auc_score(y, predicted["score"]))
        metrics["log_loss"] = float(log_loss(y, predicted["score"]))
    return metrics


def run(ctx) -> dict:
    import ray

    from launchbay import drift

    job = ctx.cfg.job
    family, settings = ctx.settings("model", ctx.cfg.model)
    with ctx.step("read training data"):
        frame = ctx.read(ctx.cfg.data).to_pandas()
    if frame.empty:
        raise LaunchbayError("data: the training data has no rows")
    features = feature_columns(list(frame.columns), ctx)
    order = np.random.default_rng(job.seed).permutation(len(frame))
    cut = int(len(frame) * (1 - job.holdout))
    train, holdout = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    with ctx.step("fit"):
        fit = ray.remote(fit_remote).options(num_gpus=family.num_gpus)
        model = ray.get(fit.remote(family.build, settings, train[features], train[job.label].to_numpy()))
    metrics = evaluate(model, holdout[features], holdout[job.label].to_numpy()) if len(holdout) else {}
    with ctx.step("reference profile"):
        reference = train[features].assign(**predict_columns(model, train[features]))
        profile = drift.build_reference(reference, config=ctx.monitor)
    version = ctx.registry.register(
        job.model_name,
        model,
        profile,
        {
            "family": ctx.cfg.model.name,
            "features": features,
            "label": job.label,
            "metrics": metrics,
            "train_rows": len(train),
            "holdout_rows": len(holdout),
            "run_id": ctx.run_id,
            "config": ctx.resolved_config(),
            "python": platform.python_version(),
            "packages": {p: metadata.version(p) for p in ("launchbay", "scikit-learn", "ray", "numpy", "pandas")},
        },
    )
    ctx.manager.hook.launchbay_model_registered(
        model=job.model_name, version=version.version, metrics=metrics, uri=str(version.path)
    )
    ctx.console.print(
        f"[green]trained[/] {job.model_name} v{version.version} ({ctx.cfg.model.name}) on {len(train):,} rows: "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    )
    return {"model": {"name": job.model_name, "version": version.version, "path": str(version.path)}, "metrics": metrics}
