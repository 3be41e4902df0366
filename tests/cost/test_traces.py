"""The workload shapes (seeded, within the horizon, shaped as described) and traces from a run history."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from launchbay.cost.config import Shape, TraceConfig
from launchbay.cost.traces import from_runs, generate
from launchbay.errors import LaunchbayError

STEADY = dict(jobs_per_h=6.0, burst_jobs=0)
NIGHTLY = dict(shape=Shape.nightly, jobs_per_h=1.0, burst_jobs=80, burst_window_s=900.0, burst_at_h=2.0)
BURSTY = dict(shape=Shape.bursty, jobs_per_h=1.0, burst_jobs=20, burst_window_s=300.0, bursts_per_h=0.5)


def counts_per(trace, bin_s: float) -> np.ndarray:
    return np.histogram([job.arrival_s for job in trace.jobs], bins=np.arange(0, trace.horizon_s + bin_s, bin_s))[0]


def dispersion(counts: np.ndarray) -> float:
    """Variance over mean of counts: about 1 for Poisson arrivals, far more for bursts."""
    return float(counts.var() / counts.mean())


@pytest.mark.parametrize("settings", [STEADY, NIGHTLY, BURSTY], ids=["steady", "nightly", "bursty"])
def test_a_shape_is_seeded_sorted_and_within_the_horizon(settings):
    trace = generate(TraceConfig(seed=7, slo_s=600.0, **settings))
    again = generate(TraceConfig(seed=7, slo_s=600.0, **settings))
    other = generate(TraceConfig(seed=8, slo_s=600.0, **settings))
    assert [asdict(job) for job in trace.jobs] == [asdict(job) for job in again.jobs]
    assert [job.arrival_s for job in trace.jobs] != [job.arrival_s for job in other.jobs]
    arrivals = [job.arrival_s for job in trace.jobs]
    assert arrivals == sorted(arrivals) and 0 <= arrivals[0] and arrivals[-1] < trace.horizon_s == 86400.0
    assert trace.slo_s == 600.0 and trace.name == str(settings.get("shape", Shape.steady))
    assert all(job.task_s > 0 and job.tasks == 4 for job in trace.jobs)


def test_a_mixed_trace_has_cpu_jobs_and_gpu_jobs_at_their_rates():
    trace = generate(TraceConfig(shape=Shape.mixed, jobs_per_h=20.0, gpu_jobs_per_h=5.0, gpu_tasks=2, gpus=1.0, seed=2))
    cpu = [job for job in trace.jobs if job.gpus == 0]
    gpu = [job for job in trace.jobs if job.gpus > 0]
    assert len(cpu) == pytest.approx(20 * 24, rel=0.15) and len(gpu) == pytest.approx(5 * 24, rel=0.25)
    assert all(job.tasks == 4 for job in cpu) and all(job.tasks == 2 and job.gpus == 1.0 for job in gpu)
    assert [job.arrival_s for job in trace.jobs] == sorted(job.arrival_s for job in trace.jobs) and trace.name == "mixed"
    with pytest.raises(LaunchbayError, match="trace.gpus must be positive for the mixed shape"):
        TraceConfig(shape=Shape.mixed, gpus=0.0)


def test_a_steady_stream_arrives_evenly():
    trace = generate(TraceConfig(jobs_per_h=30.0, seed=1))
    assert len(trace.jobs) == pytest.approx(30 * 24, rel=0.1)
    assert 0.5 < dispersion(counts_per(trace, 3600)) < 2.0


def test_a_nightly_batch_arrives_at_night_within_its_window():
    trace = generate(TraceConfig(seed=1, **NIGHTLY))
    in_batch = [job for job in trace.jobs if 7200 <= job.arrival_s < 7200 + 900]
    assert len(in_batch) >= 80 and len(trace.jobs) < 80 + 2 * 24
    assert counts_per(trace, 3600).argmax() == 2  # the 02:00 hour
    two_days = generate(TraceConfig(seed=1, horizon_s=2 * 86400, **NIGHTLY))
    assert sum(86400 + 7200 <= job.arrival_s < 86400 + 8100 for job in two_days.jobs) >= 80  # every night


def test_bursty_arrivals_are_spiky():
    bursty = generate(TraceConfig(seed=1, **BURSTY))
    steady = generate(TraceConfig(seed=1, jobs_per_h=len(bursty.jobs) / 24))  # as many jobs, evenly
    assert len(bursty.jobs) == pytest.approx(len(steady.jobs), rel=0.2)
    assert dispersion(counts_per(bursty, 600)) > 5 * dispersion(counts_per(steady, 600))


def test_task_lengths_vary_around_their_mean():
    trace = generate(TraceConfig(jobs_per_h=60.0, task_s=100.0, task_s_cv=0.3))
    lengths = np.array([job.task_s for job in trace.jobs])
    assert lengths.mean() == pytest.approx(100, rel=0.05) and lengths.std() / lengths.mean() == pytest.approx(0.3, rel=0.15)
    assert {job.task_s for job in generate(TraceConfig(task_s_cv=0.0)).jobs} == {120.0}


def write_run(root: Path, day: str, folder: str, usage: dict | None) -> None:
    run_dir = root / day / folder
    run_dir.mkdir(parents=True)
    summary = {"run_id": f"{folder}-abc123", "job": folder.rsplit("-", 1)[-1], "wall_s": 1.0, **({"usage": usage} if usage else {})}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))


def usage(started_at: float, wall_s: float = 300.0, tasks: int = 8, gpus: float = 0.0) -> dict:
    return {"started_at": started_at, "wall_s": wall_s, "cpu_s": tasks * 30.0, "gpu_s": tasks * 30.0 * gpus,
            "tasks": tasks, "task_s_mean": 30.0, "cpus_per_task": 2.0, "gpus_per_task": gpus}


def test_from_runs_makes_one_job_per_run_with_usage(tmp_path):
    start = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    write_run(tmp_path, "2026-01-01", "10-00-00-000000-train", usage(start + 36000, tasks=3))
    write_run(tmp_path, "2026-01-01", "09-00-00-000000-score", usage(start + 32400, gpus=0.5))
    write_run(tmp_path, "2026-01-01", "11-00-00-000000-drift", None)  # before usage was recorded
    write_run(tmp_path, "2026-01-02", "01-00-00-000000-pipeline", usage(start + 86400 + 3600, wall_s=600.0))
    (tmp_path / "2026-01-02" / "broken").mkdir()
    (tmp_path / "2026-01-02" / "broken" / "summary.json").write_text("{not json")
    trace = from_runs(str(tmp_path))
    assert [(job.name, job.arrival_s) for job in trace.jobs] == [
        ("09-00-00-000000-score", 0.0),
        ("10-00-00-000000-train", 3600.0),
        ("01-00-00-000000-pipeline", 86400 + 3600 - 32400),
    ]
    score = trace.jobs[0]
    assert (score.tasks, score.task_s, score.cpus, score.gpus) == (8, 30.0, 2.0, 0.5)
    assert trace.horizon_s == 86400.0  # the runs end within a day of the first one
    assert trace.slo_s is None
    write_run(tmp_path, "2026-01-03", "12-00-00-000000-score", usage(start + 2 * 86400))
    assert from_runs(str(tmp_path)).horizon_s == 2 * 86400.0  # whole days


def test_from_runs_without_usable_runs_is_one_line(tmp_path):
    write_run(tmp_path, "2026-01-01", "10-00-00-000000-train", None)
    for path in (tmp_path, tmp_path / "missing"):
        with pytest.raises(LaunchbayError, match=f"no run with a usage section .* under {path}$") as error:
            from_runs(str(path))
        assert "\n" not in str(error.value)


def test_from_runs_names_a_usage_that_lacks_a_key(tmp_path):
    partial = {key: value for key, value in usage(0.0).items() if key != "tasks"}
    write_run(tmp_path, "2026-01-01", "10-00-00-000000-train", partial)
    with pytest.raises(LaunchbayError, match=r"10-00-00-000000-train/summary.json: the usage section lacks tasks$"):
        from_runs(str(tmp_path))


def test_from_runs_scaled_repeats_each_run_at_its_arrival(tmp_path):
    start = 1_767_225_600.0
    for hour in (1, 2, 5, 9):
        write_run(tmp_path, "2026-01-01", f"{hour:02d}-00-00-000000-score", usage(start + hour * 3600))
    history = from_runs(str(tmp_path))
    doubled = from_runs(str(tmp_path), scale=2)
    assert doubled.horizon_s == history.horizon_s and len(doubled.jobs) == 2 * len(history.jobs)  # twice the jobs per hour
    assert [job.arrival_s for job in doubled.jobs] == [t for job in history.jobs for t in (job.arrival_s, job.arrival_s)]
    assert {(job.tasks, job.task_s, job.cpus) for job in doubled.jobs} == {(8, 30.0, 2.0)}  # each job keeps its shape
    assert [job.name for job in doubled.jobs][:2] == ["01-00-00-000000-score", "01-00-00-000000-score#2"]
    assert doubled.name == "runs:" + tmp_path.name + " ×2"
    ten = generate(TraceConfig(shape=Shape.from_runs, path=str(tmp_path), scale=10))
    assert len(ten.jobs) / ten.horizon_s == pytest.approx(10 * len(history.jobs) / history.horizon_s)
    assert len(from_runs(str(tmp_path), scale=2.5).jobs) == 10  # 2, 3, 2, 3 copies
    assert [job.arrival_s for job in from_runs(str(tmp_path), scale=0.5).jobs] == [3600.0, 8 * 3600.0]  # every other run
    with pytest.raises(LaunchbayError, match=r"trace.scale=0.1 leaves none of the 4 run\(s\)"):
        from_runs(str(tmp_path), scale=0.1)


def test_a_scale_must_be_positive_and_for_from_runs():
    for settings, message in [
        (dict(shape=Shape.from_runs, scale=0.0), "trace.scale must be positive (times the history's arrival rate), got 0.0"),
        (dict(shape=Shape.from_runs, scale=-2.0), "trace.scale must be positive"),
        (dict(scale=2.0), "trace.scale must be 1 for a parametric shape (set trace.jobs_per_h), got 2.0"),
    ]:
        with pytest.raises(LaunchbayError, match=message.replace("(", r"\(").replace(")", r"\)")):
            TraceConfig(**settings)
