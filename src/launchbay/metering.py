"""What a run used: the CPU- and GPU-seconds its Ray tasks and actors reserved, and the
seconds each node type was up during it (the ``usage`` section of ``summary.json``).

Tasks and actors come from Ray's task events (the records its state API serves, read from
the GCS so that an embedded Ray needs no dashboard): this job's tasks that started during
the run, each with its node, required resources and start and end times. Ray keeps no start
time for a node, and forgets dead nodes after a while, so the nodes are polled while the
run lasts: a node's seconds are known to within one poll (``POLL_S``).
"""

from __future__ import annotations

import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from launchbay.runtime import task_events_interval_s

POLL_S = 2.0
NODE_TYPE_LABELS = ("launchbay.io/node-type", "ray.io/node-group")  # launchbay's local clusters, KubeRay
FLUSH_WAIT_S = 2.5  # at most this long for the workers' last task events


@dataclass
class Reservation:
    """A task or actor of the run: what it reserved, where, and for how long."""

    name: str
    node_id: str
    start: float
    end: float
    cpus: float
    gpus: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class UsageMeter:
    """Polls the cluster's nodes while the block runs; ``usage()`` then sums what the run reserved."""

    started_at: float = field(default_factory=time.time)
    nodes: dict[str, list] = field(default_factory=dict)  # node id -> [type, first seen, last seen]
    node_types: dict[str, dict[str, float]] = field(default_factory=dict)  # type -> its CPUs and GPUs
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> UsageMeter:
        self.started_at = time.time()
        self.poll()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.ended_at = time.time()
        self.poll()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def poll(self) -> None:
        import ray

        now = time.time()
        for node in ray.nodes():
            if node["Alive"]:
                kind = node_type(node)
                seen = self.nodes.setdefault(node["NodeID"], [kind, now, now])
                seen[2] = now
                self.node_types[kind] = {"cpus": node["Resources"].get("CPU", 0.0), "gpus": node["Resources"].get("GPU", 0.0)}

    def usage(self) -> dict[str, Any]:
        """The run's usage, for ``summary.json`` (what cannot be read is said, never raised: the run stands)."""
        import ray

        try:
            reservations = run_reservations(ray.get_runtime_context().get_job_id(), self.started_at, self.ended_at)
        except Exception as exc:
            return {"error": f"usage not measured: {type(exc).__name__}: {exc}"}
        tasks = [r for r in reservations if r.cpus or r.gpus]
        node_s: dict[str, float] = {}
        for kind, first, last in self.nodes.values():
            node_s[kind] = round(node_s.get(kind, 0.0) + max(0.0, min(last, self.ended_at) - max(first, self.started_at)), 3)
        task_s = sum(r.seconds for r in tasks)
        return {
            "started_at": round(self.started_at, 3),
            "wall_s": round(self.ended_at - self.started_at, 3),
            "cpu_s": round(sum(r.seconds * r.cpus for r in tasks), 3),
            "gpu_s": round(sum(r.seconds * r.gpus for r in tasks), 3),
            "tasks": len(tasks),
            "task_s_mean": round(task_s / len(tasks), 4) if tasks else 0.0,
            "cpus_per_task": round(sum(r.seconds * r.cpus for r in tasks) / task_s, 4) if task_s else 0.0,
            "gpus_per_task": round(sum(r.seconds * r.gpus for r in tasks) / task_s, 4) if task_s else 0.0,
            "node_s": node_s,
            "node_types": self.node_types,
            "nodes": len(self.nodes),
            "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def node_type(node: dict[str, Any]) -> str:
    """A node's type: its node-type label, else ``head``/``worker`` with its CPUs and GPUs."""
    labels = node.get("Labels") or {}
    for key in NODE_TYPE_LABELS:
        if labels.get(key):
            return str(labels[key])
    res = node["Resources"]
    role = "head" if "node:__internal_head__" in res else "worker"
    return f"{role} {res.get('CPU', 0):g} CPU" + (f" {res['GPU']:g} GPU" if res.get("GPU") else "")


def run_reservations(job_id: str, start: float, end: float) -> list[Reservation]:
    """This job's tasks and actors that started in [start, end], waiting (up to ``FLUSH_WAIT_S``)
    for the last ones' end to be reported; an actor reserves its resources until it dies."""
    from ray._private.state import state
    from ray.core.generated.common_pb2 import TaskStatus, TaskType  # type: ignore[attr-defined]

    running, ended = TaskStatus.Value("RUNNING"), {TaskStatus.Value("FINISHED"), TaskStatus.Value("FAILED")}
    interval = task_events_interval_s()
    deadline = time.monotonic() + max(FLUSH_WAIT_S, 3 * interval)
    time.sleep(interval)  # the last reports of the workers
    seen = -1
    while True:
        events = [e for e in state._get_all_task_events() if e.task_info.job_id.hex() == job_id]
        mine = [e for e in events if start <= e.state_updates.state_ts_ns.get(running, 0) / 1e9 <= end]
        unended = [e for e in mine if not ended & set(e.state_updates.state_ts_ns) and e.task_info.type != TaskType.Value("ACTOR_TASK")]
        if (not unended and len(mine) == seen) or time.monotonic() > deadline:
            break
        seen = len(mine)
        time.sleep(interval)
    actors = {a["ActorID"]: a for a in state.actor_table(None).values()}
    reservations = []
    for event in mine:
        info, stamps = event.task_info, event.state_updates.state_ts_ns
        if info.type == TaskType.Value("ACTOR_TASK"):
            continue  # an actor task runs on what its actor reserved
        finish = max((stamps[s] for s in ended if s in stamps), default=0) / 1e9 or end
        if info.type == TaskType.Value("ACTOR_CREATION_TASK"):
            actor = actors.get(info.actor_id.hex(), {})
            finish = actor.get("EndTime", 0) / 1e3 or end
        resources = dict(info.required_resources)
        reservations.append(
            Reservation(info.name, event.state_updates.node_id.hex(), stamps[running] / 1e9, min(finish, end),
                        resources.get("CPU", 0.0), resources.get("GPU", 0.0))
        )
    return reservations
