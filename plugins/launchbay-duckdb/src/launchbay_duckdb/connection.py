"""Opening a DuckDB file, with errors in one line that name the setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import duckdb


def first_line(exc: BaseException) -> str:
    """DuckDB's message without the query excerpt it adds below (``LINE 1: ...``)."""
    return str(exc).strip().splitlines()[0]


def quoted(name: str) -> str:
    """``name`` as a SQL identifier (``schema.table`` keeps its dot)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


@contextmanager
def connect(database: str, read_only: bool = True, threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the DuckDB file ``database``, closed afterwards; read-only unless asked.

    A missing file opened read-only, or one that is not a DuckDB database, is one line naming
    ``database``. ``threads`` caps DuckDB's threads (a Ray task's CPUs).
    """
    import duckdb

    path = Path(database).expanduser()
    if read_only and not path.is_file():
        raise LaunchbayError(f"database: {database}: no such DuckDB file")
    if not path.parent.is_dir():
        raise LaunchbayError(f"database: {database}: the folder {path.parent} does not exist")
    config = {"threads": threads} if threads else {}
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise LaunchbayError(f"database: {database}: {first_line(exc)}") from exc
    try:
        yield con
    finally:
        con.close()
