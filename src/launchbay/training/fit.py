"""Training a model version: read the rows, check or infer their contract, fit on Ray
(searching if there is a grid, one model per segment if asked), evaluate and explain it on a
holdout, profile the training data for drift and register it all with its lineage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from launchbay.config import plain, typed
from launchbay.errors import LaunchbayError, root_cause
from launchbay.fairness.metrics import render as render_fairness
from launchbay.models.predict import nonfinite_note, predict_columns
from launchbay.runtime import ray_resources, require_resources

if TYPE_CHECKING:
    from launchbay.context import RunContext


@dataclass
class Trained:
    """A registered version, the holdout rows it was evaluated on, and its summary."""

    version: Any
    holdout: pd.DataFrame
    metrics: dict[str, float]
    summary: dict[str, Any]


def group_columns(ctx: RunContext) -> list[str]:
    """The columns fairness is judged across: ``fairness.groups``, else those the contract file (``contract.path``)
    names, else those of the contract of the model's latest version."""
    from launchbay.validation import Contract

    if ctx.cfg.fairness.groups:
        return list(ctx.cfg.fairness.groups)
    name, path = ctx.cfg.job.model_name, ctx.cfg.contract.path
    if path is not None:
        return Contract.from_file(path).groups
    contract = ctx.registry.get(name, "latest").load_contract() if ctx.registry.versions(name) else None
    return list(contract.groups) if contract is not None else []


def feature_columns(columns: list[str], ctx: RunContext, groups: list[str], where: str = "the training data") -> list[str]:
    """Every column but the label, the id, the fairness ``groups`` and those the monitor excludes."""
    job = ctx.cfg.job
    if job.label not in columns:
        raise LaunchbayError(f"job.label: column '{job.label}' is not in {where} (columns: {columns})")
    if missing := [g for g in groups if g not in columns]:
        raise LaunchbayError(
            f"fairness.groups: columns {missing} are not in {where} (columns: {columns}); the groups are fairness.groups if set, "
            "else those of contract.path, else those of the model's latest version"
        )
    skip = {job.label, job.id_column, *groups, *ctx.cfg.monitor.exclude}
    features = [c for c in columns if c not in skip]
    if not features:
        raise LaunchbayError(f"data: no feature columns left after removing {sorted(skip)}")
    return features


def read_table(ctx: RunContext, source, where: str):
    """All rows of a data source as one Arrow table; a failed read or no rows is one line naming the source."""
    import pyarrow as pa
    import ray

    ds = ctx.read(source)
    try:
        tables = ray.get(ds.to_arrow_refs())
    except Exception as exc:
        raise LaunchbayError(f"{source._key()}: reading {where} failed: {root_cause(exc)}") from exc
    if not sum(t.num_rows for t in tables):
        raise LaunchbayError(f"{source._key()}: {where} ({source.get('path', source.name)}) has no rows")
    return pa.concat_tables(tables, promote_options="default")


def check_rows(frame: pd.DataFrame, features: list[str], holdout: float, where: str) -> int:
    """Where the holdout starts; a one-line error when the rows cannot be fitted or split."""
    numbers = frame[features].select_dtypes("number")
    infinite = numbers.columns[np.isinf(numbers).any()]
    if len(infinite):
        raise unfittable(nonfinite_note(numbers[infinite]) or "", where)
    cut = int(len(frame) * (1 - holdout))
    if not 0 < cut < len(frame):
        raise LaunchbayError(
            f"data: {where} has {len(frame):,} row(s); training needs at least {fewest_rows(holdout)} (job.holdout={holdout} "
            f"leaves {cut} to train on and {len(frame) - cut} to evaluate on, and at least one of each is needed)"
        )
    return cut


def fewest_rows(holdout: float) -> int:
    """The fewest rows that ``job.holdout`` splits into at least one to train on and one to evaluate on."""
    rows = 2
    while not 0 < int(rows * (1 - holdout)) < rows:
        rows += 1
    return rows


def unfittable(note: str, where: str) -> LaunchbayError:
    """The error for rows of ``where`` whose non-finite values ``note`` (``models.predict.nonfinite_note``) the model cannot fit."""
    return LaunchbayError(
        f"data: the model cannot fit the values in {note} of {where}: drop, clip or impute them, or train under a contract "
        "that sets such rows aside (contract.path=FILE with \"finite\" in its \"enforce\" and \"policy\": \"quarantine\")"
    )


def contract_for(ctx: RunContext, table, features: list[str], groups: list[str], where: str):
    """(rows that keep the contract, the contract naming ``groups``, its report): ``contract.path`` if set, else inferred."""
    from launchbay import validation

    cfg = typed(ctx.cfg.contract, "contract")
    if cfg.path is None:
        contract = validation.infer(table.select(features), cfg)
        contract.groups = groups
        return table, contract, {}
    contract = validation.Contract.from_file(cfg.path)
    contract.groups = groups
    good, bad, checked = validation.split(table, contract, f"{where} (contract {cfg.path})")
    validation.quarantine(bad, ctx.run_dir, "training")
    return good, contract, {"violations": checked.counts, "quarantined_rows": bad.num_rows}


def candidate_settings(ctx: RunContext, point: dict[str, Any]) -> Any:
    """The model's typed settings with one search point's values put in."""
    from omegaconf import OmegaConf

    node = OmegaConf.create(plain(ctx.cfg.model))
    for path, value in point.items():
        OmegaConf.update(node, path, value, force_add=True)
    return ctx.settings("model", node)[1]


def fit_model(ctx: RunContext, family, X: pd.DataFrame, y: np.ndarray, stage: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Search (cross-validated, if there is a grid), then fit one model or one per segment; returns the model, what the
    search and the segments found, and the resources each task asked Ray for."""
    import ray

    from launchbay.training.search import best, cross_validate, fit, grid, remote_get
    from launchbay.training.segments import fit_segments

    cfg = ctx.cfg.train
    points = grid(plain(cfg.search))
    candidates = [candidate_settings(ctx, point) for point in points]
    for settings in candidates:
        family.build(settings)  # a wrong setting fails here, on the driver, before any task starts
    resources = ray_resources(cfg.num_cpus, max(cfg.num_gpus, *(family.gpus(c) for c in candidates)), cfg.memory_mb)
    require_resources(resources, f"training a {family.name} model (per fit, fold or segment)")
    info: dict[str, Any] = {}
    chosen = 0
    if len(candidates) > 1:
        with ctx.step(f"{stage}search"):
            scores = cross_validate(
                family.build, candidates, X, y, folds=cfg.folds, metric=cfg.metric, seed=ctx.cfg.job.seed, resources=resources
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
                family.build, candidates[chosen], X, y, cfg.partition_by, min_rows=cfg.min_partition_rows, resources=resources
            )
        else:
            task = ray.remote(fit).options(**resources)
            model = remote_get([task.remote(family.build, candidates[chosen], X, y)], lambda _: f"the {family.name} model")[0]
    return model, info, resources


def calibrate(model, X: pd.DataFrame, y: np.ndarray) -> dict[str, Any] | None:
    """A binary classifier's score calibrated on the holdout (the estimate without labels reads it), as
    JSON; None for other models, or when the holdout lacks one of the classes."""
    from launchbay.performance.cbpe import Calibration

    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2 or not len(y):
        return None
    calibration = Calibration.fit(predict_columns(model, X)["score"], y == classes[1])
    return calibration.to_dict() if calibration is not None else None


def holdout_fairness(ctx: RunContext, model: Any, features: list[str], holdout: pd.DataFrame, groups: list[str],
                     model_label: str) -> dict[str, Any] | None:
    """The ``fairness`` section of ``model`` (``model_label``, for errors) on the holdout rows by ``groups`` (None without any)."""
    from launchbay.fairness.counts import GroupCounts, Groups
    from launchbay.fairness.metrics import summarize

    cfg = typed(ctx.cfg.fairness, "fairness")
    if not groups:
        return None
    counted = Groups.of(model, ctx.cfg.job.label, groups, cfg.max_groups, model_label)
    prediction = predict_columns(model, holdout[features])["prediction"]
    return summarize(GroupCounts.of(counted, holdout, prediction), cfg.min_rows)


def train_model(ctx: RunContext, source, where: str = "the training data", stage: str = "") -> Trained:
    """Read ``source``, fit, evaluate and explain on a holdout, register; ``stage`` prefixes the step timings."""
    from launchbay import drift
    from launchbay.training.importance import explain
    from launchbay.training.lineage import data_fingerprint, environment, git_commit
    from launchbay.training.metrics import evaluate

    job = ctx.cfg.job
    family, _ = ctx.settings("model", ctx.cfg.model)
    registry = ctx.registry  # a registry.path that cannot hold versions fails here, before any training
    monitor = ctx.monitor  # and so does monitor.device=gpu on a cluster without GPUs
    with ctx.step(f"{stage}read training data"):
        table = read_table(ctx, source, where)
    groups = group_columns(ctx)
    features = feature_columns(table.column_names, ctx, groups, where)
    table, contract, contract_report = contract_for(ctx, table, features, groups, where)
    if not table.num_rows:
        raise LaunchbayError(f"data: {where} has no rows" + (" that keep the contract" if contract_report else ""))
    frame = table.to_pandas()
    if frame[job.label].isna().any():
        raise LaunchbayError(f"job.label: column '{job.label}' of {where} has {int(frame[job.label].isna().sum())} null values")
    cut = check_rows(frame, features, job.holdout, where)
    order = np.random.default_rng(job.seed).permutation(len(frame))
    train, holdout = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    try:
        model, info, resources = fit_model(ctx, family, train[features], train[job.label].to_numpy(), stage)
        metrics = evaluate(model, holdout[features], holdout[job.label].to_numpy())
        calibration = calibrate(model, holdout[features], holdout[job.label].to_numpy())
        fairness = holdout_fairness(ctx, model, features, holdout, contract.groups, f"the {family.name} model of {job.model_name}")
    except Exception as exc:  # which column is at fault is found only once the model failed
        from ray.exceptions import RayError

        checked = isinstance(exc, LaunchbayError) and not isinstance(exc.__cause__, RayError)  # a setting, not the model
        if checked or (note := nonfinite_note(frame[features])) is None:
            raise
        raise unfittable(note, where) from exc
    with ctx.step(f"{stage}importance"):
        importance = explain(ctx, family.name, model, holdout[features], holdout[job.label].to_numpy(), metrics, resources)
    with ctx.step(f"{stage}reference profile"):
        outputs = predict_columns(model, train[features])
        profile = drift.build_reference(train[features].assign(**outputs), config=monitor, outputs=outputs)
    provider = ctx.manager.provider("model", family.name)
    meta = {
        "family": family.name,
        "description": job.description,
        "owner": job.owner,
        "features": features,
        "label": job.label,
        "metrics": metrics,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "fairness": fairness,
        "importance": importance,
        "data": {"source": source.name, "rows": len(frame), "fingerprint": data_fingerprint(frame)},
        "run_id": ctx.run_id,
        "config": ctx.resolved_config(),
        "git_commit": git_commit(),
        "model_plugin": {provider: ctx.manager.plugin_version(provider)},
        **environment(),
        **info,
    }
    version = registry.register(job.model_name, model, profile, meta, contract=contract, calibration=calibration)
    ctx.notify("launchbay_model_registered", model=job.model_name, version=version.version, metrics=metrics, uri=version.uri)
    ctx.console.print(
        f"[green]trained[/] {job.model_name} v{version.version} ({family.name}) on {len(train):,} rows: "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    )
    summary = {"model": {"name": job.model_name, "version": version.version, "path": version.uri}, "metrics": metrics, **info}
    if fairness is not None:
        summary["fairness"] = fairness
        for table in render_fairness(fairness):
            ctx.console.print(table)
    if contract_report:
        summary["contract"] = contract_report
    return Trained(version, holdout, metrics, summary)
