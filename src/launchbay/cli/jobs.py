"""``launchbay submit`` and ``launchbay jobs``: run jobs on a Ray cluster through its Jobs API.

``submit`` sends ``launchbay run <overrides> runtime=cluster runtime.address=auto`` as the
entrypoint of a Ray job (see ``launchbay.submission`` for what travels with it), then
follows its logs until it ends. The address is the cluster's dashboard
(``http://head:8265``): ``--address``, else ``$RAY_ADDRESS``, else the local cluster
that ``launchbay cluster up --local`` started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from launchbay.errors import LaunchbayError

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def add_parser(sub) -> None:
    submit = sub.add_parser("submit", help="run a job on a Ray cluster: launchbay submit [options] -- job=pipeline ...")
    address(submit)
    submit.add_argument("--working-dir", default=".", help="uploaded with the job (max 100 MiB; default: .)")
    submit.add_argument("--storage", default=None,
                        help="shared storage for the registry, scores and results (s3://bucket/prefix or a shared folder; "
                             "default: $LAUNCHBAY_STORAGE, or the local cluster's)")
    submit.add_argument("--install-plugins", action="store_true",
                        help="pip-install the plugin packages the config selects for the job (default: check they are there)")
    submit.add_argument("--pip", action="append", default=[], help="extra pip requirement for the job (repeatable)")
    submit.add_argument("--num-cpus", type=float, default=None, help="CPUs reserved for the entrypoint")
    submit.add_argument("--num-gpus", type=float, default=None, help="GPUs reserved for the entrypoint")
    submit.add_argument("--id", default=None, help="submission id (default: generated); resubmitting an id is refused")
    submit.add_argument("--no-wait", action="store_true", help="return after submitting instead of following the logs")
    submit.add_argument("--debug", action="store_true", help="the job prints an error's traceback too")
    submit.add_argument("overrides", nargs="*", help="Hydra overrides, as for launchbay run")
    submit.set_defaults(func=submit_job)

    jobs = sub.add_parser("jobs", help="jobs on a Ray cluster").add_subparsers(dest="action", required=True)
    listing = jobs.add_parser("list", help="submitted jobs and their status")
    address(listing)
    listing.set_defaults(func=list_jobs)
    for action, func, text in (("logs", job_logs, "print a job's logs"), ("stop", stop_job, "stop a running job"),
                               ("status", job_status, "print a job's status"),
                               ("wait", wait_job, "wait until a job ends; exit 0 only if it succeeded"),
                               ("result", job_result, "fetch a finished job's summary.json and report")):
        p = jobs.add_parser(action, help=text)
        address(p)
        p.add_argument("id")
        if action == "wait":
            p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds (exit 2)")
        if action == "result":
            p.add_argument("--to", default="results", help="folder to fetch into: <to>/<id>/ (default: results)")
        p.set_defaults(func=func)


def address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=None, help="dashboard address, e.g. http://head:8265 (default: $RAY_ADDRESS, "
                                                        "or the local cluster)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="HTTP header for every Jobs API request, e.g. for an authenticating proxy (repeatable)")


def resolve_address(given: str | None) -> str:
    """``--address``, else ``$RAY_ADDRESS``, else the running local cluster's dashboard."""
    from launchbay.cluster.record import running_record

    if given or os.environ.get("RAY_ADDRESS"):
        return given or os.environ["RAY_ADDRESS"]
    record = running_record()
    if record is None or record.dashboard_url is None:
        raise LaunchbayError("no cluster address: pass --address http://HEAD:8265, set RAY_ADDRESS, "
                             "or start a local cluster with launchbay cluster up --local")
    return record.dashboard_url


def client(args: argparse.Namespace):
    from ray.job_submission import JobSubmissionClient

    args.address = resolve_address(args.address)
    malformed = [h for h in args.header if "=" not in h]
    if malformed:
        raise LaunchbayError(f"--header {malformed[0]}: expected NAME=VALUE")
    headers = dict(h.split("=", 1) for h in args.header) or None
    try:
        return JobSubmissionClient(args.address, headers=headers)
    except Exception as exc:
        raise LaunchbayError(f"cannot reach the Ray Jobs API at {args.address}: {exc}") from exc


def local_cluster_at(address: str):
    """The running local cluster's record if ``address`` is its dashboard, else None."""
    from launchbay.cluster.record import running_record

    record = running_record()
    return record if record is not None and record.dashboard_url == address.rstrip("/") else None


def submit_job(args: argparse.Namespace) -> None:
    from launchbay.submission import new_id, plan

    jobs = client(args)
    local = local_cluster_at(args.address)
    submission = plan(
        args.overrides,
        submission_id=args.id or new_id(),
        working_dir=args.working_dir,
        storage=args.storage or os.environ.get("LAUNCHBAY_STORAGE") or (local.storage if local else None),
        install_plugins=args.install_plugins,
        pip=args.pip,
        autoscaling=bool(local and local.shape.autoscale),
    )
    try:
        job_id = jobs.submit_job(
            entrypoint=submission.entrypoint(debug=args.debug),
            runtime_env=submission.runtime_env,
            submission_id=submission.submission_id,
            entrypoint_num_cpus=args.num_cpus,
            entrypoint_num_gpus=args.num_gpus,
            metadata=submission.metadata(),
        )
    except Exception as exc:
        raise LaunchbayError(f"the cluster refused the job: {str(exc).splitlines()[0]}") from exc
    finally:
        submission.discard()
    print(f"submitted {job_id} to {args.address}", file=sys.stderr)
    if not args.no_wait:
        status = follow(jobs, job_id)
        print(f"{job_id}: {status}", file=sys.stderr)
        if status != "SUCCEEDED":
            raise SystemExit(1)


def follow(jobs, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None, echo: bool = True) -> str:
    """Print the job's logs as they grow until it ends; returns its final status (or the
    current one after ``timeout_s``)."""
    shown = 0
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        status = str(jobs.get_job_status(job_id).value)
        if echo:
            logs = jobs.get_job_logs(job_id)
            sys.stdout.write(logs[shown:])
            sys.stdout.flush()
            shown = len(logs)
        if status in TERMINAL or (deadline is not None and time.monotonic() > deadline):
            return status
        time.sleep(poll_s)


def info(jobs, job_id: str):
    try:
        return jobs.get_job_info(job_id)
    except Exception as exc:
        raise LaunchbayError(f"no job '{job_id}' on the cluster ({str(exc).splitlines()[0]})") from exc


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
    print(info(client(args), args.id).status.value)


def wait_job(args: argparse.Namespace) -> None:
    """Exit 0 if the job succeeded, 1 if it failed or was stopped, 2 if it still runs after ``--timeout``."""
    jobs = client(args)
    info(jobs, args.id)
    status = follow(jobs, args.id, timeout_s=args.timeout, echo=False)
    print(f"{args.id}: {status}", file=sys.stderr)
    if status != "SUCCEEDED":
        raise SystemExit(1 if status in TERMINAL else 2)


def job_result(args: argparse.Namespace) -> None:
    from launchbay.results import fetch

    job = info(client(args), args.id)
    status = str(job.status.value)
    if status != "SUCCEEDED":
        raise LaunchbayError(f"job {args.id} is {status}: it has no results (launchbay jobs logs {args.id} says why)")
    source = (job.metadata or {}).get("launchbay.results")
    if not source:
        raise LaunchbayError(f"job {args.id} was submitted without shared storage: its results stayed on the cluster "
                             "(submit with --storage)")
    fetched = fetch(source, os.path.join(args.to, args.id))
    for path in fetched:
        print(path)
    summary = next((p for p in fetched if p.name == "summary.json"), None)
    if summary is not None:
        print(headline(json.loads(summary.read_text())), file=sys.stderr)


def headline(summary: dict) -> str:
    """One line of a run's summary: the job, its wall time, the model, rows scored, drift."""
    parts = [f"{summary.get('job')} run {summary.get('run_id')} in {summary.get('wall_s')} s"]
    if model := summary.get("model"):
        parts.append(f"model {model.get('name')} v{model.get('version')}")
    if scores := summary.get("scores"):
        parts.append(f"{scores.get('rows', 0):,} rows scored")
    if drift := summary.get("drift"):
        parts.append(f"{len(drift.get('drifted_features', []))} feature(s) drifted")
    return ", ".join(parts)


def stop_job(args: argparse.Namespace) -> None:
    stopped = client(args).stop_job(args.id)
    print(f"{args.id}: {'stop requested' if stopped else 'not running'}")
