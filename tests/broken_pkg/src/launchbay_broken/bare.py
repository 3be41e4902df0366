"""A registration hook that returns a bare record instead of a list."""

from launchbay import hookimpl
from launchbay.components import DriftMetric, MetricValue


@hookimpl
def launchbay_drift_metrics():
    return DriftMetric("mean_gap", compute=lambda ref, cur: MetricValue(0.0), applies_to="numeric", threshold=0.5)
