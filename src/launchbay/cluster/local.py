"""``launchbay cluster up --local``, ``status`` and ``down``: start a multi-node Ray cluster
on this machine in a session of its own, show it, and stop exactly that session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from launchbay.cluster import processes
from launchbay.cluster.processes import alive
from launchbay.cluster.record import ClusterRecord, ClusterShape, cluster_dir, load_record, record_path
from launchbay.errors import LaunchbayError

START_TIMEOUT_S = 180.0


def log_path() -> Path:
    return cluster_dir() / "supervisor.log"


def refuse_if_running() -> None:
    """A one-line error while a recorded local cluster (or what is left of it) still runs."""
    running = load_record()
    if running is None:
        return
    if alive(running.supervisor_pid):
        raise LaunchbayError(
            f"a local cluster is already running (supervisor pid {running.supervisor_pid}, {running.dashboard_url}): "
            "launchbay cluster down first"
        )
    if left := processes.session_pids(running.supervisor_pid):
        raise LaunchbayError(f"{len(left)} process(es) of the last local cluster still run: launchbay cluster down first")


def up(shape: ClusterShape, timeout_s: float = START_TIMEOUT_S) -> ClusterRecord:
    """Start the cluster and wait until its nodes and Jobs API are up; one line on failure."""
    refuse_if_running()
    cluster_dir().mkdir(parents=True, exist_ok=True)
    forget(load_record())
    with open(log_path(), "wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "launchbay.cluster.supervisor", json.dumps(asdict(shape))],
            env=node_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # every Ray process of the cluster joins this session
        )
    deadline = time.monotonic() + timeout_s
    while True:
        record = load_record()
        if record is not None and record.supervisor_pid == supervisor.pid and record.state != "starting":
            break
        if supervisor.poll() is not None or time.monotonic() > deadline:
            processes.stop_session(supervisor.pid)
            forget(record)
            why = f"did not come up within {timeout_s:.0f} s" if supervisor.returncode is None else "stopped"
            raise LaunchbayError(f"the local cluster {why}: {last_line(log_path())} (log: {log_path()})")
        time.sleep(0.3)
    if record.state == "failed":
        processes.stop_session(supervisor.pid)
        forget(record)
        raise LaunchbayError(f"the local cluster failed to start: {record.error} (log: {log_path()})")
    return record


def forget(record: ClusterRecord | None) -> None:
    """Remove a stopped cluster's record and its nodes' temp dirs (the supervisor's log stays)."""
    if record is not None and record.temp_root:
        shutil.rmtree(record.temp_root, ignore_errors=True)
    record_path().unlink(missing_ok=True)


def node_environment() -> dict[str, str]:
    """The nodes' environment: this interpreter's scripts first on PATH (a job's entrypoint runs
    ``launchbay``), no usage stats, no token auth (the Jobs API listens on loopback only), and
    patience with nodes that miss a few heartbeats."""
    scripts = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
        # the nodes share this machine's cores: a raylet slowed by a busy moment is not a lost node
        "RAY_health_check_failure_threshold": "20",
        "AUTOSCALER_HEARTBEAT_TIMEOUT_S": "120",
    }


def last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] if path.exists() else []
    return lines[-1].strip() if lines else "no output"


def down() -> tuple[ClusterRecord | None, int]:
    """Stop the recorded cluster's whole session; returns the record and how many processes were signalled."""
    record = load_record()
    if record is None:
        return None, 0
    signalled = processes.stop_session(record.supervisor_pid)
    left = processes.session_pids(record.supervisor_pid)
    if left:
        raise LaunchbayError(f"{len(left)} process(es) of the local cluster would not stop: pids {left[:10]}")
    forget(record)
    return record, signalled


def status() -> dict[str, Any]:
    """The recorded cluster and, when it runs, its nodes as Ray's state API lists them."""
    record = load_record()
    if record is None:
        raise LaunchbayError("no local cluster: start one with launchbay cluster up --local")
    running = alive(record.supervisor_pid)
    nodes = live_nodes(record.dashboard_url) if running and record.dashboard_url else []
    return {"record": record, "running": running, "nodes": nodes}


def live_nodes(dashboard_url: str) -> list[dict[str, Any]]:
    """The cluster's alive nodes: id, head or worker, node type and resources."""
    from ray.util.state import list_nodes

    from launchbay.cluster.autoscaling import NODE_TYPE_LABEL

    nodes = list_nodes(address=dashboard_url, filters=[("state", "=", "ALIVE")], raise_on_missing_output=False)
    return [
        {
            "node_id": node.node_id,
            "head": bool(node.is_head_node),
            "type": "head" if node.is_head_node else (node.labels or {}).get(NODE_TYPE_LABEL, "worker"),
            "resources": {k: v for k, v in (node.resources_total or {}).items() if k in ("CPU", "GPU")},
        }
        for node in nodes
    ]
