"""The launchbay plugin contract.

A plugin is a module or object with functions named after these hooks, marked with
``launchbay.hookimpl``, and published under the ``launchbay`` entry-point group::

    # pyproject.toml of launchbay-duckdb
    [project.entry-points.launchbay]
    duckdb = "launchbay_duckdb"

Built-in components register through these very hooks. A hook implementation may
accept fewer arguments than the spec names, so new arguments never break old plugins.

Registration hooks return lists of records from ``launchbay.components``; each
record's dataclass ``config`` becomes a Hydra config group entry, with a ``name``
field added that selects the component. Lifecycle hooks
observe a run; they return nothing and an exception in one fails the run, naming
the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from launchbay.components import Alert, AlertChannel, DataSink, DataSource, DriftMetric, ModelFamily

hookspec = pluggy.HookspecMarker("launchbay")
hookimpl = pluggy.HookimplMarker("launchbay")


# --- registration -----------------------------------------------------------------


@hookspec
def launchbay_data_sources() -> list[DataSource]:
    """Data sources, selected with ``data=<name>`` (training) or ``data@batch=<name>``.

    Example::

        @dataclass
        class DuckDBConfig:
            query: str = "select * from t"

        @hookimpl
        def launchbay_data_sources():
            return [DataSource("duckdb", read=lambda cfg: ray.data.from_arrow(run(cfg.query)),
                               config=DuckDBConfig)]
    """


@hookspec
def launchbay_data_sinks() -> list[DataSink]:
    """Data sinks, selected with ``sink=<name>``; they write scored batches under a staging
    path of a pyarrow filesystem (local, S3, GCS, ...), committed by launchbay afterwards.

    Example::

        def write_jsonl(ds, path, cfg, filesystem) -> int:
            ds.write_json(path, filesystem=filesystem)
            parts = launchbay.storage.files_under(filesystem, path)  # rows written: lines written
            return sum(filesystem.open_input_stream(f"{path}/{p}").read().count(b"\\n") for p in parts)

        @hookimpl
        def launchbay_data_sinks():
            return [DataSink("jsonl", write=write_jsonl)]
    """


@hookspec
def launchbay_model_families() -> list[ModelFamily]:
    """Model families, selected with ``model=<name>``.

    Example::

        @hookimpl
        def launchbay_model_families():
            return [ModelFamily("tiny_tree", build=lambda cfg: DecisionTreeClassifier(max_depth=cfg.depth),
                                config=TinyTreeConfig)]
    """


@hookspec
def launchbay_drift_metrics() -> list[DriftMetric]:
    """Drift metrics, selected in ``monitor.metrics`` or per feature in ``monitor.features``.

    Example::

        @hookimpl
        def launchbay_drift_metrics():
            return [DriftMetric("mean_shift", compute=lambda ref, cur: MetricValue(abs(cur.mean - ref.mean)),
                                applies_to="numeric", threshold=0.5)]

    A metric that cannot be computed returns ``MetricValue(math.nan, undefined="why")``.
    """


@hookspec
def launchbay_alert_channels() -> list[AlertChannel]:
    """Alert channels, switched on with ``+alerts.<name>.<setting>=...``; told when drift is found.

    Example::

        @hookimpl
        def launchbay_alert_channels():
            return [AlertChannel("stderr", send=lambda alert, cfg: print(alert.drifted_features, file=sys.stderr))]
    """


# --- lifecycle ----------------------------------------------------------------------


@hookspec
def launchbay_job_started(job: str, run_id: str, config: dict[str, Any]) -> None:
    """Called when a job starts, with its resolved config as a plain dict."""


@hookspec
def launchbay_job_finished(job: str, run_id: str, summary: dict[str, Any]) -> None:
    """Called when a job has finished and written ``summary.json``."""


@hookspec
def launchbay_job_failed(job: str, run_id: str, error: BaseException) -> None:
    """Called when a job fails, before the error reaches the user."""


@hookspec
def launchbay_model_registered(model: str, version: int, metrics: dict[str, float], uri: str) -> None:
    """Called when a new model version is in the registry."""


@hookspec
def launchbay_model_promoted(model: str, alias: str, version: int, reason: str) -> None:
    """Called when an alias (``champion`` by default) moves to a version: promotion or rollback."""


@hookspec
def launchbay_batch_scored(run_id: str, rows: int, output: str) -> None:
    """Called when a scoring job has committed its output."""


@hookspec
def launchbay_drift_detected(alert: Alert) -> None:
    """Called when a drift check finds drift, before the alert channels are told."""
