"""The records that registration hooks return (a list of them; docs/plugins.md explains each).

Every component has a unique ``name`` inside its kind, one callable that does the work
and, except drift metrics, a dataclass ``config`` whose fields are the component's
settings (``data=<name> data.<setting>=...``, ``sink=<name>``, ``model=<name>``,
``+alerts.<name>.<setting>=...``; alert channels are no config group, several can be on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from launchbay.errors import LaunchbayError

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
    """

    write: Callable[[ray.data.Dataset, str, Any, FileSystem], int]
    config: type = NoConfig
    description: str = ""
    write_part: Callable[[Iterator[pa.Table], str, Any, FileSystem], int] | None = None


@dataclass(frozen=True)
class ModelFamily(Component):
    """Builds an unfitted model from its config: ``build(config) -> estimator``.

    The estimator follows scikit-learn's API: ``fit(X, y)``, ``predict(X)`` and, for
    classifiers, ``predict_proba(X)``; ``X`` is a pandas DataFrame of feature columns.
    """

    build: Callable[[Any], Any]
    config: type = NoConfig
    description: str = ""
    num_gpus: float = 0.0


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
    ``"below"`` for p-values (p_value < threshold is drift).
    """

    compute: Callable[[FeatureProfile, FeatureProfile], MetricValue]
    applies_to: Literal["numeric", "categorical", "any"]
    threshold: float
    drift_when: Literal["above", "below"] = "above"
    description: str = ""


@dataclass(frozen=True)
class AlertChannel(Component):
    """Tells someone that drift was found: ``send(alert, config)``."""

    send: Callable[[Alert, Any], None]
    config: type = NoConfig
    description: str = ""


@dataclass(frozen=True)
class Alert:
    """What an alert channel receives when a run finds drift or, with ``performance`` set (the
    run's ``performance`` summary section, its ``dropped`` metrics non-empty), a performance drop."""

    run_id: str
    run_dir: str
    model: str
    model_version: int | None
    drifted_features: list[str]
    share_drifted: float
    report_path: str | None
    summary: dict = field(default_factory=dict)
    performance: dict | None = None


# The records that carry a config (every kind but drift metrics).
Configured = DataSource | DataSink | ModelFamily | AlertChannel
