"""Structured configs: the typed schema every composed job config is checked against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from launchbay.drift.config import MonitorConfig
from launchbay.registry import RegistryConfig
from launchbay.runtime import RuntimeConfig

JOBS = ("train", "score", "drift", "pipeline")


@dataclass
class JobConfig:
    name: str = "pipeline"  # train | score | drift | pipeline
    model_name: str = "demo"  # the model's name in the registry
    model_version: str = "latest"  # version number, alias, or latest
    label: str = "label"  # target column
    id_column: str = "row_id"  # kept in scored outputs; generated when absent
    holdout: float = 0.2  # share of training rows held out for evaluation
    seed: int = 0
    report: bool = True  # write report.html


@dataclass
class ScoreConfig:
    """How batches are scored (see the scoring section of the README)."""

    strategy: str = "auto"  # tasks | actors | auto (actors when the model needs a GPU)
    batch_size: Optional[int] = None  # rows per model call; None: one Ray Data block
    num_cpus: float = 1.0  # per scoring task or actor
    num_gpus: float = 0.0  # per actor (implies actors); a model family may ask for more
    actors: Optional[int] = None  # actor pool size; None: CPUs - 1, leaving room for writes
    drift: bool = True  # sketch the scored rows for drift in the same pass
    output: Optional[str] = None  # output directory; None: <run dir>/scores. Re-runs replace it.


@dataclass
class LaunchbayConfig:
    job: JobConfig = field(default_factory=JobConfig)
    data: Any = None  # training data: a data source config (data=<name>)
    batch: Any = None  # data to score and check for drift (data@batch=<name>)
    model: Any = None  # model=<name>
    sink: Any = None  # where scores go (sink=<name>)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    alerts: dict[str, Any] = field(default_factory=dict)  # alert channel name -> its settings
    plugins: list[str] = field(default_factory=list)  # extra plugin modules to register


def register_schema() -> None:
    """Store the schema that ``conf/config.yaml`` builds on."""
    ConfigStore.instance().store(name="launchbay_schema", node=LaunchbayConfig)
