"""A registration hook that raises."""

from launchbay import hookimpl


@hookimpl
def launchbay_data_sources():
    raise ValueError("no warehouse configured")
