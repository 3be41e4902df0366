"""A real local cluster (``launchbay cluster up --local``: a head and two worker raylets under
Ray's autoscaler): jobs submitted to it spread over both workers, find it without flags,
carry their plugins, publish their results; ``cluster down`` leaves no process behind.

Slow: run alone with ``make test-slow``. The cluster is stopped by its session, never by ``ray stop``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from launchbay.cluster.processes import session_pids

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
BIN = Path(sys.executable).parent


def launchbay(*args: str, env: dict, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "launchbay"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def cluster_env(home: Path) -> dict:
    env = {**os.environ, "LAUNCHBAY_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    env.pop("LAUNCHBAY_STORAGE", None)
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Yields (env, record) of a local cluster of a head (no CPUs) and two 1-CPU workers; stops it after."""
    home = tmp_path_factory.mktemp("home")
    env = cluster_env(home)
    up = launchbay("cluster", "up", "--local", "--workers", "2", env=env, cwd=home)
    assert up.returncode == 0, up.stderr + (home / "cluster" / "supervisor.log").read_text()
    record = json.loads((home / "cluster" / "cluster.json").read_text())
    try:
        yield env, record
    finally:
        down = launchbay("cluster", "down", env=env, cwd=home)
        assert down.returncode == 0, down.stderr
        assert "nothing of it is left" in down.stdout
        assert session_pids(record["supervisor_pid"]) == []  # no Ray process of the cluster is left
        assert not Path(record["temp_root"]).exists()


def nodes_of(env: dict, record: dict, alive: bool = True) -> dict[str, str]:
    """node id -> "head" or its node type, as Ray's state API lists the alive nodes (or all, dead ones too)."""
    from ray.util.state import list_nodes

    filters = [("state", "=", "ALIVE")] if alive else None
    nodes = list_nodes(address=record["dashboard_url"], filters=filters, raise_on_missing_output=False)
    return {n.node_id: "head" if n.is_head_node else n.labels["launchbay.io/node-type"] for n in nodes}


def tasks_by_node(record: dict, submission_id: str, name: str) -> Counter:
    """How many tasks called ``name`` of a submitted job ran on each node."""
    from ray.job_submission import JobSubmissionClient
    from ray.util.state import list_tasks

    job_id = JobSubmissionClient(record["dashboard_url"]).get_job_info(submission_id).job_id
    tasks = list_tasks(address=record["dashboard_url"], filters=[("job_id", "=", job_id)], limit=10_000, raise_on_missing_output=False)
    return Counter(t.node_id for t in tasks if t.name == name)


def test_up_starts_a_head_and_two_workers_and_refuses_a_second(cluster, tmp_path):
    env, record = cluster
    assert record["state"] == "ready" and record["dashboard_url"].startswith("http://127.0.0.1:")
    nodes = nodes_of(env, record)
    assert sorted(nodes.values()) == ["cpu", "cpu", "head"]
    status = launchbay("cluster", "status", env=env, cwd=tmp_path)
    assert status.returncode == 0 and record["dashboard_url"] in status.stdout
    assert all(node[-12:] in status.stdout for node in nodes)  # the nodes, as the state API lists them
    again = launchbay("cluster", "up", "--local", env=env, cwd=tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already running" in again.stderr


def test_the_pipeline_spreads_over_both_workers(cluster, tmp_path):
    env, record = cluster
    submitted = launchbay("submit", "--id", "lb-spread", "--", "job=pipeline", "data.rows=3000", "batch.chunk_rows=2500",
                          env=env, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr + submitted.stdout
    assert "lb-spread: SUCCEEDED" in submitted.stderr
    assert launchbay("jobs", "wait", "lb-spread", env=env, cwd=tmp_path).returncode == 0

    fetched = launchbay("jobs", "result", "lb-spread", "--to", str(tmp_path / "results"), env=env, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert "pipeline run " in fetched.stderr and "20,000 rows scored" in fetched.stderr
    summary = json.loads((tmp_path / "results" / "lb-spread" / "summary.json").read_text())
    assert (tmp_path / "results" / "lb-spread" / "report.html").exists()
    scores = Path(record["storage"]) / "scores" / "lb-spread"
    assert summary["scores"]["path"] == str(scores) and summary["scores"]["rows"] == 20_000
    assert (scores / "_SUCCESS").exists() and pq.read_table(scores).num_rows == 20_000  # the commit is whole

    workers = {node for node, kind in nodes_of(env, record).items() if kind != "head"}
    scored = tasks_by_node(record, "lb-spread", "score_fragment")
    assert set(scored) == workers and sum(scored.values()) == 8  # 8 pieces of 2500 rows, on both workers, none on the head


def test_runtime_cluster_finds_the_local_cluster_without_flags(cluster, tmp_path):
    env, record = cluster
    out = launchbay("run", "job=train", "data.rows=800", "runtime=cluster", f"registry.path={tmp_path / 'registry'}",
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (summary,) = tmp_path.glob("runs/*/*/summary.json")
    assert json.loads(summary.read_text())["model"]["version"] == 1


def test_plugin_modules_and_packages_travel_with_the_job(cluster, tmp_path):
    """A ``plugins=[...]`` module outside the working dir reaches the workers (its model is
    fitted there); an installed plugin package the config selects is checked present."""
    env, record = cluster
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lb_tiny_model.py").write_text(textwrap.dedent("""
        from launchbay import hookimpl
        from launchbay.components import ModelFamily


        def build(settings):
            from sklearn.dummy import DummyClassifier

            return DummyClassifier(strategy="prior")


        @hookimpl
        def launchbay_model_families():
            return [ModelFamily("tiny", build, description="predicts the label's prior")]
    """))
    work = tmp_path / "work"
    work.mkdir()
    local = {**env, "PYTHONPATH": os.pathsep.join([str(extra), env.get("PYTHONPATH", "")])}  # here only, not on the cluster
    out = launchbay("submit", "--id", "lb-plugins", "--", "job=train", "job.model_name=tiny_demo", "plugins=[lb_tiny_model]",
                    "model=tiny", "data=constant", "data.rows=400", env=local, cwd=work)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "trained tiny_demo v1 (tiny)" in out.stdout

    from ray.job_submission import JobSubmissionClient

    carried = JobSubmissionClient(record["dashboard_url"]).get_job_info("lb-plugins").runtime_env
    assert carried["py_modules"] and carried["env_vars"]["LAUNCHBAY_REQUIRES"] == "launchbay-testplugin==0.0.7"
    fit = tasks_by_node(record, "lb-plugins", "fit")
    assert sum(fit.values()) == 1 and nodes_of(env, record)[next(iter(fit))] == "cpu"
