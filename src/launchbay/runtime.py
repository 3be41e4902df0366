"""Connecting to Ray: an embedded local instance (default) or a running cluster.

All Ray start-up and shutdown lives here so that jobs only ever see a ready Ray.
If Ray is already initialised in the process (a notebook, a test session, a
``--multirun`` sweep), launchbay uses it and leaves it running.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from launchbay.choices import check_choices
from launchbay.errors import LaunchbayError

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
    log_to_driver: bool = False
    runtime_env: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choices(self, "runtime")


def _quiet_ray() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")


def start(cfg: RuntimeConfig) -> bool:
    """Initialise Ray for ``cfg``; returns True if this call started it (and must stop it)."""
    _quiet_ray()
    import ray

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
    else:
        if not cfg.address:
            raise LaunchbayError("runtime.address is empty: set runtime.address=ray://HOST:10001 or auto")
        try:
            ray.init(address=cfg.address, **common)
        except (ConnectionError, RuntimeError) as exc:
            raise LaunchbayError(f"cannot reach the Ray cluster at runtime.address={cfg.address}: {exc}") from exc
    import ray.data

    # Ray's own logs stay in its session directory; failures reach the user as one line.
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return True


@contextmanager
def ray_runtime(cfg: RuntimeConfig, keep_alive: bool = False) -> Iterator[None]:
    """Ray is up inside the block; shut down afterwards if this block started it.

    ``keep_alive`` leaves it running for the next job of a sweep (Ray stops at exit).
    """
    started = start(cfg)
    try:
        yield
    finally:
        if started and not keep_alive:
            import ray

            ray.shutdown()


def require_gpus(needed: float, what: str) -> None:
    """A one-line error when Ray has fewer GPUs than ``needed`` (tasks would wait forever)."""
    import ray

    have = ray.cluster_resources().get("GPU", 0)
    if needed > have:
        raise LaunchbayError(f"{what} asks for {needed:g} GPU(s) but the Ray cluster has {have:g}")


def alive_nodes() -> int:
    """How many nodes of the Ray cluster are alive."""
    import ray

    return sum(node["Alive"] for node in ray.nodes())


def cluster_cpus() -> float:
    """The CPUs of the Ray cluster (1 if it reports none)."""
    import ray

    return ray.cluster_resources().get("CPU", 1)


# Terminal colour codes, and the task name and process Ray puts before a worker's traceback.
TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
RAY_TASK = re.compile(r"ray::\S*\(\)(?: \(pid=.*\))?")
ERROR_LINE = re.compile(r"^((?:\w+\.)*[A-Z]\w*(?:Error|Exception|Invalid)): (.+)$")


def plain_text(text: str) -> str:
    """``text`` without terminal codes, Ray's task decorations and blank lines."""
    lines = RAY_TASK.sub("", TERMINAL_CODES.sub("", text)).splitlines()
    return "\n".join(line.rstrip() for line in lines if line.strip())


def root_cause(exc: BaseException) -> str:
    """The original error behind Ray's wrappers, as one line (``Type: message``).

    A worker's exception reaches the driver as text inside a ``RayTaskError`` (its
    ``cause`` is the worker's exception); the first ``Type: message`` line of that text
    that is not one of Ray's own is the original. launchbay's own errors are already
    sentences for the user that name the file or key: their message alone, and they win
    over the errors they were raised from.
    """
    chain = [exc]
    while len(chain) < 20:
        cause = getattr(chain[-1], "cause", None)
        inner = cause if isinstance(cause, BaseException) and cause is not chain[-1] else chain[-1].__cause__
        if inner is None:
            break
        chain.append(inner)
    for error in chain:
        lines = [ERROR_LINE.match(line.strip()) for line in plain_text(str(error)).splitlines()]
        found = [m for m in lines if m and not m.group(1).startswith("ray.")]
        ours = [m.group(2) for m in found if m.group(1).startswith("launchbay.")]
        if ours:  # the last names the most: where launchbay caught the error
            return ours[-1]
        if found:
            return f"{found[0].group(1).rsplit('.', 1)[-1]}: {found[0].group(2)}"
    last = chain[-1]
    message = plain_text(str(last)).partition("\n")[0].strip()
    return message if isinstance(last, LaunchbayError) else f"{type(last).__name__}: {message}"
