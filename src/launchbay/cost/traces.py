"""Workloads to price: seeded parametric shapes (``conf/trace``), or a run history's ``summary.json`` files.

Every shape has Poisson arrivals at ``jobs_per_h`` over the horizon; ``nightly`` adds a batch of
``burst_jobs`` jobs each night at ``burst_at_h``, ``bursty`` adds bursts of ``burst_jobs`` at
random times (``bursts_per_h``); ``mixed`` adds GPU jobs to the CPU ones (``gpu_jobs_per_h``). Each burst's jobs arrive uniformly within ``burst_window_s``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from launchbay.cost.config import Shape, TraceConfig
from launchbay.cost.model import Trace, TraceJob
from launchbay.errors import LaunchbayError

DAY_S = 86400.0
USAGE_KEYS = ("started_at", "wall_s", "tasks", "task_s_mean", "cpus_per_task", "gpus_per_task")


def generate(config: TraceConfig) -> Trace:
    """The trace of ``config``'s shape."""
    return SHAPES[Shape(config.shape)](config)


def steady(config: TraceConfig) -> Trace:
    """A steady stream: Poisson arrivals at ``jobs_per_h``."""
    rng = np.random.default_rng(config.seed)
    return build(config, poisson_times(rng, config.jobs_per_h, config.horizon_s), rng)


def nightly(config: TraceConfig) -> Trace:
    """The steady stream plus a batch of ``burst_jobs`` jobs at ``burst_at_h`` every night of the horizon."""
    rng = np.random.default_rng(config.seed)
    nights = np.arange(math.ceil(config.horizon_s / DAY_S)) * DAY_S + config.burst_at_h * 3600
    return build(config, [*poisson_times(rng, config.jobs_per_h, config.horizon_s), *bursts(rng, config, nights)], rng)


def bursty(config: TraceConfig) -> Trace:
    """The steady stream plus bursts of ``burst_jobs`` jobs at Poisson times (``bursts_per_h``)."""
    rng = np.random.default_rng(config.seed)
    starts = poisson_times(rng, config.bursts_per_h, config.horizon_s)
    return build(config, [*poisson_times(rng, config.jobs_per_h, config.horizon_s), *bursts(rng, config, starts)], rng)


def mixed(config: TraceConfig) -> Trace:
    """CPU and GPU work on one cluster: the steady stream of CPU jobs (no GPUs) and Poisson arrivals of GPU
    jobs at ``gpu_jobs_per_h``, each ``gpu_tasks`` tasks of ``cpus`` CPUs and ``gpus`` GPUs."""
    rng = np.random.default_rng(config.seed)
    cpu_jobs = build(config, poisson_times(rng, config.jobs_per_h, config.horizon_s), rng)
    gpu_jobs = build(replace(config, tasks=config.gpu_tasks), poisson_times(rng, config.gpu_jobs_per_h, config.horizon_s), rng)
    for job in cpu_jobs.jobs:
        job.gpus = 0.0
    for i, job in enumerate(gpu_jobs.jobs):
        job.name = f"{gpu_jobs.name}-gpu-{i}"
    return replace(cpu_jobs, jobs=sorted(cpu_jobs.jobs + gpu_jobs.jobs, key=lambda job: job.arrival_s))


SHAPES: dict[Shape, Callable[[TraceConfig], Trace]] = {
    Shape.steady: steady,
    Shape.nightly: nightly,
    Shape.bursty: bursty,
    Shape.mixed: mixed,
    Shape.from_runs: lambda config: from_runs(config.path, config.scale),
}


def poisson_times(rng: np.random.Generator, per_h: float, horizon_s: float) -> list[float]:
    """The times of a Poisson process of ``per_h`` events an hour over ``[0, horizon_s)``."""
    count = rng.poisson(per_h * horizon_s / 3600)
    return list(rng.uniform(0.0, horizon_s, count))


def bursts(rng: np.random.Generator, config: TraceConfig, starts: Iterable[float]) -> list[float]:
    """``burst_jobs`` arrivals uniform within ``burst_window_s`` of each start."""
    return [float(start + offset) for start in starts for offset in rng.uniform(0.0, config.burst_window_s, config.burst_jobs)]


def build(config: TraceConfig, arrivals: list[float], rng: np.random.Generator) -> Trace:
    """The trace of jobs arriving at ``arrivals`` (those inside the horizon), tasks of gamma-distributed length."""
    times = sorted(t for t in arrivals if 0 <= t < config.horizon_s)
    if config.task_s_cv > 0:
        shape = 1 / config.task_s_cv**2
        lengths = rng.gamma(shape, config.task_s / shape, len(times))
    else:
        lengths = np.full(len(times), config.task_s)
    name = config.name or str(config.shape)
    jobs = [
        TraceJob(arrival_s=float(t), tasks=config.tasks, task_s=float(s), cpus=config.cpus, gpus=config.gpus, name=f"{name}-{i}")
        for i, (t, s) in enumerate(zip(times, lengths))
    ]
    return Trace(name=name, jobs=jobs, horizon_s=config.horizon_s, slo_s=config.slo_s)


def from_runs(path: str, scale: float = 1.0) -> Trace:
    """The trace of a run history: one job per ``summary.json`` under ``path`` with a ``usage`` section,
    at ``scale`` times the history's arrival rate (see ``repeated``).

    Arrivals are relative to the first run; the horizon is the whole days the runs span (at least
    one), so that a fixed cluster is priced as kept up through them. Runs without ``usage`` and
    unreadable files are skipped; a usage section that lacks a key is a one-line error naming the file.
    """
    found = [(usage, summary) for summary in sorted(Path(path).rglob("summary.json")) if (usage := usage_of(summary))]
    runs = sorted(found, key=lambda run: float(run[0]["started_at"]))
    if not runs:
        raise LaunchbayError(f"cost: no run with a usage section (a summary.json with 'usage') under {path}")
    first = float(runs[0][0]["started_at"])
    jobs = [
        TraceJob(
            arrival_s=float(usage["started_at"]) - first,
            tasks=int(usage["tasks"]),
            task_s=float(usage["task_s_mean"]),
            cpus=float(usage["cpus_per_task"]),
            gpus=float(usage["gpus_per_task"]),
            name=summary.parent.name,
        )
        for usage, summary in runs
    ]
    end_s = max(float(usage["started_at"]) - first + float(usage["wall_s"]) for usage, _ in runs)
    scaled = repeated(jobs, scale)
    if not scaled:
        raise LaunchbayError(f"cost: trace.scale={scale:g} leaves none of the {len(jobs)} run(s) under {path}")
    name = f"runs:{Path(path).name}" + (f" ×{scale:g}" if scale != 1 else "")
    return Trace(name=name, jobs=scaled, horizon_s=max(1, math.ceil(end_s / DAY_S)) * DAY_S)


def repeated(jobs: list[TraceJob], scale: float) -> list[TraceJob]:
    """``scale`` times the jobs over the same horizon: job ``i`` arrives ``⌊scale·(i+1)⌋ − ⌊scale·i⌋``
    times at its own arrival, so that ``n`` jobs become ``⌊scale·n⌋``, evenly through the history
    (at 0.5, every other run).

    Each run is repeated at its own arrival rather than the arrivals compressed by ``scale``: a job
    keeps its shape (its tasks, their length and resources) and the load its time of day, so a
    nightly batch at 10× is ten batches each night, not one every 2.4 hours; the copies of a run
    arrive together, as ten models on the same schedule would.
    """
    counts = [math.floor(scale * (i + 1) + 1e-9) - math.floor(scale * i + 1e-9) for i in range(len(jobs))]
    return [replace(job, name=f"{job.name}#{copy + 1}" if copy else job.name) for job, count in zip(jobs, counts) for copy in range(count)]


def usage_of(summary: Path) -> dict | None:
    """The ``usage`` section of a run's summary, None when it has none or cannot be read."""
    try:
        usage = json.loads(summary.read_text()).get("usage")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(usage, dict) or not usage:
        return None
    missing = [key for key in USAGE_KEYS if key not in usage]
    if missing:
        raise LaunchbayError(f"cost: {summary}: the usage section lacks {', '.join(missing)}")
    return usage
