"""Replaying a trace on Ray's real autoscaler, on this machine and time-compressed.

A local cluster (``launchbay.cluster``) is started in a home of its own: for a fixed policy
its workers are all up before the first job; for an autoscaling one only ``min_workers``,
and Ray's autoscaler adds and removes the rest. Every node waits its node type's boot time
(compressed) before it starts, as a cloud machine boots before Ray is up on it. Each job
of the trace becomes its tasks, submitted at the job's arrival: real Ray tasks that hold
the job's logical CPUs and GPUs for their duration. Node lifetimes come from the node
provider's launch log, job latencies from the tasks' own clocks. Times are reported in
trace seconds (wall seconds × ``compression``).

The nodes up before the first job (a fixed cluster's, ``min_workers``) get a warm worker
pool, as nodes that have run a while have, and trace time 0 is set so that they were
requested at 0 and up after their boot: the replay's own start-up is not counted.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from launchbay.cluster import local
from launchbay.cluster.autoscaling import LAUNCHES
from launchbay.cluster.record import ClusterShape
from launchbay.cost.model import AutoscalingPolicy, JobSpan, NodeSpan, Outcome, Policy, PriceTable, Trace, worker_types
from launchbay.errors import LaunchbayError

READY_WINDOW_S = 15.0  # wall seconds: a first task this soon after a node joined had waited for it


def shape_for(policy: Policy, prices: PriceTable, compression: float) -> ClusterShape:
    """The local cluster that plays ``policy``: its node types' logical CPUs and GPUs, their limits, compressed
    times. The local cluster has a CPU and a GPU worker type of equal CPUs (``ClusterShape``): a policy it
    cannot hold is a one-line error."""
    names = local_types(policy, prices)
    counts = {kind: worker_types(policy)[name][1] for kind, name in names.items()}
    nodes = {kind: prices.node(name) for kind, name in names.items()}
    if len({node.cpus for node in nodes.values()}) > 1 or (len(names) > 1 and isinstance(policy, AutoscalingPolicy) and policy.min_workers):
        raise LaunchbayError(f"cost: policy '{policy.name}' cannot be replayed: the local cluster's CPU and GPU workers have "
                             "the same CPUs, and min_workers only on one type")
    first = next(iter(nodes.values()))
    shape = ClusterShape(workers=sum(counts.values()), cpus_per_worker=first.cpus, gpus_per_worker=nodes["gpu"].gpus if "gpu" in nodes else 0.0,
                         gpu_workers=counts.get("gpu", 0), object_store_mb=100, boot_s=(nodes.get("cpu") or first).boot_s / compression,
                         gpu_boot_s=nodes["gpu"].boot_s / compression if "gpu" in nodes else None)
    if isinstance(policy, AutoscalingPolicy):
        return replace(shape, autoscale=True, min_workers=policy.min_workers,
                       upscaling_speed=policy.upscaling_speed, idle_timeout_s=max(policy.idle_timeout_s / compression, 0.1))
    return shape


def local_types(policy: Policy, prices: PriceTable) -> dict[str, str]:
    """The price table's type that each worker type of the local cluster (``cpu``, ``gpu``) plays; a one-line
    error for more than one type of either kind."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for name in worker_types(policy):
        kinds["gpu" if prices.node(name).gpus > 0 else "cpu"].append(name)
    if any(len(names) > 1 for names in kinds.values()):
        raise LaunchbayError(f"cost: policy '{policy.name}' cannot be replayed: the local cluster has one CPU and one GPU worker type")
    return {kind: names[0] for kind, names in sorted(kinds.items())}


@contextmanager
def own_home() -> Iterator[Path]:
    """A launchbay home of its own for the replay's cluster, so that a user's local cluster is left alone."""
    before = os.environ.get("LAUNCHBAY_HOME")
    with tempfile.TemporaryDirectory(prefix="launchbay-replay-") as home:
        os.environ["LAUNCHBAY_HOME"] = home
        try:
            yield Path(home)
        finally:
            if before is None:
                os.environ.pop("LAUNCHBAY_HOME", None)
            else:
                os.environ["LAUNCHBAY_HOME"] = before


def replay(trace: Trace, policy: Policy, prices: PriceTable, *, compression: float) -> Outcome:
    """Play ``trace`` under ``policy`` on a real local cluster; returns what was measured."""
    import ray

    if ray.is_initialized():
        raise LaunchbayError("a replay connects to a cluster of its own: call it where Ray is not initialised")
    shape = shape_for(policy, prices, compression)
    with own_home():
        record = local.up(shape)
        try:
            ray.init(address=record.gcs_address, logging_level=logging.ERROR, log_to_driver=False)
            warm_up()
            launches = Path(str(record.temp_root)) / LAUNCHES
            early = [e for e in read_log(launches) if "requested" in e]  # up before the jobs play: min_workers, a fixed cluster
            playing = time.time()
            # trace time 0 is when the early nodes were requested, less the wait for the replay to start
            origin = playing - float(np.median([e["up"] - e["requested"] for e in early])) if early else playing
            tasks = play(trace, compression, origin)
            end = origin + max(trace.horizon_s, max((t[2] for runs in tasks.values() for t in runs), default=origin) - origin) / compression
            time.sleep(max(0.0, end - time.time()))
            events = read_log(launches)
        finally:
            ray.shutdown()
            local.down()
    names = local_types(policy, prices)
    boots = {kind: prices.node(name).boot_s for kind, name in names.items()}
    return measured(trace, policy, tasks, events, origin, end, compression, playing, names, boots)


def warm_up() -> None:
    """Start a worker for every CPU of the nodes that are up, as a node that has run for a
    while has them (starting one takes a second here, minutes of compressed trace time)."""
    import ray

    cpus = int(sum(node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]))
    ray.get([ray.remote(hold).options(num_cpus=1).remote(1.0) for _ in range(cpus)])


def hold(seconds: float) -> tuple[str, float, float]:
    """A trace task: hold its resources for ``seconds``; returns (node id, start, end)."""
    import ray

    start = time.time()
    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id(), start, time.time()


def play(trace: Trace, compression: float, origin: float) -> dict[int, list[tuple[str, float, float]]]:
    """Submit each job's tasks at its (compressed) arrival after ``origin``; returns each job's task runs."""
    import ray

    task = ray.remote(hold)
    jobs = sorted(enumerate(trace.jobs), key=lambda j: j[1].arrival_s)
    pending: dict = {}
    runs: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    next_job = 0
    while next_job < len(jobs) or pending:
        now = time.time()
        while next_job < len(jobs) and origin + jobs[next_job][1].arrival_s / compression <= now:
            index, job = jobs[next_job]
            for _ in range(job.tasks):
                pending[task.options(num_cpus=job.cpus, num_gpus=job.gpus).remote(job.task_s / compression)] = index
            next_job += 1
        wait = origin + jobs[next_job][1].arrival_s / compression - now if next_job < len(jobs) else 1.0
        if not pending:
            time.sleep(max(0.0, wait))
            continue
        done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=max(0.01, min(wait, 1.0)))
        for ref in done:
            runs[pending.pop(ref)].append(ray.get(ref))
    return runs


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def measured(
    trace: Trace, policy: Policy, tasks: dict, events: list[dict], origin: float, end: float, compression: float, playing: float,
    names: dict[str, str], boots: dict[str, float],
) -> Outcome:
    """The replay's Outcome in trace seconds; its ``boot_s`` is the median time from a node's
    request to its first task for the nodes that work waited for (launched once the jobs
    played), else from its request to its raylet being up, and its ``boot_overhead_s`` the median
    of that less the node's own boot (``boots``, per local type; ``names``: the price table's type of each)."""

    def at(t: float) -> float:
        return (t - origin) * compression

    busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    reserved: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # CPU- and GPU-seconds per node
    for job, runs in tasks.items():
        for node, start, stop in runs:
            busy[node].append((start, stop))
            reserved[node][0] += (stop - start) * compression * trace.jobs[job].cpus
            reserved[node][1] += (stop - start) * compression * trace.jobs[job].gpus
    gone = {e["node"]: e["terminated"] for e in events if "terminated" in e}
    # the nodes up before the jobs played were requested at trace time 0 and up after their boot
    for e in events:
        if "requested" in e and e["requested"] < playing:
            e["requested"], e["up"] = origin, origin + (e["up"] - e["requested"])
    # a node that work waited for is ready when it runs its first task (Ray and its workers have started)
    launched = [e for e in events if "requested" in e]
    ready = [(min(busy[e["node"]])[0] - e["requested"], e.get("type", "")) for e in launched
             if e["requested"] > origin and busy.get(e["node"]) and min(busy[e["node"]])[0] - e["up"] < READY_WINDOW_S]
    ready = ready or [(e["up"] - e["requested"], e.get("type", "")) for e in launched]
    nodes = [
        NodeSpan(names.get(e.get("type", ""), policy.node_type), at(e["requested"]), at(e["up"]), at(gone.get(e["node"], end)),
                 busy_s=covered(busy.get(e["node"], [])) * compression, spot=policy.spot,
                 cpu_s=reserved[e["node"]][0], gpu_s=reserved[e["node"]][1])
        for e in events if "requested" in e
    ]
    jobs = [
        JobSpan(trace.jobs[i].arrival_s, at(min(r[1] for r in runs)), at(max(r[2] for r in runs)))
        for i, runs in sorted(tasks.items())
    ]
    boot = float(np.median([r for r, _ in ready])) * compression if ready else None
    overhead = float(np.median([r * compression - boots.get(kind, 0.0) for r, kind in ready])) if ready else None
    return Outcome(trace.name, policy.name, max(trace.horizon_s, at(end)), nodes, jobs, source="measured", boot_s=boot, boot_overhead_s=overhead)


def covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``intervals``."""
    total, reach = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > reach:
            total += stop - max(start, reach)
            reach = stop
    return total
