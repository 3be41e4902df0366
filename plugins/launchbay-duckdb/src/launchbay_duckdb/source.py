"""A SQL query over a DuckDB file as a launchbay data source.

The query runs on read-only connections and streams Arrow record batches. With
``partition_by`` (an orderable column of the query) the rows are read as ``pieces``
ranges of that column, cut at its quantiles, each piece on its own connection in its
own Ray task: DuckDB lets any number of processes read a file at once. Rows whose
``partition_by`` is null go with the first piece, so the pieces hold every row once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from launchbay.data.files import fragments_dataset
from launchbay.errors import LaunchbayError
from launchbay_duckdb.connection import connect, first_line, quoted

if TYPE_CHECKING:
    import duckdb


@dataclass
class DuckDBSourceConfig:
    """The rows of ``query`` over the DuckDB file ``database``."""

    database: str = "???"
    query: str = "???"
    partition_by: str | None = None  # an orderable column of the query: read ``pieces`` ranges of it in parallel
    pieces: int = 4
    batch_rows: int = 131_072  # rows per Arrow record batch

    def __post_init__(self) -> None:
        if self.pieces < 1:
            raise LaunchbayError(f"pieces must be at least 1, got {self.pieces}")
        if self.batch_rows < 1:
            raise LaunchbayError(f"batch_rows must be at least 1, got {self.batch_rows}")


def _sql(cfg: DuckDBSourceConfig) -> str:
    return cfg.query.strip().rstrip(";")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
    import duckdb

    try:
        return con.sql(sql, params=params)
    except duckdb.Error as exc:
        raise LaunchbayError(f"query: {first_line(exc)}") from exc


def pieces(cfg: DuckDBSourceConfig) -> list[tuple[str, list[Any]]]:
    """The SQL and parameters of each piece, after checking the query and ``partition_by`` on a read-only connection."""
    query = _sql(cfg)
    with connect(cfg.database) as con:
        columns = _run(con, f"select * from ({query}) limit 0").columns
        if cfg.partition_by is None or cfg.pieces == 1:
            return [(query, [])]
        if cfg.partition_by not in columns:
            raise LaunchbayError(f"partition_by: the query has no column '{cfg.partition_by}' (columns: {columns})")
        key = quoted(cfg.partition_by)
        fractions = [i / cfg.pieces for i in range(1, cfg.pieces)]
        (found,), = _run(con, f"select quantile_disc({key}, {fractions}) from ({query})").fetchall()
    cuts = sorted(set(found or []))
    if not cuts:  # no rows, or only nulls
        return [(query, [])]
    first = (f"select * from ({query}) where {key} < ? or {key} is null", [cuts[0]])
    middle = [(f"select * from ({query}) where {key} >= ? and {key} < ?", [lo, hi]) for lo, hi in zip(cuts, cuts[1:])]
    return [first, *middle, (f"select * from ({query}) where {key} >= ?", [cuts[-1]])]


def read_piece(database: str, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.Table]:
    """The rows of one piece as Arrow tables of at most ``batch_rows`` rows, on a read-only connection of its own."""
    import duckdb

    with connect(database, threads=_task_cpus()) as con:
        try:
            for batch in _run(con, sql, params).to_arrow_reader(batch_rows):
                yield pa.Table.from_batches([batch])
        except duckdb.Error as exc:
            raise LaunchbayError(f"query: {first_line(exc)}") from exc


def _task_cpus() -> int | None:
    """The CPUs Ray gave the task this runs in (None outside one): DuckDB's threads."""
    import ray

    if not (ray.is_initialized() and ray.get_runtime_context().worker.mode == ray.WORKER_MODE):
        return None
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    return max(1, int(cpus)) if cpus else None


def fragments(cfg: DuckDBSourceConfig) -> list:
    """One fragment per piece (see ``pieces``)."""
    return [partial(read_piece, cfg.database, sql, params, cfg.batch_rows) for sql, params in pieces(cfg)]


def read(cfg: DuckDBSourceConfig):
    """A Ray Dataset of the query's rows, one read task per piece."""
    return fragments_dataset(fragments(cfg))
