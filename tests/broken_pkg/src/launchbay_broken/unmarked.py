"""A hook implementation without the @hookimpl marker (pluggy would never call it)."""

from launchbay.components import DataSource
from launchbay_broken import TwinConfig, read


def launchbay_data_sources():
    return [DataSource("forgotten", read, TwinConfig)]
