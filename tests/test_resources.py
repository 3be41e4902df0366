"""Per-stage resources: what training and scoring tasks get from Ray, and where drift is
counted when ``monitor.device=gpu`` meets a cluster without CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import launchbay
from launchbay.registry import Registry

MB = 1024**2
# the test plugin's estimator, which records the Ray resources of the tasks that fit and use it
RECORDER = ["model.estimator._target_=launchbay_testplugin.ResourceRecorder", "~model.estimator.max_iter", "model.allowed_prefixes=[launchbay_testplugin.]"]


@pytest.fixture(scope="module")
def recorded(ray_session, tmp_path_factory) -> tuple[Path, dict]:
    """A working directory whose model was fitted with ``train.num_cpus=0.5 train.memory_mb=64``."""
    home = tmp_path_factory.mktemp("resources")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        summary = launchbay.run(["job=train", "data.rows=400", *RECORDER, "train.num_cpus=0.5", "train.memory_mb=64"])
    return home, summary


def test_the_fit_task_gets_the_train_resources(recorded):
    home, _ = recorded
    model = Registry(home / ".launchbay/registry").get("demo").load_model()
    assert model[-1].fitted_with_ == {"CPU": 0.5, "memory": 64 * MB}


@pytest.mark.parametrize("strategy", ["fragments", "tasks", "actors"])
def test_every_scoring_task_gets_the_score_resources(recorded, monkeypatch, strategy):
    home, _ = recorded
    monkeypatch.chdir(home)
    summary = launchbay.run(["job=score", "batch.rows=3000", "batch.chunk_rows=1000", f"score.strategy={strategy}",
                             "score.memory_mb=96", "score.drift=false"])
    memory = pq.read_table(summary["scores"]["path"]).column("prediction").to_numpy()
    assert memory.size == 3000 and set(memory) == {96 * MB}


def launchbay_run(cwd: Path, *overrides: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict | None]:
    """``launchbay run`` in a fresh process (its own embedded Ray), and the summary it wrote, if any."""
    done = subprocess.run([sys.executable, "-m", "launchbay", "run", *overrides], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)
    summaries = list((cwd / "runs").glob("*/*/summary.json"))
    return done, json.loads(summaries[0].read_text()) if summaries else None


def fallback_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: monitor.device=gpu")]


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_gpu_drift_on_a_cluster_without_cuda_falls_back_to_the_cpu_with_one_warning(tmp_path):
    done, summary = launchbay_run(tmp_path, "job=pipeline", "data.rows=2000", "batch.rows=2000", "approval.trigger=never",
                                  "monitor.device=gpu", "runtime.num_gpus=1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert fallback_warnings(done.stderr) == [
        "warning: monitor.device=gpu, but a Ray task with 1 GPU(s) finds no CUDA device: drift counting falls back to the CPU"
    ]
    assert summary is not None and summary["drift"]["device"] == "cpu"


@pytest.mark.slow
def test_gpu_drift_where_cuda_is_found_counts_on_the_gpu_in_tasks_that_get_one(tmp_path):
    # numba's CUDA simulator stands in for a CUDA device, in the driver and in the Ray workers
    done, summary = launchbay_run(tmp_path, "job=pipeline", "data.rows=600", "batch.rows=600", "approval.trigger=never", *RECORDER,
                                  "+model.estimator.report=GPU", "monitor.device=gpu", "runtime.num_gpus=1",
                                  env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert fallback_warnings(done.stderr) == []
    assert summary is not None and summary["drift"]["device"] == "gpu"
    gpus = pq.read_table(summary["scores"]["path"]).column("prediction").to_numpy()
    assert gpus.size == 600 and set(gpus) == {1.0}
