"""The records that registration hooks return (a list of them; docs/plugins.md explains each).

Every component has a unique ``name`` inside its kind, one callable that does the work
and, except drift metrics, a dataclass ``config`` whose fields are the component's
settings (``data=<name> data.<setting>=...``, ``sink=<name>``, ``model=<name>``,
``+alerts.<name>.<setting>=...``; alert channels are no config group, several can be on).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from launchbay.deprecation import warn_deprecated
from launchbay.errors import LaunchbayError

__all__ = ["Alert", "AlertChannel", "Component", "DataSink", "DataSource", "DriftMetric", "MetricValue", "ModelFamily", "NoConfig"]

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data
    from pyarrow.fs import FileSystem

    from launchbay.drift.profile import FeatureProfile


@dataclass
class NoConfig:
    """Config of a component that takes no settings."""


@dataclass(frozen=True)
class Component:
    """The base of every record: checks that ``name`` is an identifier and ``config`` a dataclass.

    Records declare ``config`` (drift metrics have none) and ``description`` themselves,
    each where its positional arguments have always put them.
    """

    name: str

    def __post_init__(self) -> None:
        record = type(self).__name__
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise LaunchbayError(f"{record} name {self.name!r} is not an identifier (letters, digits and _)")
        config = getattr(self, "config", NoConfig)  # drift metrics have none
        if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
            raise LaunchbayError(f"{record} '{self.name}': config must be a dataclass type, got {config!r}")


@dataclass(frozen=True)
class DataSource(Component):
    """Reads a dataset: ``read(config) -> ray.data.Dataset``.

    Optional ``fragments(config) -> list[callable]``: the input as independent pieces
    (files, chunks), each a picklable no-argument callable that yields Arrow tables.
    Scoring runs one plain Ray task per piece then, which on small machines is much
    cheaper than Ray Data's streaming executor.
    """

    read: Callable[[Any], ray.data.Dataset]
    config: type = NoConfig
    description: str = ""
    fragments: Callable[[Any], list[Callable[[], Iterator[pa.Table]]]] | None = None


@dataclass(frozen=True)
class DataSink(Component):
    """Writes a dataset under ``path`` of ``filesystem`` (a ``pyarrow.fs.FileSystem``):
    ``write(dataset, path, config, filesystem) -> int`` (rows written).

    The caller hands the sink a staging path and commits it afterwards (see
    ``launchbay.storage``), so a sink only has to write everything under ``path``.

    Optional ``write_part(tables, path, config, filesystem) -> int``: write an iterator of
    Arrow tables as one part (``path`` has no extension; add yours); it lets scoring skip
    Ray Data.

    Optional ``commit(path, config, filesystem)``: a sink that keeps its rows elsewhere (a
    database table) moves what was written under the staging ``path`` there, all or nothing.
    It runs on the driver once every part is written and the run's checks passed, just before
    launchbay commits the staging folder; if it raises, nothing is committed. A ``commit`` that
    also names a ``run_id`` argument is given the run's id: the folder's commit may fail after
    the sink's, and a retry of the run's commit must not add its rows twice (key them by it).
    """

    write: Callable[[ray.data.Dataset, str, Any, FileSystem], int]
    config: type = NoConfig
    description: str = ""
    write_part: Callable[[Iterator[pa.Table], str, Any, FileSystem], int] | None = None
    commit: Callable[..., None] | None = None

    def commit_run(self, path: str, config: Any, filesystem: FileSystem, run_id: str) -> None:
        """Call ``commit``, with ``run_id`` where it names that argument."""
        if self.commit is None:
            return
        if "run_id" in inspect.signature(self.commit).parameters:
            self.commit(path, config, filesystem, run_id=run_id)
        else:
            self.commit(path, config, filesystem)


@dataclass(frozen=True)
class ModelFamily(Component):
    """Builds an unfitted model from its config: ``build(config) -> estimator``.

    The estimator follows scikit-learn's API: ``fit(X, y)``, ``predict(X)`` and, for
    classifiers, ``predict_proba(X)``; ``X`` is a pandas DataFrame of feature columns.

    ``num_gpus``: the GPUs each fit and scoring task of the family asks Ray for, or a function
    of the family's settings that says it (``lambda cfg: 1.0 if cfg.device == "cuda" else 0.0``).
    """

    build: Callable[[Any], Any]
    config: type = NoConfig
    description: str = ""
    num_gpus: float | Callable[[Any], float] = 0.0

    def gpus(self, settings: Any) -> float:
        """The GPUs each task asks for with ``settings`` (the family's typed config)."""
        return float(self.num_gpus(settings) if callable(self.num_gpus) else self.num_gpus)


@dataclass(frozen=True)
class MetricValue:
    """One drift metric of one feature. A metric that cannot be computed says why in
    ``undefined``; a NaN or infinite value without a reason is undefined too."""

    value: float
    p_value: float | None = None
    undefined: str | None = None


@dataclass(frozen=True)
class DriftMetric(Component):
    """A drift monitor: compares the reference and current sketches of one feature.

    ``compute(reference, current) -> MetricValue``; the ``FeatureProfile`` fields a metric may
    read are listed in docs/plugins.md ("What a drift metric reads"). ``drift_when`` says how the
    threshold reads: ``"above"`` for distances (value >= threshold is drift),
    ``"below"`` for p-values (p_value < threshold is drift). ``min_rows``: the fewest rows each
    side needs for a verdict; with fewer the metric is not computed and its row is undefined,
    with the reason (``monitor.min_rows.<name>`` overrides it).
    """

    compute: Callable[[FeatureProfile, FeatureProfile], MetricValue]
    applies_to: Literal["numeric", "categorical", "any"]
    threshold: float
    drift_when: Literal["above", "below"] = "above"
    description: str = ""
    min_rows: int = 1


@dataclass(frozen=True)
class AlertChannel(Component):
    """Tells someone that drift was found: ``send(alert, config)``."""

    send: Callable[[Alert, Any], None]
    config: type = NoConfig
    description: str = ""


@dataclass(frozen=True)
class Alert:
    """What an alert channel receives when a run finds drift or, with ``performance`` set (the
    run's ``performance`` summary section, its ``dropped`` metrics non-empty), a performance drop,
    or, with ``candidate`` set (the approval decision, since 0.2), a challenger that awaits approval."""

    run_id: str
    run_dir: str
    model: str
    model_version: int | None
    drifted_features: list[str]
    share_drifted: float
    report_path: str | None
    summary: dict = field(default_factory=dict)
    performance: dict | None = None
    candidate: dict | None = None


# The records that carry a config (every kind but drift metrics).
Configured = DataSource | DataSink | ModelFamily | AlertChannel


def __getattr__(name: str) -> Any:
    """``ComponentKind``, the names of the kinds as a ``Literal`` in 0.1.0."""
    if name == "ComponentKind":
        warn_deprecated("launchbay.components.ComponentKind", "str, one of launchbay.plugins.KINDS")
        return Literal["data", "sink", "model", "metric", "alert"]
    raise AttributeError(f"module 'launchbay.components' has no attribute '{name}'")
