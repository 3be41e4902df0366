"""Fit the model, evaluate it on a holdout and register it with its lineage, data contract and
reference profile; train a challenger and let the promotion rule decide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from launchbay.errors import LaunchbayError
from launchbay.runtime import require_gpus
from launchbay.models.predict import predict_columns


@dataclass
class Trained:
    """A registered version, the holdout rows it was evaluated on, and its summary."""

    version: Any
    holdout: pd.DataFrame
    metrics: dict[str, float]
    summary: dict[str, Any]


def feature_columns(columns: list[str], ctx, where: str = "the training data") -> list[str]:
    """Every column but the label, the id and those the monitor excludes."""
    job = ctx.cfg.job
    if job.label not in columns:
        raise LaunchbayError(f"job.label: column '{job.label}' is not in {where} (columns: {columns})")
    skip = {job.label, job.id_column, *ctx.cfg.monitor.exclude}
    features = [c for c in columns if c not in skip]
    if not features:
        raise LaunchbayError(f"data: no feature columns left after removing {sorted(skip)}")
    return features


def read_table(ctx, source):
    """All rows of a data source as one Arrow table."""
    import pyarrow as pa
    import ray

    tables = ray.get(ctx.read(source).to_arrow_refs())
    return pa.concat_tables(tables, promote_options="default")


def contract_for(ctx, table, features: list[str], where: str):
    """(rows that keep the contract, the contract, its report): ``contract.path`` if set, else inferred."""
    from launchbay import validation
    from launchbay.app import typed

    cfg = typed(ctx.cfg.contract, "contract")
    if cfg.path is None:
        return table, validation.infer(table.select(features), cfg), {}
    contract = validation.Contract.from_file(cfg.path)
    good, bad, checked = validation.split(table, contract, f"{where} (contract {cfg.path})")
    validation.quarantine(bad, ctx.run_dir, "training")
    return good, contract, {"violations": checked.counts, "quarantined_rows": bad.num_rows}


def candidate_settings(ctx, point: dict[str, Any]) -> Any:
    """The model's typed settings with one search point's values put in."""
    from omegaconf import OmegaConf

    node = OmegaConf.create(OmegaConf.to_container(ctx.cfg.model, resolve=True))
    for path, value in point.items():
        OmegaConf.update(node, path, value, force_add=True)
    return ctx.settings("model", node)[1]


def fit_model(ctx, family, X: pd.DataFrame, y: np.ndarray, stage: str) -> tuple[Any, dict[str, Any]]:
    """Search (cross-validated, if there is a grid), then fit one model or one per segment."""
    import ray
    from omegaconf import OmegaConf

    from launchbay.training.search import best, cross_validate, fit, grid, remote_get
    from launchbay.training.segments import fit_segments

    require_gpus(family.num_gpus, f"model family '{family.name}' (per fit)")
    cfg = ctx.cfg.train
    points = grid(OmegaConf.to_container(cfg.search, resolve=True))
    candidates = [candidate_settings(ctx, point) for point in points]
    for settings in candidates:
        family.build(settings)  # a wrong setting fails here, on the driver, before any task starts
    info: dict[str, Any] = {}
    chosen = 0
    if len(candidates) > 1:
        with ctx.step(f"{stage}search"):
            scores = cross_validate(
                family.build, candidates, X, y, folds=cfg.folds, metric=cfg.metric, seed=ctx.cfg.job.seed, num_gpus=family.num_gpus
            )
        chosen = best(scores, cfg.metric)
        info["search"] = {
            "metric": cfg.metric,
            "folds": cfg.folds,
            "best": points[chosen],
            "candidates": [{"params": p, "score": s} for p, s in zip(points, scores)],
        }
    with ctx.step(f"{stage}fit"):
        if cfg.partition_by:
            if cfg.partition_by not in X.columns:
                raise LaunchbayError(f"train.partition_by: '{cfg.partition_by}' is not a feature column (features: {list(X.columns)})")
            model, info["segments"] = fit_segments(
                family.build, candidates[chosen], X, y, cfg.partition_by, min_rows=cfg.min_partition_rows, num_gpus=family.num_gpus
            )
        else:
            task = ray.remote(fit).options(num_gpus=family.num_gpus)
            model = remote_get([task.remote(family.build, candidates[chosen], X, y)], lambda _: f"the {family.name} model")[0]
    return model, info


def train_model(ctx, source, where: str = "the training data", stage: str = "") -> Trained:
    """Read ``source``, fit, evaluate on a holdout, register; ``stage`` prefixes the step timings."""
    from launchbay import drift
    from launchbay.training.lineage import data_fingerprint, environment, git_commit
    from launchbay.training.metrics import evaluate

    job = ctx.cfg.job
    family, _ = ctx.settings("model", ctx.cfg.model)
    with ctx.step(f"{stage}read training data"):
        table = read_table(ctx, source)
    features = feature_columns(table.column_names, ctx, where)
    table, contract, contract_report = contract_for(ctx, table, features, where)
    if not table.num_rows:
        raise LaunchbayError(f"data: {where} has no rows" + (" that keep the contract" if contract_report else ""))
    frame = table.to_pandas()
    if frame[job.label].isna().any():
        raise LaunchbayError(f"job.label: column '{job.label}' of {where} has {int(frame[job.label].isna().sum())} null values")
    order = np.random.default_rng(job.seed).permutation(len(frame))
    cut = int(len(frame) * (1 - job.holdout))
    train, holdout = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    model, info = fit_model(ctx, family, train[features], train[job.label].to_numpy(), stage)
    metrics = evaluate(model, holdout[features], holdout[job.label].to_numpy())
    with ctx.step(f"{stage}reference profile"):
        reference = train[features].assign(**predict_columns(model, train[features]))
        profile = drift.build_reference(reference, config=ctx.monitor)
    provider = ctx.manager.provider("model", family.name)
    meta = {
        "family": family.name,
        "features": features,
        "label": job.label,
        "metrics": metrics,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "data": {"source": source.name, "rows": len(frame), "fingerprint": data_fingerprint(frame)},
        "run_id": ctx.run_id,
        "config": ctx.resolved_config(),
        "git_commit": git_commit(),
        "model_plugin": {provider: ctx.manager.plugin_version(provider)},
        **environment(),
        **info,
    }
    version = ctx.registry.register(job.model_name, model, profile, meta, contract=contract)
    ctx.manager.hook.launchbay_model_registered(model=job.model_name, version=version.version, metrics=metrics, uri=version.uri)
    ctx.console.print(
        f"[green]trained[/] {job.model_name} v{version.version} ({family.name}) on {len(train):,} rows: "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    )
    summary = {"model": {"name": job.model_name, "version": version.version, "path": version.uri}, "metrics": metrics, **info}
    if contract_report:
        summary["contract"] = contract_report
    return Trained(version, holdout, metrics, summary)


def run(ctx) -> dict:
    trained = train_model(ctx, ctx.cfg.data)
    name, alias, version = ctx.cfg.job.model_name, ctx.cfg.approval.alias, trained.version.version
    if alias not in ctx.registry.aliases(name):
        reason = f"first version of '{name}': no {alias} to compare with"
        ctx.registry.record_decision(name, {"challenger_version": version, "promote": True, "reasons": [reason]})
        ctx.registry.set_alias(name, alias, version, reason=reason)
        ctx.manager.hook.launchbay_model_promoted(model=name, alias=alias, version=version, reason=reason)
        ctx.console.print(f"{name} v{version} is the {alias}")
    return trained.summary


def challenge(ctx, trigger: str) -> dict:
    """Train a challenger, compare it with the champion on the challenger's holdout, promote it if it wins."""
    from launchbay.training.approval import decide
    from launchbay.training.metrics import evaluate

    cfg, job = ctx.cfg.approval, ctx.cfg.job
    if cfg.train_on not in ("batch", "data"):
        raise LaunchbayError(f"approval.train_on must be 'batch' or 'data', got '{cfg.train_on}'")
    if not 0 < job.holdout < 1:
        raise LaunchbayError(f"job.holdout must be between 0 and 1 to compare a challenger with the {cfg.alias}, got {job.holdout}")
    champion = ctx.registry.get(job.model_name, cfg.alias)
    ctx.console.print(f"training a challenger to {job.model_name} v{champion.version}: {trigger}")
    where = "the batch (approval.train_on=batch needs labelled rows)" if cfg.train_on == "batch" else "the training data"
    trained = train_model(ctx, ctx.cfg[cfg.train_on], where, stage="challenger ")
    holdout, label = trained.holdout, job.label
    missing = [f for f in champion.meta["features"] if f not in holdout.columns]
    if missing:
        raise LaunchbayError(f"approval: the challenger's holdout lacks columns {missing} that {cfg.alias} v{champion.version} needs")
    with ctx.step("champion on holdout"):
        champion_metrics = evaluate(champion.load_model(), holdout[champion.meta["features"]], holdout[label].to_numpy())
    decision = decide(champion_metrics, trained.metrics, cfg.metric, cfg.margin, len(holdout))
    challenger = trained.version.version
    record = {
        "trigger": trigger,
        "champion_version": champion.version,
        "challenger_version": challenger,
        "run_id": ctx.run_id,
        "holdout_rows": len(holdout),
        "metrics": {"champion": champion_metrics, "challenger": trained.metrics},
        **decision.to_dict(),
    }
    ctx.registry.record_decision(job.model_name, record)
    if decision.promote:
        ctx.registry.set_alias(job.model_name, cfg.alias, challenger, reason=decision.reasons[0])
        ctx.manager.hook.launchbay_model_promoted(
            model=job.model_name, alias=cfg.alias, version=challenger, reason=decision.reasons[0]
        )
    verdict = f"[green]promoted[/] v{challenger} to {cfg.alias}" if decision.promote else f"kept v{champion.version} as {cfg.alias}"
    ctx.console.print(f"{verdict}: {decision.reasons[0]}")
    return record
