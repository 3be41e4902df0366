"""The process that owns a local cluster: ``python -m launchbay.cluster.supervisor SHAPE_JSON``.

``launchbay cluster up`` starts it as the leader of a new session. It starts the head with
``ray start --head --block`` and Ray's autoscaler, which starts the workers (see
``autoscaling``): all of them at once and for good on a fixed-size cluster, on demand with
``--autoscale``. Every Ray process stays in its session. It records the addresses, waits
for the workers a fixed-size cluster must have, and then for SIGTERM, which stops the head;
``launchbay cluster down`` then stops whatever of the session is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from launchbay.cluster.autoscaling import BOOT_ENV, TEMP_ROOT_ENV, autoscaling_config
from launchbay.cluster.record import ClusterRecord, ClusterShape

JOIN_TIMEOUT_S = 120.0
AUTOSCALER_UPDATE_INTERVAL_S = 1  # how often Ray's autoscaler looks at the demand (Ray's default: 5)
STOP = {signal.SIGTERM, signal.SIGINT}  # what stops the cluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, what: str, timeout_s: float = JOIN_TIMEOUT_S) -> None:
    """Poll ``ready()`` until it is true."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f} s")
        time.sleep(0.5)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def alive_workers(dashboard: str) -> int:
    try:
        with urllib.request.urlopen(f"{dashboard}/api/v0/nodes?limit=1000", timeout=5) as response:
            nodes = json.load(response)["data"]["result"]["result"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(node["state"] == "ALIVE" and not node["is_head_node"] for node in nodes)


def start_head(record: ClusterRecord, temp_root: Path) -> subprocess.Popen:
    """``ray start --head --block`` with the autoscaler's config written for ``record.shape``."""
    import ray._private.services

    shape = record.shape
    host = ray._private.services.get_node_ip_address()
    gcs_port, dashboard_port, agent_port = free_port(), free_port(), free_port()
    config = autoscaling_config(shape, f"{host}:{gcs_port}")
    config_path = temp_root / "autoscaling.json"
    config_path.write_text(json.dumps(config, indent=2))
    env = {
        **os.environ,
        "RAY_FAKE_CLUSTER": "1",
        "AUTOSCALER_UPDATE_INTERVAL_S": str(AUTOSCALER_UPDATE_INTERVAL_S),
        TEMP_ROOT_ENV: str(temp_root),
        BOOT_ENV: json.dumps(shape.boot_times()),
    }
    head = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--disable-usage-stats",
            f"--port={gcs_port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
            f"--dashboard-agent-listen-port={agent_port}",  # Ray's default would meet another cluster's
            f"--num-cpus={shape.head_cpus:g}", f"--object-store-memory={shape.object_store_mb * 1024**2}",
            f"--temp-dir={temp_root / 'head'}", f"--autoscaling-config={config_path}",
        ],
        env=env, stdin=subprocess.DEVNULL,
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP),  # the supervisor holds them, not Ray
    )
    record.gcs_address, record.dashboard_url = f"{host}:{gcs_port}", f"http://127.0.0.1:{dashboard_port}"
    dashboard = record.dashboard_url
    wait_until(lambda: head.poll() is not None or answers(f"{dashboard}/api/jobs/"), "the Jobs API did not answer")
    wait_until(lambda: head.poll() is not None or answers(f"http://{host}:{agent_port}/api/local_raylet_healthz"),
               "the head's job agent did not answer")
    if head.poll() is not None:
        raise RuntimeError(f"ray start --head exited with {head.returncode}")
    return head


def main(shape_json: str) -> int:
    started = time.time()
    temp_root = Path(tempfile.gettempdir()) / f"launchbay-cluster-{os.getpid()}"  # short: Ray's socket paths must stay short
    temp_root.mkdir(parents=True, exist_ok=True)
    record = ClusterRecord(os.getpid(), ClusterShape(**json.loads(shape_json)), started_at=started, temp_root=str(temp_root))
    record.save()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP)  # held until sigwait takes them
    head = None
    try:
        Path(record.storage).mkdir(parents=True, exist_ok=True)
        head = start_head(record, temp_root)
        if not record.shape.autoscale:
            workers, dashboard = record.shape.workers, str(record.dashboard_url)
            wait_until(lambda: alive_workers(dashboard) >= workers, f"the {workers} worker(s) did not join")
        record.state, record.ready_after_s = "ready", round(time.time() - started, 1)
        record.save()
        print(f"ready after {record.ready_after_s} s: {record.gcs_address} {record.dashboard_url}", flush=True)
        signal.sigwait(STOP)
        return 0
    except Exception as exc:
        record.state, record.error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
        record.save()
        print(f"failed: {record.error}", flush=True)
        return 1
    finally:
        if head is not None and head.poll() is None:
            head.terminate()
            head.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
