"""Built-in data sources (synthetic, parquet, csv) and sink (parquet), registered as a plugin."""

from launchbay.components import DataSink, DataSource
from launchbay.data import files, synthetic
from launchbay.hookspecs import hookimpl


@hookimpl
def launchbay_data_sources() -> list[DataSource]:
    return [
        DataSource(
            "synthetic", synthetic.read, synthetic.SyntheticConfig, "generated rows with controllable drift",
            fragments=synthetic.fragments,
        ),
        DataSource("parquet", files.read_parquet, files.FileConfig, "a parquet file or directory", files.parquet_fragments),
        DataSource("csv", files.read_csv, files.CsvConfig, "a CSV file or directory", files.csv_fragments),
    ]


@hookimpl
def launchbay_data_sinks() -> list[DataSink]:
    return [DataSink("parquet", files.write_parquet, files.ParquetSinkConfig, "parquet files", files.write_parquet_part)]
