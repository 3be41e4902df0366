"""Bin edges of numeric reference features, from a sorted sample of their values.

Numeric features get two sets of bins from one pass: fine bins (about ``fine_bins``
reference quantiles, for sketch-mode KS and Wasserstein) and coarse bins (``bins``
quantiles, a subset of the fine edges, for psi, jensen_shannon, hellinger, kl, chi2).
A numeric column with few distinct values (up to ``fine_bins``) gets one fine bin per
value, so that each bin's sum places its mass exactly (see ``metrics``); when a sample
missed some of the values, ``missed_values`` tells from the counted sums.
"""

from __future__ import annotations

import numpy as np

from launchbay.drift.config import MonitorConfig
from launchbay.drift.profile import FEW_VALUES, NUMERIC, FeatureProfile

# Reference values sampled per fine bin to place the fine edges.
SAMPLE_PER_FINE_BIN = 8


def numeric_skeleton(name: str, sample: np.ndarray, config: MonitorConfig, limit: int, distinct: int) -> FeatureProfile:
    """An empty numeric reference profile with edges from a sorted sample of finite values."""
    fine, coarse = _edges(sample, sorted_unique(sample), config)
    return FeatureProfile(
        name,
        NUMERIC,
        epsilon=config.psi_epsilon,
        edges=fine,
        coarse_starts=np.concatenate([[0], np.searchsorted(fine, coarse) + 1]).astype(np.int64),
        counts=np.zeros(fine.size + 1, np.int64),
        sums=np.zeros(fine.size + 1),
        center=float(sample[sample.size // 2]),
        distinct=distinct,
        values=np.empty(0) if limit else None,
        exact_limit=limit,
    )


def missed_values(feature: FeatureProfile) -> bool:
    """Whether a counted profile whose fine edges are distinct values holds other values too:
    a bin holding only its left edge (the first bin: the min) sums to count * (edge - center),
    to float rounding (2**-30 of it: exact up to about 10**7 values a bin)."""
    counts, sums, edges = feature.counts, feature.sums, feature.edges
    if counts is None or sums is None or edges is None:  # not counted, or counted without sums
        return False
    with np.errstate(over="ignore", invalid="ignore"):  # sums that overflowed tell nothing (NaN compares False)
        expected = counts * (np.concatenate([[feature.min], edges]) - feature.center)
        return bool(np.any(np.abs(sums - expected) > 2.0**-30 * np.abs(expected)))


def edge_sample(x: np.ndarray, size: int) -> np.ndarray:
    """A sorted sample of the finite values (all of them when there are few), seeded."""
    if x.size > size:
        drawn = x[np.random.default_rng(0).integers(0, x.size, size)]
        drawn = drawn[np.isfinite(drawn)]
        if drawn.size:
            return np.sort(drawn)
    return np.sort(x[np.isfinite(x)])


def distinct_count(x: np.ndarray, sampled: np.ndarray) -> int:
    """Distinct finite values of ``x``: exact when its distinct sampled values
    ``sampled`` are few, else their count."""
    if sampled.size > FEW_VALUES:
        return int(sampled.size)
    rest = x[~np.isin(x, sampled) & np.isfinite(x)]
    return int(sampled.size + np.unique(rest).size)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an already sorted array, in one linear pass."""
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values


def _edges(sample: np.ndarray, distinct: np.ndarray, config: MonitorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fine and coarse inner edges; every coarse edge is also a fine edge."""
    if distinct.size == 1:
        return distinct, distinct
    coarse = distinct[1:] if distinct.size <= config.bins else _quantiles(sample, config.bins)
    if distinct.size <= config.fine_bins:
        fine = distinct[1:]
        coarse = coarse[coarse > distinct[0]]
    else:
        fine = np.union1d(_quantiles(sample, config.fine_bins), coarse)
    return fine, coarse


def _quantiles(sorted_sample: np.ndarray, bins: int) -> np.ndarray:
    """Distinct inner quantile edges of a sorted sample (values of the sample)."""
    return sorted_unique(sorted_sample[(np.arange(1, bins) * sorted_sample.size) // bins])
