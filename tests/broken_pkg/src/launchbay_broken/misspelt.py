"""A hook whose name is misspelt."""

from launchbay import hookimpl


@hookimpl
def launchbay_drift_metricz():
    return []
