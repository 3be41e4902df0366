"""Scores into a DuckDB table, all of a run's rows or none.

A DuckDB file takes one writer at a time, so scoring tasks never open it: like the parquet
sink, each writes its part as a parquet file under the run's staging folder. Once every part
is written and the run's checks have passed, the driver appends all the parts to the table
in one transaction (``commit``). A run that fails before or during it leaves the table as it
was. The staging folder is then committed as the run's ``score.output``, so the parts stay
there as the record of what the table received.

``mode=append`` (the default) adds the rows to the table, creating it (marked in its
comment as created by launchbay) when it is missing. The table is committed before the
staging folder, whose commit can still fail (another run committing the same output): each
run's commit is recorded in the table ``launchbay_commits`` (run id, table, rows, when) of
the same transaction, so a retry of a run's commit adds its rows once. ``mode=replace`` replaces the table
whole, but only a table launchbay created: another table is refused before any work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from launchbay.data.files import ParquetSinkConfig, write_parquet, write_parquet_part
from launchbay.errors import LaunchbayError
from launchbay.ownership import MARK
from launchbay.storage import files_under
from launchbay_duckdb.connection import connect, first_line, quoted

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

TABLE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
PARTS = ParquetSinkConfig()  # how the staged parts are written
COMMITS = "launchbay_commits"  # the runs whose rows a table holds


class Mode(Enum):
    append = "append"
    replace = "replace"


@dataclass
class DuckDBSinkConfig:
    """The table ``table`` of the DuckDB file ``database`` (created when missing)."""

    database: str = "???"
    table: str = "scores"  # a name, or schema.name
    mode: Mode = Mode.append  # append | replace (only a table launchbay created)

    def __post_init__(self) -> None:
        if not TABLE_NAME.fullmatch(self.table):
            raise LaunchbayError(f"table: '{self.table}' is not a table name (letters, digits and _, or schema.name)")
        if not Path(self.database).expanduser().parent.is_dir():
            raise LaunchbayError(f"database: {self.database}: the folder {Path(self.database).expanduser().parent} does not exist")
        if self.mode == Mode.replace and Path(self.database).expanduser().is_file():
            with connect(self.database) as con:
                check_replaceable(con, self)


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "main", name


def owner_comment(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The comment of ``table`` ('' when it has none), or None when there is no such table."""
    schema, name = _split(table)
    found = con.execute(
        "select coalesce(comment, '') from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return None if found is None else found[0]


def check_replaceable(con: duckdb.DuckDBPyConnection, cfg: DuckDBSinkConfig) -> None:
    """Refuse ``mode=replace`` of a table that launchbay did not create."""
    comment = owner_comment(con, cfg.table)
    if comment is not None and MARK not in comment:
        raise LaunchbayError(
            f"table: {cfg.table} of {cfg.database} was not created by launchbay, and mode=replace replaces only "
            "tables launchbay created; use mode=append or another table"
        )


def write_part(tables: Iterator[pa.Table], path: str, cfg: DuckDBSinkConfig, filesystem) -> int:
    """One scoring task's rows as a parquet part under the staging folder."""
    return write_parquet_part(tables, path, PARTS, filesystem)


def write(ds, path: str, cfg: DuckDBSinkConfig, filesystem) -> int:
    """A Ray Dataset's rows as parquet parts under the staging folder."""
    return write_parquet(ds, path, PARTS, filesystem)


def commit(path: str, cfg: DuckDBSinkConfig, filesystem, run_id: str | None = None) -> None:
    """Add the parts under ``path`` to the table in one transaction (on the driver, the file's only
    writer), unless run ``run_id`` already did."""
    import duckdb
    import pyarrow.dataset as pads

    parts = [f"{path}/{name}" for name in files_under(filesystem, path) if name.endswith(".parquet")]
    scores = pads.dataset(parts, format="parquet", filesystem=filesystem)
    table = quoted(cfg.table)
    with connect(cfg.database, read_only=False) as con:
        con.register("launchbay_scores", scores)
        try:
            con.begin()
            if run_id is not None and committed(con, run_id, cfg.table):
                con.rollback()
                return
            comment = owner_comment(con, cfg.table)
            if comment is None or cfg.mode == Mode.replace:
                if comment is not None:
                    check_replaceable(con, cfg)
                con.execute(f"create or replace table {table} as select * from launchbay_scores")
                con.execute(f"comment on table {table} is '{MARK}'")
            else:
                con.execute(f"insert into {table} by name select * from launchbay_scores")
            if run_id is not None:
                con.execute(f"insert into {COMMITS} values (?, ?, ?, now())", [run_id, cfg.table, scores.count_rows()])
            con.commit()
        except (duckdb.Error, LaunchbayError) as exc:
            con.rollback()
            cause = first_line(exc) if isinstance(exc, duckdb.Error) else str(exc)
            raise LaunchbayError(f"the scores could not be added to table {cfg.table} of {cfg.database}, which was left as it was: {cause}") from exc


def committed(con: duckdb.DuckDBPyConnection, run_id: str, table: str) -> bool:
    """Whether run ``run_id`` has added its rows to ``table`` (``launchbay_commits`` made when missing)."""
    con.execute(
        f"create table if not exists {COMMITS} (run_id varchar, table_name varchar, rows bigint, committed timestamptz, primary key (run_id, table_name))"
    )
    return con.execute(f"select count(*) from {COMMITS} where run_id = ? and table_name = ?", [run_id, table]).fetchone() != (0,)
