"""The DuckDB source and sink on real DuckDB files, through real launchbay runs on an embedded Ray (launchbay's testing kit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyarrow.fs import FSSpecHandler, PyFileSystem

from launchbay.data import synthetic
from launchbay.errors import LaunchbayError
from launchbay.ownership import MARK
from launchbay.plugins import current_manager
from launchbay.storage import SUCCESS, Owner, staged_output
from launchbay.testing import RunFailed, assert_composes, assert_registered
from launchbay_duckdb.sink import DuckDBSinkConfig, Mode
from launchbay_duckdb.source import DuckDBSourceConfig, fragments


def make_database(path, **tables: pa.Table) -> str:
    with duckdb.connect(str(path)) as con:
        for name, table in tables.items():
            con.register("rows", table)
            con.execute(f"create table {name} as select * from rows")
            con.unregister("rows")
    return str(path)


def rows(n: int, seed: int = 0, **drift) -> pa.Table:
    cfg = synthetic.SyntheticConfig(rows=n, seed=seed, chunk_rows=n, drift=synthetic.DriftSpec(**drift))
    return synthetic.generate(cfg, 0)


def read_all(cfg: DuckDBSourceConfig) -> list[dict]:
    """Every row the fragments yield, in order of column ``i``."""
    return sorted((row for fragment in fragments(cfg) for table in fragment() for row in table.to_pylist()), key=lambda row: row["i"])


def query(database: str, sql: str):
    with duckdb.connect(database, read_only=True) as con:
        return con.sql(sql).fetchall()


def pipeline(run, database: str, scores: str, *overrides: str) -> dict:
    return run(*[
        "job=pipeline", "data=duckdb", f"data.database={database}", "data.query='select * from train'",
        "data@batch=duckdb", f"batch.database={database}", "batch.query='select * from today where row_id % 2 = 0'",
        "batch.partition_by=row_id", "batch.pieces=3", "sink=duckdb", f"sink.database={scores}", "approval.trigger=never", *overrides,
    ])


def test_registered_through_entry_point():
    assert_registered("data", "duckdb", plugin="duckdb")
    assert_registered("sink", "duckdb", plugin="duckdb")
    manager = current_manager()
    assert manager.component("data", "duckdb").fragments is not None
    assert manager.component("sink", "duckdb").commit is not None


def test_train_score_and_append_scores_to_a_table(launchbay_run, tmp_path):
    data = make_database(tmp_path / "data.duckdb", train=rows(3000), today=rows(2000, seed=1, mean_shift=2.0))
    scores = data  # the file the rows come from: its only writer is the driver, once every reader is done
    summary = pipeline(launchbay_run, data, scores)
    assert summary["train"]["model"]["version"] == 1 and summary["scores"]["rows"] == 1000
    drift = summary["drift"]  # num_0 shifted by 2: drifted on its own, and it moves the rows off the reference's components
    assert "num_0" in drift["drifted_features"] and drift["multivariate"]["drifted"] and drift["dataset_drift"] is True
    expected = query(data, "select row_id from today where row_id % 2 = 0 order by row_id")
    assert query(scores, "select row_id from scores order by row_id") == expected
    assert query(scores, "select distinct model_version from scores") == [(1,)]
    assert query(scores, "select min(score) >= 0 and max(score) <= 1 from scores") == [(True,)]
    assert query(scores, "select comment from duckdb_tables() where table_name = 'scores'") == [(MARK,)]

    pipeline(launchbay_run, data, scores)  # appends: every id twice
    assert query(scores, "select count(*), count(distinct row_id) from scores") == [(2000, 1000)]
    pipeline(launchbay_run, data, scores, "sink.mode=replace", "score.strategy=tasks")  # Ray Data's path; replaces launchbay's table
    assert query(scores, "select row_id from scores order by row_id") == expected
    assert query(data, "select (select count(*) from train), (select count(*) from today)") == [(3000, 2000)]


def test_a_failed_commit_leaves_the_table_as_it_was(launchbay_run, tmp_path):
    data = make_database(tmp_path / "data.duckdb", train=rows(2000), today=rows(500, seed=1))
    scores = make_database(tmp_path / "scores.duckdb", scores=pa.table({"row_id": [7, 8], "note": ["a", "b"]}))
    with pytest.raises(RunFailed) as raised:
        pipeline(launchbay_run, data, scores)
    message = str(raised.value)
    assert "\n" not in message and "table scores of" in message and "left as it was" in message and "prediction" in message
    assert query(scores, "select * from scores order by row_id") == [(7, "a"), (8, "b")]


def test_a_retry_after_a_failed_folder_commit_appends_once(tmp_path):
    """The table is committed, then the output folder's commit fails (another run holds its claim);
    the run's commit again, once that claim is gone, adds nothing to the table and commits the folder."""
    filesystem = PyFileSystem(FSSpecHandler(fsspec.filesystem("file", auto_mkdir=True)))  # a local disk, committed as an object store is
    output = f"{tmp_path}/scores"
    cfg = DuckDBSinkConfig(database=str(tmp_path / "scores.duckdb"))
    sink = current_manager().component("sink", "duckdb")

    def score_and_commit(run_id: str) -> None:
        """What a scoring run does: parts under the staging folder, the sink's commit, the folder's."""
        with staged_output(filesystem, output, run_id=run_id) as staging:
            pq.write_table(pa.table({"row_id": [1, 2, 3]}), f"{staging}/part-0.parquet", filesystem=filesystem)
            sink.commit_run(staging, cfg, filesystem, run_id)

    other = f"{tmp_path}/.scores.commit-{'0' * 20}-00000000"
    with open(other, "w") as claim:
        claim.write(Owner.me("other", 600).to_json())  # a live run committing the same output
    with pytest.raises(LaunchbayError, match="was not committed: another run is committing it"):
        score_and_commit("run-1")
    assert query(cfg.database, "select count(*) from scores") == [(3,)]
    Path(other).unlink()
    score_and_commit("run-1")
    assert query(cfg.database, "select count(*) from scores") == [(3,)]
    assert json.loads(Path(output, SUCCESS).read_text())["run_id"] == "run-1"
    score_and_commit("run-2")  # another run adds its rows
    assert query(cfg.database, "select count(*) from scores") == [(6,)]
    assert query(cfg.database, "select run_id, rows from launchbay_commits order by run_id") == [("run-1", 3), ("run-2", 3)]


def test_a_run_that_fails_while_scoring_leaves_the_table_as_it_was(launchbay_run, tmp_path):
    data = make_database(tmp_path / "data.duckdb", train=rows(2000), today=rows(500, seed=1))
    scores = str(tmp_path / "scores.duckdb")
    summary = pipeline(launchbay_run, data, scores)
    assert query(scores, "select run_id, table_name, rows from launchbay_commits") == [(summary["run_id"], "scores", 250)]  # the run's commit, keyed
    before = query(scores, "select * from scores order by row_id")
    wrong_type = "batch.query='select * replace (num_0::varchar as num_0) from today'"  # the contract stops it
    with pytest.raises(RunFailed, match=r"rows break the model's data contract \(.*num_0"):
        pipeline(launchbay_run, data, scores, wrong_type)
    assert query(scores, "select * from scores order by row_id") == before and len(before) == 250


def test_replace_refuses_a_table_launchbay_did_not_create(tmp_path):
    scores = make_database(tmp_path / "scores.duckdb", scores=pa.table({"row_id": [1]}))
    with pytest.raises(LaunchbayError, match="table: scores of .* was not created by launchbay, and mode=replace"):
        DuckDBSinkConfig(database=scores, mode=Mode.replace)
    run = subprocess.run(
        [sys.executable, "-m", "launchbay", "run", "sink=duckdb", f"sink.database={scores}", "sink.mode=replace"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"launchbay: error: sink: table: scores of {scores} was not created by launchbay, "
                                               "and mode=replace replaces only tables launchbay created; use mode=append or another table"]
    assert query(scores, "select * from scores") == [(1,)]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("batch.database=missing.duckdb", "batch: database: missing.duckdb: no such DuckDB file"),
        ("batch.query='selec * from today'", "batch: query: Parser Error: syntax error at or near"),
        ("batch.query='select * from nowhere'", "batch: query: Catalog Error: Table with name nowhere does not exist!"),
        ("batch.partition_by=shop", "batch: partition_by: the query has no column 'shop' (columns: ['row_id', 'num_0'"),
        ("batch.query='select row_id, num_0 from today'", "columns ['num_1', 'num_2'"),
    ],
)
def test_errors_name_the_source_and_the_setting(launchbay_run, tmp_path, override, expected):
    data = make_database(tmp_path / "data.duckdb", train=rows(1000), today=rows(200, seed=1))
    launchbay_run("job=train", "data=duckdb", f"data.database={data}", "data.query='select * from train'")
    with pytest.raises(RunFailed) as raised:
        launchbay_run(
            "job=score", "job.model_version=1", "data@batch=duckdb", f"batch.database={data}", "batch.query='select * from today'",
            "batch.partition_by=row_id", override,
        )
    assert "\n" not in str(raised.value) and expected in str(raised.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["sink.database=nowhere/scores.duckdb"], "sink: database: nowhere/scores.duckdb: the folder .*nowhere does not exist"),
        (["sink.database=scores.duckdb", "sink.table='drop table x'"], "sink: table: 'drop table x' is not a table name"),
    ],
)
def test_sink_settings_are_checked_before_any_work(overrides, expected):
    with pytest.raises(AssertionError, match=expected):
        assert_composes("sink=duckdb", *overrides)


def test_not_a_duckdb_file(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database " * 100)
    with pytest.raises(LaunchbayError, match=f"database: {junk}: IO Error: The file .* is not a valid DuckDB database file"):
        fragments(DuckDBSourceConfig(database=str(junk), query="select 1"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.one_of(st.none(), st.integers(-5, 5), st.integers(-10**12, 10**12)), max_size=60),
    pieces=st.integers(1, 7),
)
def test_pieces_hold_every_row_once(tmp_path_factory, keys, pieces):
    """Ranges of a key with nulls, repeats and skew: the pieces together are the single read, row for row."""
    database = make_database(tmp_path_factory.mktemp("db") / "k.duckdb", t=pa.table({"k": pa.array(keys, pa.int64()), "i": range(len(keys))}))
    whole = read_all(DuckDBSourceConfig(database=database, query="select * from t"))
    split = DuckDBSourceConfig(database=database, query="select * from t;", partition_by="k", pieces=pieces, batch_rows=7)
    assert len(fragments(split)) <= pieces
    assert read_all(split) == whole == [{"k": k, "i": i} for i, k in enumerate(keys)]
