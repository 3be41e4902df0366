"""One line for every failure, naming the file, row, column or key; no traceback unless asked for."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from in_process import launchbay_main

import launchbay
from launchbay.data.synthetic import SyntheticConfig, generate
from launchbay.errors import LaunchbayError, one_line, root_cause

BROKEN_ROW = 7000  # past the first 1 MB block, which the driver's check reads


def launchbay_cli(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **env})


def error_line(out: subprocess.CompletedProcess) -> str:
    """The one line a failed command printed (Ray's own ``(raylet)`` notices about its workers aside)."""
    lines = [line for line in out.stderr.splitlines() if line.strip() and "(raylet)" not in line]
    assert out.returncode == 1 and len(lines) == 1 and lines[0].startswith("launchbay: error: "), out.stderr
    assert "Traceback" not in out.stderr and "\x1b" not in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def broken_csv(tmp_path_factory):
    """A CSV of 8000 synthetic rows whose row 7000 has one field too many."""
    path = tmp_path_factory.mktemp("csv") / "broken.csv"
    pcsv.write_csv(generate(SyntheticConfig(rows=8000, chunk_rows=8000), 0), path)
    lines = path.read_text().splitlines()
    lines[BROKEN_ROW] += ",1"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_worker_errors_read_as_their_cause(ray_session):
    def arrow_fails():
        raise pa.ArrowInvalid("CSV parse error: Row #3: Expected 2 columns, got 3")

    def launchbay_fails():
        try:
            arrow_fails()
        except pa.ArrowInvalid as exc:
            raise LaunchbayError(f"data.csv: {exc}") from exc

    for task, expected in ((arrow_fails, "ArrowInvalid: CSV parse error: Row #3"), (launchbay_fails, "data.csv: CSV parse error: Row #3")):
        with pytest.raises(ray_session.exceptions.RayTaskError) as raised:
            ray_session.get(ray_session.remote(task).remote())
        assert "\x1b[" in str(raised.value) and "ray::" in str(raised.value)  # what Ray gives
        assert root_cause(raised.value) == f"{expected}: Expected 2 columns, got 3"


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_training_on_a_csv_broken_deep_in_is_one_line(broken_csv, tmp_path):
    line = error_line(launchbay_cli("run", "job=train", "data=csv", f"data.path={broken_csv}", cwd=tmp_path))
    assert line.startswith(f"launchbay: error: data: reading the training data failed: {broken_csv}: CSV parse error: Row #{BROKEN_ROW + 1}: ")
    assert "Expected 13 columns, got 14" in line


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_scoring_a_csv_broken_deep_in_is_one_line(ray_session, broken_csv, in_tmp):
    launchbay.run(["job=train", "data.rows=2000"])
    line = error_line(launchbay_cli("run", "job=score", "data@batch=csv", f"batch.path={broken_csv}", cwd=in_tmp))
    assert "scoring failed, nothing was written to " in line and f"{broken_csv}: CSV parse error: Row #{BROKEN_ROW + 1}: " in line


def test_training_data_without_rows_names_its_path(ray_session, in_tmp):
    table = generate(SyntheticConfig(rows=10, chunk_rows=10), 0)
    pcsv.write_csv(table.slice(0, 0), in_tmp / "header.csv")
    pq.write_table(table.slice(0, 0), in_tmp / "empty.parquet")
    for source, path in (("csv", in_tmp / "header.csv"), ("parquet", in_tmp / "empty.parquet")):
        with pytest.raises(LaunchbayError, match=rf"^data: the training data \({path}\) has no rows$"):
            launchbay.run(["job=train", f"data={source}", f"data.path={path}"])


def test_infinite_values_and_too_few_rows_are_named_before_fitting(ray_session, in_tmp):
    table = generate(SyntheticConfig(rows=500, chunk_rows=500), 0)
    values = table.column("num_1").to_numpy().copy()
    values[[5, 7]] = [np.inf, -np.inf]
    pq.write_table(table.set_column(2, "num_1", pa.array(values)), in_tmp / "inf.parquet")
    pq.write_table(table.slice(0, 1), in_tmp / "one.parquet")
    with pytest.raises(LaunchbayError, match=r"^data: the model cannot fit the values in column 'num_1': ±inf in 2 of 500 rows of the training data: drop"):
        launchbay.run(["job=train", "data=parquet", f"data.path={in_tmp / 'inf.parquet'}"])
    with pytest.raises(LaunchbayError, match=r"^data: the training data has 1 row\(s\); training needs at least 2 \(job.holdout=0.2 leaves 0 to train on"):
        launchbay.run(["job=train", "data=parquet", f"data.path={in_tmp / 'one.parquet'}"])


def test_a_registry_path_that_is_a_file_is_refused_before_training(ray_session, in_tmp, monkeypatch):
    from launchbay.training import fit

    (in_tmp / "registry").write_text("")
    monkeypatch.setattr(fit, "read_table", lambda *args: pytest.fail("read the training data"))
    with pytest.raises(LaunchbayError, match=rf"^registry.path: {in_tmp / 'registry'} is a file; the registry is a directory$"):
        launchbay.run(["job=train", f"registry.path={in_tmp / 'registry'}"])


def test_broken_registry_records_are_named_and_listed(ray_session, in_tmp):
    for _ in range(3):
        launchbay.run(["job=train", "data.rows=1000"])
    root = in_tmp / ".launchbay/registry/demo"
    (root / "3" / "meta.json").write_text('{"name": ')
    (root / "2" / "meta.json").write_text('{"name": "demo"}')
    listed = launchbay_main("models", "list", cwd=in_tmp)
    assert listed.returncode == 0, listed.stderr
    assert "1 (+2 broken)" in listed.stdout
    assert f"demo v2 (broken: {root}/2/meta.json is incomplete: it has no version, sha256)" in listed.stdout
    assert f"demo v3 (broken: {root}/3/meta.json is not valid JSON: Expecting value: line 1" in listed.stdout
    shown = error_line(launchbay_main("models", "show", "demo", cwd=in_tmp))
    assert shown.startswith(f"launchbay: error: registry: {root}/3/meta.json is not valid JSON: ")
    (root / "1" / "meta.json").write_text("[]")
    nothing = launchbay_cli("models", "list", cwd=in_tmp)
    assert f"demo v1 (broken: {root}/1/meta.json is not a JSON object)" in nothing.stdout
    assert error_line(nothing) == (
        f"launchbay: error: registry: no version in {in_tmp}/.launchbay/registry is readable: {root}/1/meta.json is not a JSON object; "
        f"{root}/2/meta.json is incomplete: it has no version, sha256; {root}/3/meta.json is not valid JSON: Expecting value: line 1 column 10 (char 9)"
    )


def test_error_lines_escape_what_does_not_print():
    raw = LaunchbayError("part.parquet: don't know what type: \x0f\nDeserializing page header failed.\x00\x1b[1m")
    assert one_line(raw) == "part.parquet: don't know what type: \\x0f Deserializing page header failed.\\x00\\x1b[1m"
    assert one_line(ValueError("a byte \x07 and a tab\there")) == "ValueError: a byte \\x07 and a tab\\there"
    assert one_line(LaunchbayError("±inf in 3 rows → quarantine")) == "±inf in 3 rows → quarantine"


def test_unknown_job_lists_the_jobs(tmp_path):
    line = error_line(launchbay_main("run", "job.name=nope", cwd=tmp_path))
    assert line == "launchbay: error: job.name: no job 'nope' (jobs: drift, evaluate, pipeline, score, train)"


def test_unexpected_errors_are_one_line_and_show_their_traceback_on_demand(tmp_path):
    (tmp_path / "faulty.py").write_text(
        "from launchbay import hookimpl\n\n@hookimpl\ndef launchbay_job_started(job):\n    raise RuntimeError('the hook broke')\n"
    )
    run = ("run", "job=train", "plugins=[faulty]")
    line = error_line(launchbay_cli(*run, cwd=tmp_path))
    failed = "plugin 'faulty' failed in launchbay_job_started: RuntimeError: the hook broke"
    assert line == f"launchbay: error: {failed} (set LAUNCHBAY_DEBUG=1 or pass --debug for the traceback)"
    for debug in (launchbay_main("--debug", *run, cwd=tmp_path), launchbay_main(*run, cwd=tmp_path, LAUNCHBAY_DEBUG="1")):
        assert debug.returncode == 1
        assert "Traceback (most recent call last)" in debug.stderr and 'faulty.py", line 5' in debug.stderr
        assert debug.stderr.rstrip().endswith(f"launchbay: error: {failed}") and debug.stderr.count('faulty.py", line 5') == 1
    shown = launchbay_main("--debug", "models", "show", "nope", cwd=tmp_path)
    assert "Traceback (most recent call last)" in shown.stderr and "launchbay: error: registry: " in shown.stderr and "registry does not exist" in shown.stderr


def test_hydra_errors_outside_the_job_are_one_line(tmp_path):
    line = error_line(launchbay_main("run", "--multirun", "job=train", "data.nope=1,2", cwd=tmp_path))
    assert "data.nope" in line
