"""A local cluster that Ray's own autoscaler grows and shrinks (``cluster up --local
--autoscale``): it starts with the head alone, adds a worker of the GPU node type for a job
that scores on GPUs (logical ones), and removes the workers once they are idle.

Slow: run alone with ``make test-slow``; the cluster is stopped by its session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from launchbay.cluster.processes import session_pids
from tests.test_cluster import cluster_env, launchbay, nodes_of

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


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
    kinds = nodes_of(env, record, alive=False)  # the GPU node may be gone already: idle after 4 s
    scorers = [a for a in list_actors(address=record["dashboard_url"], filters=[("job_id", "=", job_id)], detail=True,
                                                 raise_on_missing_output=False)
               if "Scorer" in a.class_name]
    assert scorers and {kinds.get(a.node_id) for a in scorers} == {"gpu"}  # the GPU stage ran on the GPU node type
    wait_for_nodes(env, record, ["head"])  # idle workers are removed


REPLAY = """
import json
from launchbay.cost.model import AutoscalingPolicy, NodeType, PriceTable, Trace, TraceJob
from launchbay.cost.replay import replay

prices = PriceTable(node_types={"small": NodeType(cpus=2, on_demand_per_h=0.1, boot_s=60)})
jobs = [TraceJob(arrival_s=t, tasks=4, task_s=150) for t in (0, 30, 60)] + [TraceJob(arrival_s=1500, tasks=2, task_s=60)]
policy = AutoscalingPolicy("autoscale 0-2", "small", max_workers=2, idle_timeout_s=150)
out = replay(Trace("waves", jobs, horizon_s=1800), policy, prices, compression=30)
print(json.dumps({"nodes": [vars(n) for n in out.nodes], "jobs": [vars(j) for j in out.jobs], "boot_s": out.boot_s}))
"""


def test_a_replayed_trace_scales_rays_autoscaler_up_and_back_down(tmp_path):
    """Two waves of work an idle gap apart, time-compressed 30x on Ray's real autoscaler."""
    out = subprocess.run([sys.executable, "-c", REPLAY], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    nodes, jobs = measured["nodes"], measured["jobs"]
    # Ray's autoscaler was seen to add a node for a second of wall time and remove it at once while
    # two were up (under load on 2 cores); the nodes that stayed are the ones it kept
    kept = [n for n in nodes if n["down_s"] - n["up_s"] > 30]
    first_wave = [n for n in kept if n["requested_s"] < 1500]
    assert len(first_wave) == 2  # 12 one-CPU tasks on 2-CPU nodes: up to max_workers, no further
    assert all(n["down_s"] < 1500 for n in first_wave)  # idle after the wave: removed by the autoscaler
    assert any(n["requested_s"] >= 1500 for n in kept)  # and one added again for the second wave
    for t in sorted({n["up_s"] for n in kept}):
        assert sum(n["up_s"] <= t < n["down_s"] for n in kept) <= 2
    assert len(jobs) == 4 and all(j["arrival_s"] <= j["start_s"] < j["end_s"] for j in jobs)
    assert measured["boot_s"] >= 60  # the injected boot, and what Ray takes to start on a node
