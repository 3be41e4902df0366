"""Claims the built-in sink 'parquet' and a source of its own."""

from launchbay import hookimpl
from launchbay.components import DataSink, DataSource
from launchbay_broken import TwinConfig, read


@hookimpl
def launchbay_data_sources():
    return [DataSource("usurper_rows", read, TwinConfig)]


@hookimpl
def launchbay_data_sinks():
    return [DataSink("parquet", write=lambda ds, path, cfg, filesystem: 0)]
