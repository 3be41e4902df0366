"""The registry and scoring outputs on an object store: a local server speaking S3."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow.fs import FileSystem

import launchbay
from launchbay.data.synthetic import SyntheticConfig, generate
from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.storage import SUCCESS, Owner, files_under, staged_output


@pytest.fixture
def bucket(s3_server):
    """``uri(key)``: the URI of ``key`` in a new bucket of the local S3 server."""
    name = f"launchbay-{uuid.uuid4().hex[:8]}"
    filesystem, _ = FileSystem.from_uri(f"s3://{name}?{s3_server}")
    filesystem.create_dir(name)
    return lambda key: f"s3://{name}/{key}?{s3_server}"


def test_train_and_score_with_registry_and_output_on_s3(ray_session, in_tmp, bucket):
    registry = f"registry.path='{bucket('registry')}'"
    launchbay.run(["job=train", "data.rows=3000", registry])
    version = Registry(bucket("registry")).get("demo")
    assert version.load_model() is not None and version.uri.startswith("s3://")

    output = f"score.output='{bucket('scores/day1')}'"
    summary = launchbay.run(["job=score", registry, output, "batch.rows=2000", "batch.chunk_rows=500"])
    filesystem, path = FileSystem.from_uri(bucket("scores/day1"))
    files = files_under(filesystem, path)
    manifest = json.loads(filesystem.open_input_stream(f"{path}/{SUCCESS}").read())
    assert manifest["files"] == [f for f in files if f != SUCCESS] and len(manifest["files"]) == 4
    assert manifest["run_id"] == summary["run_id"] and (manifest["model"], manifest["version"]) == ("demo", 1)
    assert pq.read_table(path, filesystem=filesystem).num_rows == summary["scores"]["rows"] == 2000
    assert summary["scores"]["path"] == f"s3://{path}"

    launchbay.run(["job=score", registry, output, "batch.rows=500", "score.strategy=tasks"])  # through Ray Data
    assert pq.read_table(path, filesystem=filesystem).num_rows == 500  # replaced whole, no stale parts
    everything = files_under(filesystem, path.split("/")[0])
    assert not [f for f in everything if ".staging" in f]


def test_a_failed_run_keeps_the_committed_output_on_s3(ray_session, in_tmp, bucket):
    registry = f"registry.path='{bucket('registry')}'"
    output = f"score.output='{bucket('scores')}'"
    launchbay.run(["job=train", "data.rows=3000", registry])
    launchbay.run(["job=score", registry, output, "batch.rows=1000"])
    batch = generate(SyntheticConfig(rows=1000, chunk_rows=1000), 0)
    bad = batch.set_column(batch.schema.get_field_index("num_2"), "num_2", pa.array(["x"] * batch.num_rows))
    pq.write_table(bad, in_tmp / "bad.parquet")
    with pytest.raises(LaunchbayError, match="scoring failed, nothing was written to s3://"):
        launchbay.run(["job=score", registry, output, "data@batch=parquet", f"batch.path={in_tmp / 'bad.parquet'}"])
    filesystem, path = FileSystem.from_uri(bucket("scores"))
    assert pq.read_table(path, filesystem=filesystem).num_rows == 1000
    assert not [f for f in files_under(filesystem, path.split("/")[0]) if ".staging" in f]


def test_drift_command_reads_from_s3(tmp_path, bucket):
    rng = np.random.default_rng(0)
    for key, shift in (("reference.parquet", 0.0), ("current/part-0.parquet", 1.0)):
        filesystem, path = FileSystem.from_uri(bucket(key))
        pq.write_table(pa.table({"x": rng.normal(shift, 1.0, 2000)}), path, filesystem=filesystem)
    done = subprocess.run(
        [sys.executable, "-m", "launchbay", "drift", bucket("reference.parquet"), bucket("current"), "--fail-on-drift"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "dataset: drift" in done.stdout and "Drift of current against reference.parquet" in (tmp_path / "drift-report.html").read_text()


def test_a_commit_that_finds_another_runs_commit_claim_fails_and_keeps_the_output(bucket):
    filesystem, path = FileSystem.from_uri(bucket("scores"))
    with staged_output(filesystem, path, run_id="first") as staging:
        pq.write_table(pa.table({"x": [1]}), f"{staging}/part-0.parquet", filesystem=filesystem)
    parent = path.rsplit("/", 1)[0]
    with filesystem.open_output_stream(f"{parent}/.scores.commit-{'0' * 20}-00000000") as out:
        out.write(Owner.me("other", 600).to_json().encode())  # an older claim of a live owner: another run is committing
    with pytest.raises(LaunchbayError, match=r"scores was not committed: another run is committing it"):
        with staged_output(filesystem, path, run_id="second") as staging:
            pq.write_table(pa.table({"x": [2, 3]}), f"{staging}/part-0.parquet", filesystem=filesystem)
    assert pq.read_table(path, filesystem=filesystem).column("x").to_pylist() == [1]
    assert json.loads(filesystem.open_input_stream(f"{path}/{SUCCESS}").read())["run_id"] == "first"
    assert [f for f in files_under(filesystem, parent) if not f.startswith("scores/")] == [f".scores.commit-{'0' * 20}-00000000"]
