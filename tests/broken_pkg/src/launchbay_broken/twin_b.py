"""Claims data source 'twin', as twin_a does."""

from launchbay import hookimpl
from launchbay.components import DataSource
from launchbay_broken import TwinConfig, read


@hookimpl
def launchbay_data_sources():
    return [DataSource("twin", read, TwinConfig, "twin_b's")]
