"""Drift detection: mergeable profiles, numba kernels, metrics found through plugins.

Importing this package is cheap; numba, scipy, pyarrow and ray load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from launchbay.drift.config import MonitorConfig

if TYPE_CHECKING:
    from launchbay.drift.counting import sketch
    from launchbay.drift.dataset import sketch_dataset
    from launchbay.drift.engine import compare
    from launchbay.drift.profile import DatasetProfile, FeatureProfile, merge
    from launchbay.drift.reference import build_reference
    from launchbay.drift.result import DriftResult, MetricRow

_EXPORTS = {
    "compare": "launchbay.drift.engine",
    "build_reference": "launchbay.drift.reference",
    "sketch": "launchbay.drift.counting",
    "merge": "launchbay.drift.profile",
    "DatasetProfile": "launchbay.drift.profile",
    "FeatureProfile": "launchbay.drift.profile",
    "sketch_dataset": "launchbay.drift.dataset",
    "DriftResult": "launchbay.drift.result",
    "MetricRow": "launchbay.drift.result",
}

__all__ = ["MonitorConfig", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'launchbay.drift' has no attribute '{name}'")
