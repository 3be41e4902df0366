"""Commits to an object store (a local S3 server) that recover from a run killed mid-commit: its
claim names its owner and a lease, and a later commit takes a stale claim over with one warning
line; of two later runs racing for it, exactly one commits. The killed runs are real processes
(tests/commit_child.py) stopped by SIGKILL at a point the test holds them at."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow.fs import FileSystem, FileType

from launchbay.errors import LaunchbayError
from launchbay.storage import SUCCESS, Owner, files_under, staged_output

CHILD = Path(__file__).parent / "commit_child.py"


@pytest.fixture
def output(s3_server) -> str:
    """The URI of an output folder in a new bucket of the local S3 server."""
    name = f"launchbay-{uuid.uuid4().hex[:8]}"
    filesystem, _ = FileSystem.from_uri(f"s3://{name}?{s3_server}")
    filesystem.create_dir(name)
    return f"s3://{name}/scores?{s3_server}"


def commit(uri: str, run_id: str, rows: int) -> None:
    filesystem, path = FileSystem.from_uri(uri)
    with staged_output(filesystem, path, run_id=run_id) as staging:
        pq.write_table(pa.table({"run": [run_id] * rows}), f"{staging}/part-0.parquet", filesystem=filesystem)


def claims(uri: str) -> list[str]:
    filesystem, path = FileSystem.from_uri(uri)
    return [name for name in files_under(filesystem, path.rsplit("/", 1)[0]) if name.startswith(".scores.commit-")]


def committed(uri: str) -> tuple[str, list[str]]:
    """The run the output's ``_SUCCESS`` names, and the runs of its rows."""
    filesystem, path = FileSystem.from_uri(uri)
    success = json.loads(filesystem.open_input_stream(f"{path}/{SUCCESS}").read())
    return success["run_id"], pq.read_table(path, filesystem=filesystem).column("run").to_pylist()


def child(uri: str, run_id: str, rows: int) -> subprocess.Popen:
    """A child committing ``rows`` rows, started and ready (waiting for its go)."""
    process = subprocess.Popen([sys.executable, str(CHILD), uri, run_id, str(rows)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    return process


def killed_mid_commit(uri: str) -> None:
    """A child that holds the commit claim, the old output deleted and its own copied in, SIGKILLed there."""
    process = child(uri, "killed", 5)
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "committing\n"
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def test_a_run_killed_mid_commit_leaves_a_claim_the_next_commit_takes_over(output, capfd):
    commit(output, "first", 2)
    killed_mid_commit(output)
    filesystem, path = FileSystem.from_uri(output)
    assert len(claims(output)) == 1 and filesystem.get_file_info(f"{path}/{SUCCESS}").type == FileType.NotFound  # the claim stays, no _SUCCESS
    capfd.readouterr()
    commit(output, "next", 3)
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "took over the commit of s3://" in warnings[0] and "from run killed" in warnings[0] and "is gone" in warnings[0]
    assert committed(output) == ("next", ["next"] * 3)
    assert claims(output) == []


def test_two_runs_racing_for_a_stale_claim_commit_once(output):
    killed_mid_commit(output)
    racers = [child(output, f"racer{i}", 4) for i in range(2)]
    for racer in racers:
        racer.stdin.write("go\n")
        racer.stdin.flush()
    first_lines = [racer.stdout.readline() for racer in racers]
    assert sorted(first_lines) == ["", "committing\n"]  # one holds the claim; the other found it live and failed
    winner, loser = racers if first_lines[0] else racers[::-1]
    assert loser.wait(timeout=60) == 1
    winner.stdin.write("done\n")
    winner.stdin.flush()
    assert winner.wait(timeout=60) == 0
    run = f"racer{racers.index(winner)}"
    assert committed(output) == (run, [run] * 4)
    assert claims(output) == []


def test_a_claim_whose_owner_runs_elsewhere_counts_until_its_lease_runs_out(output, capfd):
    filesystem, path = FileSystem.from_uri(output)
    parent = path.rsplit("/", 1)[0]
    commit(output, "first", 1)
    owner = Owner("another-host", 1, None, "remote", "2026-01-01T00:00:00+00:00", time.time() + 600)
    with filesystem.open_output_stream(f"{parent}/.scores.commit-{time.time_ns() - 10**9:020d}-00000000") as out:
        out.write(owner.to_json().encode())
    with pytest.raises(LaunchbayError, match="another run is committing it"):
        commit(output, "second", 2)
    assert committed(output) == ("first", ["first"])

    with filesystem.open_output_stream(f"{parent}/{claims(output)[0]}") as out:
        out.write(Owner(**{**json.loads(owner.to_json()), "expires": time.time() - 1}).to_json().encode())
    capfd.readouterr()
    commit(output, "third", 2)
    err = capfd.readouterr().err
    assert "from run remote (pid 1 on another-host" in err and "its lease ran out" in err
    assert committed(output) == ("third", ["third"] * 2)


def test_a_long_commit_renews_its_lease(output, monkeypatch):
    monkeypatch.setenv("LAUNCHBAY_COMMIT_LEASE_S", "0.3")
    process = child(output, "slow", 1)
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "committing\n"
    filesystem, path = FileSystem.from_uri(output)
    claim = f"{path.rsplit('/', 1)[0]}/{claims(output)[0]}"
    first = json.loads(filesystem.open_input_stream(claim).read())["expires"]
    time.sleep(0.5)
    assert json.loads(filesystem.open_input_stream(claim).read())["expires"] > first
    process.stdin.write("done\n")
    process.stdin.flush()
    assert process.wait(timeout=60) == 0 and committed(output) == ("slow", ["slow"])


def test_a_claim_without_an_owner_leases_from_its_stamp(output, monkeypatch):
    """A claim an older launchbay wrote (no owner in it) counts for a lease from when it was made."""
    filesystem, path = FileSystem.from_uri(output)
    parent = path.rsplit("/", 1)[0]
    monkeypatch.setenv("LAUNCHBAY_COMMIT_LEASE_S", "5")

    def legacy_claim(age_s: float) -> str:
        claim = f"{parent}/.scores.commit-{time.time_ns() - int(age_s * 1e9):020d}-00000000"
        with filesystem.open_output_stream(claim) as out:
            out.write(b"{}")
        return claim

    recent = legacy_claim(1)
    with pytest.raises(LaunchbayError, match="another run is committing it"):
        commit(output, "blocked", 1)
    filesystem.delete_file(recent)
    legacy_claim(10)
    commit(output, "after", 1)
    assert committed(output) == ("after", ["after"]) and claims(output) == []
