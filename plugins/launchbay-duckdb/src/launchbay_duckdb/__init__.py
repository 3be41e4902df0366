"""DuckDB for launchbay: a SQL source (``data=duckdb``) and a table sink (``sink=duckdb``)."""

from __future__ import annotations

from launchbay import hookimpl
from launchbay.components import DataSink, DataSource
from launchbay_duckdb import sink, source


@hookimpl
def launchbay_data_sources() -> list[DataSource]:
    return [DataSource("duckdb", source.read, source.DuckDBSourceConfig, "rows of a SQL query over a DuckDB file", source.fragments)]


@hookimpl
def launchbay_data_sinks() -> list[DataSink]:
    return [DataSink("duckdb", sink.write, sink.DuckDBSinkConfig, "scores appended to a DuckDB table", sink.write_part, sink.commit)]
