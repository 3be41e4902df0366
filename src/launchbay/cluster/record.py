"""The record of the local cluster: its addresses, its shape and the session that owns it.

It lives in ``$LAUNCHBAY_HOME/cluster/cluster.json`` (``~/.launchbay`` by default), next
to the supervisor's log and the cluster's shared storage folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from launchbay.cluster.processes import alive
from launchbay.errors import LaunchbayError
from launchbay.settings import require


def home() -> Path:
    """Where launchbay keeps its per-user state."""
    return Path(os.environ.get("LAUNCHBAY_HOME") or Path.home() / ".launchbay")


def cluster_dir() -> Path:
    """The local cluster's folder: its record, the supervisor's log, shared storage, node temp dirs."""
    return home() / "cluster"


@dataclass
class ClusterShape:
    """What ``launchbay cluster up --local`` starts: a head (no CPUs of its own by default, as
    on real clusters) and worker nodes; GPUs are logical resources."""

    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    gpu_workers: int | None = None  # how many of the workers carry the GPUs; None: all of them
    object_store_mb: int = 256
    head_cpus: float = 0.0
    autoscale: bool = False  # start no workers; Ray's autoscaler adds up to ``workers`` on demand
    idle_timeout_s: float = 10.0  # autoscale: an idle worker is removed after this long
    min_workers: int = 0  # autoscale: workers kept up even when idle
    upscaling_speed: float = 1.0  # autoscale: Ray's limit on nodes pending at once, relative to those up
    boot_s: float = 0.0  # a delay before each worker starts, as a cloud machine boots before Ray is up on it
    gpu_boot_s: float | None = None  # the GPU workers' delay, where it differs

    def __post_init__(self) -> None:
        require(self.workers >= 1, "--workers", "at least 1", self.workers)
        require(self.cpus_per_worker > 0, "--cpus-per-worker", "positive", self.cpus_per_worker)
        require(self.gpus_per_worker >= 0, "--gpus-per-worker", "0 or more", self.gpus_per_worker)
        require(self.gpu_workers is None or 0 <= self.gpu_workers <= self.workers, "--gpu-workers", "between 0 and --workers", self.gpu_workers)
        require(self.object_store_mb >= 80, "--object-store-mb", "at least 80 (Ray needs 75 MiB)", self.object_store_mb)
        require(self.head_cpus >= 0, "--head-cpus", "0 or more", self.head_cpus)
        require(self.idle_timeout_s > 0, "--idle-timeout", "positive", self.idle_timeout_s)
        require(0 <= self.min_workers <= self.workers, "min_workers", "between 0 and --workers", self.min_workers)
        require(self.upscaling_speed > 0, "upscaling_speed", "positive", self.upscaling_speed)
        require(self.boot_s >= 0, "boot_s", "0 or more", self.boot_s)
        require(self.gpu_boot_s is None or self.gpu_boot_s >= 0, "gpu_boot_s", "0 or more", self.gpu_boot_s)

    def boot_times(self) -> dict[str, float]:
        """Each worker node type's boot delay."""
        return {"cpu": self.boot_s, "gpu": self.boot_s if self.gpu_boot_s is None else self.gpu_boot_s}

    def node_types(self) -> dict[str, dict[str, Any]]:
        """Worker node types by name: how many (at most, with ``autoscale``) and their Ray resources."""
        gpu_workers = 0 if not self.gpus_per_worker else self.workers if self.gpu_workers is None else self.gpu_workers
        memory = self.object_store_mb * 1024**2
        types = {
            "cpu": {"count": self.workers - gpu_workers, "resources": {"CPU": self.cpus_per_worker, "object_store_memory": memory}},
            "gpu": {
                "count": gpu_workers,
                "resources": {"CPU": self.cpus_per_worker, "GPU": self.gpus_per_worker, "object_store_memory": memory},
            },
        }
        return {name: spec for name, spec in types.items() if spec["count"]}


@dataclass
class ClusterRecord:
    """A started cluster: the supervisor's session (every process of the cluster is in it) and addresses."""

    supervisor_pid: int
    shape: ClusterShape
    state: str = "starting"  # starting | ready | failed
    gcs_address: str | None = None  # host:port, for runtime=cluster (ray.init)
    dashboard_url: str | None = None  # http://127.0.0.1:port, for the Jobs API and the dashboard
    started_at: float | None = None
    ready_after_s: float | None = None
    error: str | None = None
    storage: str = field(default_factory=lambda: str(cluster_dir() / "shared"))  # shared by every node
    temp_root: str | None = None  # the nodes' temp dirs (Ray's logs), removed by ``cluster down``

    def save(self) -> None:
        from launchbay.storage import write_atomic

        cluster_dir().mkdir(parents=True, exist_ok=True)
        write_atomic(record_path(), json.dumps(asdict(self), indent=2))


def record_path() -> Path:
    return cluster_dir() / "cluster.json"


def load_record() -> ClusterRecord | None:
    """The recorded local cluster, or None when none was started."""
    path = record_path()
    if not path.exists():
        return None
    try:
        values = json.loads(path.read_text())
        return ClusterRecord(**{**values, "shape": ClusterShape(**values["shape"])})
    except (ValueError, TypeError, KeyError) as exc:
        raise LaunchbayError(f"{path}: not a launchbay cluster record ({exc}); remove it if no cluster runs") from exc


def running_record() -> ClusterRecord | None:
    """The recorded local cluster if it is up and its supervisor still runs."""
    record = load_record()
    if record is None or record.state != "ready" or not alive(record.supervisor_pid):
        return None
    return record
