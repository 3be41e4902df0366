"""A real Ray head started with ``ray start``: attach to it, and submit jobs through its Jobs API.

Slow (a head with its dashboard takes a while on 2 cores): run alone with ``make test-slow``.
The head is stopped by its process group, never by ``ray stop``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A head node in its own process group; yields (gcs address, dashboard url, env)."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    gcs, dashboard = free_port(), free_port()
    proc = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", f"--port={gcs}", f"--dashboard-port={dashboard}",
         "--dashboard-host=127.0.0.1", "--num-cpus=2", "--include-dashboard=true", "--disable-usage-stats"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.time() + 90
        while subprocess.run([str(BIN / "launchbay"), "jobs", "list", "--address", url], env=env,
                             capture_output=True).returncode != 0:
            assert time.time() < deadline and proc.poll() is None, "the Ray head did not come up"
            time.sleep(2)
        yield f"127.0.0.1:{gcs}", url, env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def test_run_attaches_to_the_cluster(head, tmp_path):
    gcs, _, env = head
    out = subprocess.run(
        [str(BIN / "launchbay"), "run", "job=train", "data.rows=800", "runtime=cluster", f"runtime.address={gcs}"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    (summary,) = tmp_path.glob("runs/*/*/summary.json")
    assert json.loads(summary.read_text())["model"]["version"] == 1


def test_submit_follows_the_job_to_success(head, tmp_path):
    _, url, env = head
    out = subprocess.run(
        [str(BIN / "launchbay"), "submit", "--address", url, "--working-dir", str(tmp_path), "--id", "lb-test-1",
         "--", "job=train", "data.rows=800"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "trained demo v1" in out.stdout and "lb-test-1: SUCCEEDED" in out.stderr
    listed = subprocess.run([str(BIN / "launchbay"), "jobs", "list", "--address", url], env=env,
                            capture_output=True, text=True)
    assert "lb-test-1" in listed.stdout and "SUCCEEDED" in listed.stdout


def test_submit_to_nowhere_is_one_line(tmp_path):
    out = subprocess.run([str(BIN / "launchbay"), "submit", "--address", f"http://127.0.0.1:{free_port()}", "--",
                          "job=train"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("launchbay: error:")
