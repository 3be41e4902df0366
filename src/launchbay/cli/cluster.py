"""``launchbay cluster up --local | status | down``: a multi-node Ray cluster on this machine.

``up`` starts a head (no CPUs of its own, as on real clusters) and worker raylets in a
process session of their own, with the Jobs API and dashboard on loopback only, and
records the address: ``launchbay submit`` and ``runtime=cluster`` then find it without
flags. ``down`` stops exactly that session's processes.
"""

from __future__ import annotations

import argparse
import sys

from launchbay.errors import LaunchbayError


def add_parser(sub) -> None:
    cluster = sub.add_parser("cluster", help="a local multi-node Ray cluster: up --local, status, down")
    actions = cluster.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="start a head and worker nodes on this machine")
    up.add_argument("--local", action="store_true", required=True, help="on this machine (the only kind launchbay starts itself)")
    up.add_argument("--workers", type=int, default=2, help="worker nodes (with --autoscale: at most this many; default 2)")
    up.add_argument("--cpus-per-worker", type=float, default=1.0, help="logical CPUs per worker (default 1)")
    up.add_argument("--gpus-per-worker", type=float, default=0.0, help="logical GPUs per GPU worker (default 0)")
    up.add_argument("--gpu-workers", type=int, default=None, help="how many workers carry the GPUs (default: all)")
    up.add_argument("--object-store-mb", type=int, default=256, help="object store per node (default 256)")
    up.add_argument("--head-cpus", type=float, default=0.0, help="CPUs of the head for tasks (default 0)")
    up.add_argument("--autoscale", action="store_true", help="no workers at first: Ray's autoscaler adds them on demand")
    up.add_argument("--idle-timeout", type=float, default=10.0, help="with --autoscale: seconds before an idle worker goes")
    up.set_defaults(func=cluster_up)
    actions.add_parser("status", help="the local cluster's addresses and nodes").set_defaults(func=cluster_status)
    actions.add_parser("down", help="stop every process of the local cluster").set_defaults(func=cluster_down)


def cluster_up(args: argparse.Namespace) -> None:
    from launchbay.cluster import local
    from launchbay.cluster.record import ClusterShape

    shape = ClusterShape(
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        gpus_per_worker=args.gpus_per_worker,
        gpu_workers=args.gpu_workers,
        object_store_mb=args.object_store_mb,
        head_cpus=args.head_cpus,
        autoscale=args.autoscale,
        idle_timeout_s=args.idle_timeout,
    )
    local.refuse_if_running()
    print("starting the local cluster…", file=sys.stderr)
    record = local.up(shape)
    print(f"local cluster ready in {record.ready_after_s} s", file=sys.stderr)
    show(local.status())


def cluster_status(args: argparse.Namespace) -> None:
    from launchbay.cluster import local

    show(local.status())


def show(status: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    record = status["record"]
    console = Console()
    state = record.state if status["running"] else "stopped (its supervisor is gone: launchbay cluster down cleans up)"
    console.print(f"state:      {state}")
    console.print(f"dashboard:  {record.dashboard_url}   (Jobs API: launchbay submit finds it)")
    console.print(f"address:    {record.gcs_address}   (runtime=cluster finds it)")
    console.print(f"storage:    {record.storage}   (shared by every node)")
    shape = record.shape
    if shape.autoscale:
        console.print(f"autoscale:  up to {shape.workers} worker(s), idle ones removed after {shape.idle_timeout_s:g} s")
    table = Table("node", "type", "CPU", "GPU")
    for node in sorted(status["nodes"], key=lambda n: (not n["head"], n["type"], n["node_id"])):
        table.add_row(node["node_id"][-12:], node["type"], f"{node['resources'].get('CPU', 0):g}", f"{node['resources'].get('GPU', 0):g}")
    if status["nodes"]:
        console.print(table)


def cluster_down(args: argparse.Namespace) -> None:
    from launchbay.cluster import local

    record, signalled = local.down()
    if record is None:
        raise LaunchbayError("no local cluster is recorded: nothing to stop")
    print(f"stopped the local cluster (supervisor pid {record.supervisor_pid}, {signalled} process(es)); nothing of it is left")
