"""``launchbay submit`` and ``launchbay jobs``: run jobs on a Ray cluster through its Jobs API.

``submit`` sends ``launchbay run <overrides> runtime=cluster runtime.address=auto`` as the
entrypoint of a Ray job, with the current directory as its working dir (your own config
dir and plugin modules travel with it), then follows its logs until it ends. The address
is the cluster's dashboard (``http://head:8265``), or ``$RAY_ADDRESS``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from launchbay.errors import LaunchbayError

EXCLUDES = [".git", ".venv", "runs", ".launchbay", "__pycache__", "*.parquet"]
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def add_parser(sub) -> None:
    submit = sub.add_parser("submit", help="run a job on a Ray cluster: launchbay submit [options] -- job=pipeline ...")
    address(submit)
    submit.add_argument("--working-dir", default=".", help="uploaded with the job (max 100 MiB; default: .)")
    submit.add_argument("--pip", action="append", default=[], help="extra pip requirement for the job (repeatable)")
    submit.add_argument("--num-cpus", type=float, default=None, help="CPUs reserved for the entrypoint")
    submit.add_argument("--num-gpus", type=float, default=None, help="GPUs reserved for the entrypoint")
    submit.add_argument("--id", default=None, help="submission id (default: generated); resubmitting an id is refused")
    submit.add_argument("--no-wait", action="store_true", help="return after submitting instead of following the logs")
    submit.add_argument("overrides", nargs="*", help="Hydra overrides, as for launchbay run")
    submit.set_defaults(func=submit_job)

    jobs = sub.add_parser("jobs", help="jobs on a Ray cluster").add_subparsers(dest="action", required=True)
    listing = jobs.add_parser("list", help="submitted jobs and their status")
    address(listing)
    listing.set_defaults(func=list_jobs)
    for action, func, text in (("logs", job_logs, "print a job's logs"), ("stop", stop_job, "stop a running job"),
                               ("status", job_status, "print a job's status")):
        p = jobs.add_parser(action, help=text)
        address(p)
        p.add_argument("id")
        p.set_defaults(func=func)


def address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="dashboard address, e.g. http://head:8265")


def client(args: argparse.Namespace):
    from ray.job_submission import JobSubmissionClient

    if not args.address:
        raise LaunchbayError("no cluster address: pass --address http://HEAD:8265 or set RAY_ADDRESS")
    try:
        return JobSubmissionClient(args.address)
    except Exception as exc:
        raise LaunchbayError(f"cannot reach the Ray Jobs API at {args.address}: {exc}") from exc


def entrypoint(overrides: list[str]) -> str:
    """The command the cluster runs."""
    return shlex.join(["launchbay", "run", *overrides, "runtime=cluster", "runtime.address=auto"])


def submit_job(args: argparse.Namespace) -> None:
    jobs = client(args)
    runtime_env = {"working_dir": args.working_dir, "excludes": EXCLUDES}
    if args.pip:
        runtime_env["pip"] = args.pip
    try:
        job_id = jobs.submit_job(
            entrypoint=entrypoint(args.overrides),
            runtime_env=runtime_env,
            submission_id=args.id,
            entrypoint_num_cpus=args.num_cpus,
            entrypoint_num_gpus=args.num_gpus,
            metadata={"launchbay": " ".join(args.overrides)},
        )
    except Exception as exc:
        raise LaunchbayError(f"the cluster refused the job: {str(exc).splitlines()[0]}") from exc
    print(f"submitted {job_id} to {args.address}", file=sys.stderr)
    if not args.no_wait:
        status = follow(jobs, job_id)
        print(f"{job_id}: {status}", file=sys.stderr)
        if status != "SUCCEEDED":
            raise SystemExit(1)


def follow(jobs, job_id: str, poll_s: float = 1.0) -> str:
    """Print the job's logs as they grow until it ends; returns its final status."""
    shown = 0
    while True:
        status = str(jobs.get_job_status(job_id).value)
        logs = jobs.get_job_logs(job_id)
        sys.stdout.write(logs[shown:])
        sys.stdout.flush()
        shown = len(logs)
        if status in TERMINAL:
            return status
        time.sleep(poll_s)


def list_jobs(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("submission id", "status", "started", "entrypoint")
    for job in sorted(client(args).list_jobs(), key=lambda j: j.start_time or 0):
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((job.start_time or 0) / 1000))
        table.add_row(job.submission_id or job.job_id or "", str(job.status.value), started, job.entrypoint)
    Console().print(table)


def job_logs(args: argparse.Namespace) -> None:
    print(client(args).get_job_logs(args.id), end="")


def job_status(args: argparse.Namespace) -> None:
    print(client(args).get_job_status(args.id).value)


def stop_job(args: argparse.Namespace) -> None:
    stopped = client(args).stop_job(args.id)
    print(f"{args.id}: {'stop requested' if stopped else 'not running'}")
