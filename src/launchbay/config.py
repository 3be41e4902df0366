"""Structured configs: the typed schema every composed job config is checked against, and
the one-line errors of a config that does not fit it.

Closed choices are ``StrEnum`` fields, so Hydra rejects a wrong value at compose time
and lists the valid ones.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from launchbay.drift.config import MonitorConfig
from launchbay.errors import LaunchbayError
from launchbay.fairness.config import FairnessConfig
from launchbay.plugins import PluginsConfig
from launchbay.registry import RegistryConfig
from launchbay.runtime import RuntimeConfig
from launchbay.settings import check_resources, require
from launchbay.validation import ContractConfig

# Model metrics by name (``launchbay.training.metrics`` measures them); f1 for binary classifiers only.
CLASSIFICATION_METRICS = ("accuracy", "roc_auc", "log_loss")
BINARY_METRICS = ("f1",)
REGRESSION_METRICS = ("r2", "rmse", "mae")


def require_metric(key: str, metric: str) -> None:
    """A one-line error naming ``key`` unless ``metric`` is a model metric launchbay measures."""
    known = CLASSIFICATION_METRICS + BINARY_METRICS + REGRESSION_METRICS
    require(metric in known, key, f"one of {', '.join(known)}", metric)


@dataclass
class JobConfig:
    name: str = "pipeline"  # train | score | drift | pipeline | evaluate
    model_name: str = "demo"  # the model's name in the registry
    model_version: str = "champion"  # version number, alias, or latest
    label: str = "label"  # target column
    id_column: str = "row_id"  # kept in scored outputs; generated when absent
    holdout: float = 0.2  # share of training rows held out for evaluation
    seed: int = 0
    report: bool = True  # write report.html
    scores: str | None = None  # job=evaluate: the run directory (or scores folder) of the scores to join labels to
    results: str | None = None  # also publish the run's summary.json and report here (a folder or URI); launchbay submit sets it
    description: str = ""  # what the model is for and what it must not be used for: its card's intended use
    owner: str = ""  # who answers for the model (a team or a person): on its card

    def __post_init__(self) -> None:
        require(0 < self.holdout < 1, "job.holdout", "a share in (0, 1)", self.holdout)


@dataclass
class TrainConfig:
    """How models are fitted: search, cross-validation, one model per segment (conf/train)."""

    search: dict[str, Any] = field(default_factory=dict)  # grid over model settings: {estimator: {C: [0.1, 1]}}
    folds: int = 3  # cross-validation folds that rank the search's candidates
    metric: str = "roc_auc"  # ranks candidates: roc_auc, accuracy, log_loss, f1 (binary), r2, rmse, mae
    partition_by: str | None = None  # one model per value of this column ("many models")
    min_partition_rows: int = 50  # smaller or single-label segments use the model of all rows
    num_cpus: float = 1.0  # per fit, cross-validation fold or segment task
    num_gpus: float = 0.0  # per task; a model family may ask for more
    memory_mb: int | None = None  # memory Ray reserves per task; None: none

    def __post_init__(self) -> None:
        require(self.folds >= 2, "train.folds", "between 2 and the number of training rows", self.folds)
        require_metric("train.metric", self.metric)
        require(self.min_partition_rows >= 1, "train.min_partition_rows", "at least 1", self.min_partition_rows)
        check_resources("train", self.num_cpus, self.num_gpus, self.memory_mb)


# When job=pipeline trains a challenger: on drift, on a performance drop, on every run, or never.
Trigger = StrEnum("Trigger", ["drift", "performance", "always", "never"])
# The rows a challenger learns from: the labelled batch, or the training data.
TrainOn = StrEnum("TrainOn", ["batch", "data"])


# auto: a challenger that wins replaces the champion; manual: it waits for people's approval.
ApprovalMode = StrEnum("ApprovalMode", ["auto", "manual"])


@dataclass
class ApprovalConfig:
    """When job=pipeline trains a challenger and what it takes to replace the champion (conf/approval)."""

    trigger: Trigger = Trigger.drift
    train_on: TrainOn = TrainOn.batch
    metric: str = "${train.metric}"  # compared on the challenger's holdout
    margin: float = 0.005  # the challenger must beat the champion by at least this much
    alias: str = "champion"
    mode: ApprovalMode = ApprovalMode.auto  # manual: a winning challenger is a candidate until people approve it
    required: int = 1  # distinct approvers a candidate needs (manual mode)
    separate_duties: bool = True  # the author of the run that trained a candidate cannot approve it
    expires_h: float = 72.0  # a candidate left undecided this long expires
    # A challenger whose fairness gap on the holdout (demographic parity or equalized odds difference,
    # of any fairness.groups column) is past this and wider than the champion's is refused; None: not judged.
    max_fairness_gap: float | None = None

    def __post_init__(self) -> None:
        require(self.required >= 1, "approval.required", "at least 1", self.required)
        require(self.expires_h > 0, "approval.expires_h", "positive (hours)", self.expires_h)
        if not self.metric.startswith("${"):  # the schema's default, an interpolation resolved when composed
            require_metric("approval.metric", self.metric)
        require(math.isfinite(self.margin), "approval.margin", "a finite number", self.margin)
        gap = self.max_fairness_gap
        require(gap is None or 0 <= gap <= 1, "approval.max_fairness_gap", "in [0, 1] (or null: not judged)", gap)


# How batches are scored (see ``launchbay.scoring``); ``auto`` picks one of the others.
Strategy = StrEnum("Strategy", ["auto", "fragments", "tasks", "actors"])


@dataclass
class ScoreConfig:
    """How batches are scored (see the scoring section of the README)."""

    strategy: Strategy = Strategy.auto
    batch_size: int | None = None  # rows per model call on the Ray Data paths; None: runtime.BLOCK_ROWS on tasks (smaller blocks bundled), 8,192 on actors
    num_cpus: float = 1.0  # per scoring task or actor
    num_gpus: float = 0.0  # per task or actor (auto then picks actors); the model family or monitor.device=gpu may ask for more
    memory_mb: int | None = None  # memory Ray reserves per scoring task or actor; None: none
    concurrency: int | None = None  # tasks in flight or actors in the pool; None: automatic
    drift: bool = True  # sketch the scored rows for drift in the same pass
    performance: bool = True  # count the model's outcomes (labels, scores) in the same pass
    output: str | None = None  # output directory; None: <run dir>/scores. Re-runs replace it.

    def __post_init__(self) -> None:
        require(self.batch_size is None or self.batch_size >= 1, "score.batch_size", "at least 1 (or null: the path's default)", self.batch_size)
        check_resources("score", self.num_cpus, self.num_gpus, self.memory_mb)
        require(
            self.concurrency is None or self.concurrency >= 1, "score.concurrency", "at least 1 (or null: automatic)", self.concurrency
        )


@dataclass
class LaunchbayConfig:
    job: JobConfig = field(default_factory=JobConfig)
    data: Any = None  # training data: a data source config (data=<name>)
    batch: Any = None  # data to score and check for drift (data@batch=<name>)
    labels: Any = None  # job=evaluate: labels that arrived later, with the id column (data@labels=<name>)
    model: Any = None  # model=<name>
    sink: Any = None  # where scores go (sink=<name>)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)
    contract: ContractConfig = field(default_factory=ContractConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    cost: Any = None  # cost=<name>: the price table (conf/cost) that summary.json prices the run at; None: not priced
    alerts: dict[str, Any] = field(default_factory=dict)  # alert channel name -> its settings
    plugins: PluginsConfig = field(default_factory=PluginsConfig)  # which plugins load (see docs/plugins.md)


def register_schema() -> None:
    """Store the schema that ``conf/config.yaml`` builds on."""
    ConfigStore.instance().store(name="launchbay_schema", node=LaunchbayConfig, provider="launchbay")


def plain(node: Any) -> dict[str, Any]:
    """A config node as plain Python values: interpolations resolved, Enum members as their values."""
    return cast(dict[str, Any], OmegaConf.to_container(node, resolve=True, enum_to_str=True))


def typed(node: DictConfig, where: str) -> Any:
    """The dataclass instance of a structured node, or a one-line error naming the key."""
    try:
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        raise LaunchbayError(config_error(exc, where)) from exc


def config_error(exc: BaseException, where: str = "config") -> str:
    """One line out of an OmegaConf or Hydra error: the key and what is wrong with it."""
    inner = exc
    while inner.__cause__ is not None and isinstance(inner.__cause__, OmegaConfBaseException):
        inner = inner.__cause__
    lines = str(getattr(inner, "msg", None) or inner).strip().splitlines()
    message = re.sub(r"^In '[^']*': ", "", lines[0])  # the config Hydra was composing: the key says where
    starts = [i for i, line in enumerate(lines) if line.startswith("Available options")]
    if starts:
        options = list(itertools.takewhile(lambda line: line.startswith("\t"), lines[starts[0] + 1 :]))
        message += f" (available: {', '.join(o.strip() for o in options)})"
    key = getattr(inner, "full_key", None)
    return f"{where}: {key}: {message}" if key else f"{where}: {message}"
