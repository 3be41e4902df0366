"""The launchbay plugin contract (the author's guide: docs/plugins.md).

A plugin is a module or object with functions named after these hooks, marked with
``launchbay.hookimpl``, and published under the ``launchbay`` entry-point group::

    # pyproject.toml of launchbay-duckdb
    [project.entry-points.launchbay]
    duckdb = "launchbay_duckdb"

Built-in components register through these very hooks. Each hook says the release it
appeared in; a hook implementation may accept fewer arguments than the spec names (pluggy
passes only those it names), so arguments added later never break older plugins.

Registration hooks return a list of records from ``launchbay.components``; each record's
dataclass ``config`` becomes a Hydra config group entry (``data``, ``sink``, ``model``), with
a ``name`` field added that selects the component. A plugin whose registration hook raises,
returns something else than a list of its records, or names a hook that does not exist is
broken: it is left out (with one warning line), and only a run that needs it fails.

Lifecycle hooks observe a run and return nothing. A failure in one is one line naming the
plugin and the hook: ``launchbay_job_started`` failing fails the run before any work;
``launchbay_job_failed`` failing is a warning; the others observe what is already committed,
so their failures are warnings recorded in ``summary.json`` and the run stands.

Query hooks ask plugins for something launchbay has a default for (a model's attributions):
the first plugin that answers (anything but None) is heard; one that raises fails the run, in one
line naming the plugin and the hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import pandas as pd

    from launchbay.components import Alert, AlertChannel, DataSink, DataSource, DriftMetric, ModelFamily

__all__ = [
    "hookimpl",
    "hookspec",
    "launchbay_data_sources",
    "launchbay_data_sinks",
    "launchbay_model_families",
    "launchbay_drift_metrics",
    "launchbay_alert_channels",
    "launchbay_job_started",
    "launchbay_job_finished",
    "launchbay_job_failed",
    "launchbay_model_registered",
    "launchbay_model_promoted",
    "launchbay_batch_scored",
    "launchbay_drift_detected",
    "launchbay_model_attributions",
]

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

    Since 0.1.
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

    Since 0.1.
    """


@hookspec
def launchbay_model_families() -> list[ModelFamily]:
    """Model families, selected with ``model=<name>``.

    Example::

        @hookimpl
        def launchbay_model_families():
            return [ModelFamily("tiny_tree", build=lambda cfg: DecisionTreeClassifier(max_depth=cfg.depth),
                                config=TinyTreeConfig)]

    Since 0.1.
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

    Since 0.1.
    """


@hookspec
def launchbay_alert_channels() -> list[AlertChannel]:
    """Alert channels, switched on with ``+alerts.<name>.<setting>=...``; told when drift is found.

    Example::

        @hookimpl
        def launchbay_alert_channels():
            return [AlertChannel("stderr", send=lambda alert, cfg: print(alert.drifted_features, file=sys.stderr))]

    Since 0.1.
    """


# --- lifecycle ----------------------------------------------------------------------


@hookspec
def launchbay_job_started(job: str, run_id: str, config: dict[str, Any]) -> None:
    """Called when a job starts, before any work, with its resolved config as a plain dict
    (secrets masked). Raising fails the run (``launchbay_job_failed`` is called). Since 0.1."""


@hookspec
def launchbay_job_finished(job: str, run_id: str, summary: dict[str, Any]) -> None:
    """Called when a job has finished and written ``summary.json``. Raising is a warning
    recorded in ``summary.json``: the run stands. Since 0.1."""


@hookspec
def launchbay_job_failed(job: str, run_id: str, error: BaseException) -> None:
    """Called when a job fails after ``launchbay_job_started``, before the error reaches the
    user (interrupts included). Raising is a warning: the user sees the job's error. Since 0.1."""


@hookspec
def launchbay_model_registered(model: str, version: int, metrics: dict[str, float], uri: str) -> None:
    """Called when a new model version is in the registry. Raising is a warning recorded in
    ``summary.json``. Since 0.1."""


@hookspec
def launchbay_model_promoted(model: str, alias: str, version: int, reason: str) -> None:
    """Called when an alias (``champion`` by default) has moved to a version: promotion or
    rollback, in a run or by ``launchbay models``. Raising is a warning. Since 0.1."""


@hookspec
def launchbay_batch_scored(run_id: str, rows: int, output: str) -> None:
    """Called when a scoring job has committed its output. Raising is a warning recorded in
    ``summary.json``. Since 0.1."""


@hookspec
def launchbay_drift_detected(alert: Alert) -> None:
    """Called when a drift check finds drift (after the scores are committed), before the
    alert channels are told. Raising is a warning recorded in ``summary.json``. Since 0.1."""


# --- queries ------------------------------------------------------------------------


@hookspec(firstresult=True)
def launchbay_model_attributions(family: str, model: Any, frame: pd.DataFrame) -> dict[str, Any] | None:
    """Per-feature attributions of a fitted ``model`` of family ``family`` on the holdout rows
    ``frame`` (its feature columns), stored in the version's ``meta.json`` as ``importance`` in
    place of permutation importance: ``{"method": str, "features": [{"feature": name, "mean":
    float, "std": float}, ...]}`` (say, the mean absolute SHAP contribution of each feature and
    its standard deviation over the rows). None for a family the plugin does not know.

    Example::

        @hookimpl
        def launchbay_model_attributions(family, model, frame):
            if family != "tiny_tree":
                return None
            return {"method": "impurity", "features": [{"feature": name, "mean": float(v), "std": 0.0}
                                                       for name, v in zip(frame.columns, model.feature_importances_)]}

    Raising, or an answer of another shape, fails the training run before the version is registered. Since 0.2.
    """
