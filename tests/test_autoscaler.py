"""A local cluster that Ray's own autoscaler grows and shrinks (``cluster up --local
--autoscale``): it starts with the head alone, adds a worker of the GPU node type for a job
that scores on GPUs (logical ones), and removes the workers once they are idle.

Slow: run alone with ``make test-slow``; the cluster is stopped by its session.
"""

from __future__ import annotations

import json
import time

import pytest

from launchbay.cluster.processes import session_pids
from tests.test_cluster import cluster_env, launchbay, nodes_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def autoscaling(tmp_path_factory):
    """(env, record) of an autoscaling cluster: up to one CPU worker and one GPU worker, idle ones gone after 4 s."""
    home = tmp_path_factory.mktemp("home")
    env = cluster_env(home)
    up = launchbay("cluster", "up", "--local", "--autoscale", "--workers", "2", "--gpus-per-worker", "1", "--gpu-workers", "1",
                   "--idle-timeout", "4", env=env, cwd=home)
    assert up.returncode == 0, up.stderr
    record = json.loads((home / "cluster" / "cluster.json").read_text())
    try:
        yield env, record
    finally:
        assert launchbay("cluster", "down", env=env, cwd=home).returncode == 0
        assert session_pids(record["supervisor_pid"]) == []


def wait_for_nodes(env: dict, record: dict, kinds: list[str], timeout_s: float = 90) -> float:
    """Seconds until the alive nodes are exactly ``kinds`` (sorted)."""
    start = time.monotonic()
    while sorted(nodes_of(env, record).values()) != kinds:
        assert time.monotonic() - start < timeout_s, nodes_of(env, record)
        time.sleep(1)
    return time.monotonic() - start


def test_a_gpu_job_grows_the_cluster_by_the_gpu_node_type_and_idle_workers_go(autoscaling, tmp_path):
    env, record = autoscaling
    assert sorted(nodes_of(env, record).values()) == ["head"]
    out = launchbay("submit", "--id", "lb-gpu", "--", "job=pipeline", "score=gpu", "monitor.device=gpu", "data.rows=3000",
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "wait for the autoscaler to add a node that has" in out.stdout  # no GPU node yet: a warning, not an error
    assert out.stdout.count("drift counting falls back to the CPU") == 1  # logical GPUs: numba finds no CUDA device
    fetched = launchbay("jobs", "result", "lb-gpu", "--to", str(tmp_path / "results"), env=env, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads((tmp_path / "results" / "lb-gpu" / "summary.json").read_text())["drift"]["device"] == "cpu"

    from ray.job_submission import JobSubmissionClient
    from ray.util.state import list_actors

    job_id = JobSubmissionClient(record["dashboard_url"]).get_job_info("lb-gpu").job_id
    kinds = nodes_of(env, record)
    scorers = [a for a in list_actors(address=record["dashboard_url"], filters=[("job_id", "=", job_id)], detail=True,
                                                 raise_on_missing_output=False)
               if "Scorer" in a.class_name]
    assert scorers and {kinds.get(a.node_id) for a in scorers} == {"gpu"}  # the GPU stage ran on the GPU node type
    wait_for_nodes(env, record, ["head"])  # idle workers are removed
