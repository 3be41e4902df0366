"""A third-party plugin: a ``constant`` data source and a recorder of lifecycle events."""

from dataclasses import dataclass

from launchbay import hookimpl
from launchbay.components import DataSource

EVENTS: list[tuple[str, str]] = []


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
