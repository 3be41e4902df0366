"""Connecting to Ray: an embedded local instance (default) or a running cluster.

All Ray start-up and shutdown lives here so that jobs only ever see a ready Ray.
If Ray is already initialised in the process (a notebook, a test session, a
``--multirun`` sweep), launchbay uses it and leaves it running.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from launchbay.errors import LaunchbayError
from launchbay.settings import check_choices, require

log = logging.getLogger(__name__)


# ``local`` starts Ray in this process; ``cluster`` attaches to a running cluster.
Mode = StrEnum("Mode", ["local", "cluster"])


@dataclass
class RuntimeConfig:
    """Where jobs run. ``mode=local`` starts Ray in-process; ``mode=cluster`` attaches to ``address``."""

    mode: Mode = Mode.local
    address: str | None = None
    num_cpus: int | None = None
    num_gpus: int | None = None
    object_store_memory_mb: int = 1024
    autoscaling: bool = False  # the cluster adds nodes on demand: a stage no node holds yet waits for one
    log_to_driver: bool = False
    runtime_env: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choices(self, "runtime")
        require(self.num_cpus is None or self.num_cpus > 0, "runtime.num_cpus", "positive (or null: every core)", self.num_cpus)
        require(self.num_gpus is None or self.num_gpus >= 0, "runtime.num_gpus", "0 or more (or null)", self.num_gpus)
        require(self.object_store_memory_mb >= 64, "runtime.object_store_memory_mb", "at least 64", self.object_store_memory_mb)


def _quiet_ray() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    os.environ.setdefault("RAY_task_events_report_interval_ms", str(int(EMBEDDED_TASK_EVENTS_S * 1000)))


# set while the run's cluster adds nodes on demand (``runtime.autoscaling``)
AUTOSCALING = threading.Event()
# How often workers report their task events: Ray's default on a cluster; an embedded Ray's
# workers report sooner, so that a run's usage is read soon after its last task.
CLUSTER_TASK_EVENTS_S = 1.0
EMBEDDED_TASK_EVENTS_S = 0.05
# Rows per call of launchbay's own Ray Data stages (scoring tasks, drift passes): Ray Data bundles
# smaller blocks up to it, so that a source of many tiny blocks (``from_items`` makes up to 200)
# runs as a few tasks, not a task, a sketch and a merge per block.
BLOCK_ROWS = 65_536
LOCAL_GCS: set[str] = set()  # the GCS addresses of the Ray instances this process started in-process


def task_events_interval_s() -> float:
    """How often the workers of the connected Ray report their task events."""
    import ray

    embedded = ray.is_initialized() and ray.get_runtime_context().gcs_address in LOCAL_GCS
    return EMBEDDED_TASK_EVENTS_S if embedded else CLUSTER_TASK_EVENTS_S


def start(cfg: RuntimeConfig) -> bool:
    """Initialise Ray for ``cfg``; returns True if this call started it (and must stop it)."""
    _quiet_ray()
    import ray

    if cfg.autoscaling:
        AUTOSCALING.set()
    else:
        AUTOSCALING.clear()

    if ray.is_initialized():
        return False
    common: dict[str, Any] = dict(
        log_to_driver=cfg.log_to_driver,
        logging_level=logging.ERROR,
        runtime_env=dict(cfg.runtime_env) or None,
    )
    if cfg.mode == Mode.local:
        ray.init(
            address="local",
            num_cpus=cfg.num_cpus,
            num_gpus=cfg.num_gpus,
            object_store_memory=cfg.object_store_memory_mb * 1024**2,
            include_dashboard=False,
            **common,
        )
        LOCAL_GCS.add(ray.get_runtime_context().gcs_address)
    else:
        address = cfg.address or local_cluster_address()
        try:
            ray.init(address=address, **common)
        except (ConnectionError, RuntimeError) as exc:
            raise LaunchbayError(f"cannot reach the Ray cluster at runtime.address={address}: {exc}") from exc
    import ray.data

    # Ray's own logs stay in its session directory; failures reach the user as one line.
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return True


def local_cluster_address() -> str:
    """The address of the local cluster ``launchbay cluster up --local`` started, when none is
    given; a run on it is an autoscaling one when that cluster autoscales."""
    from launchbay.cluster.record import running_record

    record = running_record()
    if record is not None and record.shape.autoscale:
        AUTOSCALING.set()
    if record is None or record.gcs_address is None:
        raise LaunchbayError(
            "runtime.address is empty and no local cluster runs: set runtime.address=ray://HOST:10001 (or auto on a "
            "cluster node), or start one with launchbay cluster up --local"
        )
    return record.gcs_address


@contextmanager
def ray_runtime(cfg: RuntimeConfig, keep_alive: bool = False) -> Iterator[None]:
    """Ray is up inside the block; shut down afterwards if this block started it.

    ``keep_alive`` leaves it running for the next job of a sweep (Ray stops at exit).
    Inside the block SIGTERM interrupts the job as Ctrl-C does (Ray's own handler would
    dump native stacks), so the job cleans up what it started either way.
    """
    started = start(cfg)
    try:
        with terminate_as_interrupt():
            yield
    finally:
        if started and not keep_alive:
            import ray

            ray.shutdown()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def ray_resources(num_cpus: float, num_gpus: float = 0.0, memory_mb: int | None = None) -> dict[str, Any]:
    """The resource options of a Ray task, actor or Ray Data stage (``memory`` in bytes, only when set)."""
    options = {"num_cpus": num_cpus, "num_gpus": num_gpus}
    if memory_mb is not None:
        options["memory"] = memory_mb * 1024**2
    return options


# option of ``ray_resources`` -> (Ray's resource, its unit in errors, Ray's amount per unit, how amounts read)
RESOURCES = {
    "num_cpus": ("CPU", "CPU(s)", 1, "{:g}"),
    "num_gpus": ("GPU", "GPU(s)", 1, "{:g}"),
    "memory": ("memory", "MB of memory", 1024**2, "{:,.0f}"),
}


def require_resources(options: dict[str, Any], what: str) -> None:
    """A one-line error when no node of the Ray cluster has the CPUs, GPUs and memory that
    ``options`` ask for (the tasks would wait forever); on a cluster that adds nodes on
    demand (``runtime.autoscaling``) one warning instead: they wait for the autoscaler."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    wanted = {resource: options.get(option, 0) for option, (resource, *_) in RESOURCES.items()}
    if any(all(node.get(resource, 0) >= amount for resource, amount in wanted.items()) for node in nodes):
        return
    most = {resource: max((node.get(resource, 0) for node in nodes), default=0) for resource in wanted}
    short = [(resource, unit, scale, amount) for resource, unit, scale, amount in RESOURCES.values() if wanted[resource] > most[resource]]
    if short:
        resource, unit, scale, amount = short[0]
        problem = f"{amount.format(wanted[resource] / scale)} {unit} but a node of the Ray cluster has at most {amount.format(most[resource] / scale)}"
    else:
        asked = ", ".join(f"{amount.format(wanted[r] / scale)} {unit}" for r, unit, scale, amount in RESOURCES.values() if wanted[r])
        problem = f"{asked} but no node of the Ray cluster has all of them"
    if AUTOSCALING.is_set():
        print(f"warning: {what} asks for {problem}: its tasks wait for the autoscaler to add a node that has them", file=sys.stderr)
        return
    raise LaunchbayError(f"{what} asks for {problem}")


def require_gpus(needed: float, what: str) -> None:
    """A one-line error when Ray has fewer GPUs than ``needed`` (tasks would wait forever)."""
    require_resources({"num_gpus": needed}, what)


def cluster_gpus() -> float:
    """The GPUs of the Ray cluster, logical ones included (``ray start --num-gpus``)."""
    import ray

    return ray.cluster_resources().get("GPU", 0)


def cuda_in_gpu_task(num_gpus: float) -> bool:
    """Whether numba finds a CUDA device in a Ray task that gets ``num_gpus`` GPUs."""
    import ray

    def cuda_available() -> bool:
        from numba import cuda

        return bool(cuda.is_available())

    return ray.get(ray.remote(num_cpus=0, num_gpus=num_gpus)(cuda_available).remote())


def alive_hosts() -> int:
    """How many machines the alive nodes of the Ray cluster run on (nodes of a local cluster share one)."""
    import ray

    return len({node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]})


def cluster_cpus() -> float:
    """The CPUs of the Ray cluster (1 if it reports none)."""
    import ray

    return ray.cluster_resources().get("CPU", 1)


def cancel(refs: list, timeout_s: float = 10.0) -> None:
    """Cancel the Ray tasks of ``refs`` (each gets a ``KeyboardInterrupt``; a forced kill can
    trip Ray 2.60's task manager) and wait (up to ``timeout_s``) until they have stopped, so
    that nothing they write lands after the caller has cleaned up."""
    import ray

    for ref in refs:
        ray.cancel(ref)
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=timeout_s)

