"""A third-party plugin: a ``constant`` data source, a recorder of lifecycle events and an
estimator that records the Ray resources of the tasks that fit it and score with it."""

from dataclasses import dataclass

from sklearn.base import BaseEstimator, RegressorMixin

from launchbay import hookimpl
from launchbay.components import DataSource

EVENTS: list[tuple[str, str]] = []


def assigned_resources() -> dict[str, float]:
    """The resources Ray gave the task or actor this runs in ({} on the driver)."""
    import ray

    context = ray.get_runtime_context()
    return context.get_assigned_resources() if context.worker.mode == ray.WORKER_MODE else {}


class ResourceRecorder(RegressorMixin, BaseEstimator):
    """Keeps the resources of the task that fits it (``fitted_with_``) and predicts, for every row,
    the amount of resource ``report`` that the task scoring the row got (memory in bytes)."""

    def __init__(self, report: str = "memory") -> None:
        self.report = report

    def fit(self, X, y):
        self.fitted_with_ = assigned_resources()
        return self

    def predict(self, X):
        import numpy as np

        return np.full(len(X), assigned_resources().get(self.report, 0.0))


@dataclass
class ConstantConfig:
    rows: int = 100
    value: float = 1.0


def read(cfg: ConstantConfig):
    import ray.data

    return ray.data.from_items([{"row_id": i, "x": cfg.value, "label": i % 2} for i in range(cfg.rows)])


@hookimpl
def launchbay_data_sources():
    return [DataSource("constant", read, ConstantConfig, "the same value in every row")]


@hookimpl
def launchbay_job_started(job, run_id):
    EVENTS.append(("started", job))


@hookimpl
def launchbay_job_finished(job, summary):
    EVENTS.append(("finished", job))


@hookimpl
def launchbay_job_failed(job, error):
    EVENTS.append(("failed", job))


@hookimpl
def launchbay_model_registered(model, version):
    EVENTS.append(("registered", f"{model}:{version}"))


@hookimpl
def launchbay_model_promoted(model, alias, version):
    EVENTS.append(("promoted", f"{model}:{alias}:{version}"))
