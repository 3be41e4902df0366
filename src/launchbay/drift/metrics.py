"""Built-in drift metrics, registered through the same hook as third-party ones.

Every metric compares a reference and a current ``FeatureProfile``. Definitions:

- ``psi``: sum((c - r) * ln(c / r)) over the coarse bins (numeric) or categories, an
  empty share replaced by the profile's ``epsilon`` (1e-4, as Evidently).
- ``ks``: two-sample Kolmogorov-Smirnov statistic D and its p-value with scipy's
  ``ks_2samp(method="auto")`` convention: the exact distribution (lattice paths) when both
  sides have at most 10,000 values (the share of lattice paths that leave the band, exact
  for tiny p-values too), else ``kstwo.sf(D, round(n1*n2/(n1+n2)))``. D is exact
  when both profiles keep their values (exact mode); a sketch reads D from the fine bins
  with ``D <= D_true <= D + ks_error_bound``.
- ``wasserstein``: first Wasserstein distance (the area between the CDFs), exact in exact
  mode. A sketch keeps per fine bin the count and the sum of the values (the outer bins,
  closed at the observed min and max, hold everything below the first and above the last
  edge, the values past the reference's range among them): it places each side's bin mass
  at its mean, which gives the integral of the CDF gap over every bin exactly, so the
  distance is exact wherever the gap cannot change sign inside a bin, and exact for
  features with one bin per value. It is within ``wasserstein_error_bound`` of the true
  value (see there: per bin where the CDFs may cross, twice the smaller of the bounds on
  the gap's positive and negative parts, at most w * (r + c)). Profiles without sums
  (format 1) interpolate the CDFs linearly inside each bin, with that method's bound.
  Values beyond 2**500 are divided by a power of two first (exact), so that no width
  overflows; a distance past the float range is undefined.
- ``wasserstein_norm``: ``wasserstein / max(reference std (ddof=0), 0.001)``, as Evidently;
  computed in the same scaled units. Where the reference variance overflowed, the std
  comes from the exact values; a sketch without them leaves the metric undefined.
- ``jensen_shannon``: Jensen-Shannon *distance* (square root of the divergence), natural
  log, as scipy's ``jensenshannon``: 0 to sqrt(ln 2) = 0.833. Base-2 tools report 1.201
  times more.
- ``hellinger``: sqrt(1 - sum(sqrt(r * c))), 0 to 1.
- ``kl``: Kullback-Leibler divergence KL(reference || current), natural log, empty shares
  replaced by ``epsilon`` and renormalised (scipy's ``entropy(r, c)``).
- ``chi2``: Pearson's chi-square test of the 2 x k contingency table over the union of
  categories or coarse bins (finite when the current has new categories), with Yates'
  correction at one degree of freedom, as scipy's ``chi2_contingency``; binary features
  use it too in place of a z-test for proportions.
- ``tvd`` and ``linf``: half the L1 and the largest absolute difference between the
  category shares.
- ``missing_rate``: absolute difference between the shares of null or NaN values.
- ``nonfinite_rate``: absolute difference between the shares of null, NaN or +-inf
  values (``missing_rate`` for categorical features). The default selection adds it to a
  feature whose share changed by at least its threshold (see ``engine.compare``).

A metric that cannot be computed returns NaN with the reason in ``MetricValue.undefined``.

Distributions leave out bins and categories that are empty on both sides. Prediction
drift is these metrics applied to the prediction column.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final, NamedTuple

import numpy as np

from launchbay.components import DriftMetric, MetricValue
from launchbay.drift.profile import CATEGORICAL, NUMERIC, FeatureProfile
from launchbay.hookspecs import hookimpl

P_VALUE_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
KS_EXACT_MAX_N = 10_000
# The fewest rows each side needs for a verdict (DriftMetric.min_rows), measured by drawing
# batches from the reference's own distribution (normal values, 10% missing; six equally
# likely categories) against a 20,000-row reference, 300 draws per size: a distance or
# a rate needs the size from which it calls such a batch drifted in under 5% of draws at its
# default threshold and monitor.bins=10 (wasserstein: values of unit std); a test,
# whose false alarms its threshold bounds, the size from which it finds a one-std shift (or
# shares moved from 1/6 each to .3, .3, .1, .1, .1, .1) in over half of them. Below them a
# distance flags unchanged data: wasserstein_norm did so in 78% of 100-row batches.
MIN_ROWS = {
    "psi": 200,
    "ks": 8,
    "wasserstein": 750,
    "wasserstein_norm": 750,
    "jensen_shannon": 300,
    "hellinger": 300,
    "kl": 150,
    "chi2": 30,
    "tvd": 300,
    "linf": 150,
    "missing_rate": 100,  # also the size at which a share's standard error is at most 0.05 whatever the share
    "nonfinite_rate": 100,
}
MIN_STD = 0.001
# Wasserstein scales sides whose extremes pass 2**HUGE_EXPONENT (their squares overflow past 2**512).
HUGE_EXPONENT = 500


def aligned_counts(ref: FeatureProfile, cur: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the same bins or categories, empty pairs left out."""
    if ref.kind == NUMERIC:
        r, c = ref.coarse_counts, cur.coarse_counts
    else:
        unseen = list(cur.unseen.values())
        r = np.concatenate([ref.category_counts, np.zeros(len(unseen), np.int64)])
        c = np.concatenate([cur.category_counts, np.array(unseen, np.int64)])
    keep = (r > 0) | (c > 0)
    return r[keep], c[keep]


def _shares(ref: FeatureProfile, cur: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    r, c = aligned_counts(ref, cur)
    return r / r.sum(), c / c.sum()


def _smoothed_shares(ref: FeatureProfile, cur: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    r, c = _shares(ref, cur)
    return np.where(r == 0, ref.epsilon, r), np.where(c == 0, ref.epsilon, c)


def psi(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _smoothed_shares(ref, cur)
    return MetricValue(float(np.sum((c - r) * np.log(c / r))))


def kl(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _smoothed_shares(ref, cur)
    r, c = r / r.sum(), c / c.sum()
    return MetricValue(float(np.sum(r * np.log(r / c))))


def jensen_shannon(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _shares(ref, cur)
    m = (r + c) / 2
    divergence = (_relative_entropy(r, m) + _relative_entropy(c, m)) / 2
    return MetricValue(math.sqrt(max(divergence, 0.0)))


def _relative_entropy(p: np.ndarray, q: np.ndarray) -> float:
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] / q[nonzero])))


def hellinger(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _shares(ref, cur)
    return MetricValue(math.sqrt(0.5 * float(np.sum((np.sqrt(r) - np.sqrt(c)) ** 2))))


def tvd(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _shares(ref, cur)
    return MetricValue(0.5 * float(np.abs(r - c).sum()))


def linf(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    r, c = _shares(ref, cur)
    return MetricValue(float(np.abs(r - c).max()))


def chi2(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    from scipy.stats import chi2 as chi2_distribution

    observed = np.vstack(aligned_counts(ref, cur)).astype(np.float64)
    dof = observed.shape[1] - 1
    if dof == 0:
        return MetricValue(0.0, 1.0)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0) / observed.sum()
    if dof == 1:
        gap = expected - observed
        observed = observed + np.sign(gap) * np.minimum(0.5, np.abs(gap))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return MetricValue(statistic, float(chi2_distribution.sf(statistic, dof)))


def missing_rate(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    return MetricValue(abs(cur.missing_share - ref.missing_share))


def nonfinite_rate(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    return MetricValue(abs(cur.nonfinite_share - ref.nonfinite_share))


def _fine_cdfs(ref: FeatureProfile, cur: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    """CDFs just below each fine edge, from the fine counts."""
    return np.cumsum(ref.counts)[:-1] / ref.count, np.cumsum(cur.counts)[:-1] / cur.count


def _exact(ref: FeatureProfile, cur: FeatureProfile) -> bool:
    return ref.values is not None and cur.values is not None


def ks(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    from launchbay.drift.kernels import ks_statistic

    if _exact(ref, cur):
        d = ks_statistic(ref.values, cur.values)
    else:
        r, c = _fine_cdfs(ref, cur)
        d = float(np.abs(r - c).max(initial=0.0))
    return MetricValue(d, ks_p_value(d, ref.count, cur.count))


def ks_p_value(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of KS statistic ``d`` with scipy's ``method="auto"`` convention."""
    if max(n1, n2) <= KS_EXACT_MAX_N:
        from launchbay.drift.kernels import ks_exact_sf

        lcm = n1 * n2 // math.gcd(n1, n2)
        h = round(d * lcm)
        return 1.0 if h == 0 else float(ks_exact_sf(n1, n2, h))
    from scipy.stats import kstwo

    return float(np.clip(kstwo.sf(d, round(n1 * n2 / (n1 + n2))), 0.0, 1.0))


def ks_error_bound(ref: FeatureProfile, cur: FeatureProfile) -> float:
    """How much a sketch KS statistic can be below the exact one: max over fine bins of min(r, c)."""
    r, c = ref.counts / ref.count, cur.counts / cur.count
    return float(np.minimum(r, c).max())


def _bounds(ref: FeatureProfile, cur: FeatureProfile) -> np.ndarray:
    """Fine bin bounds: the observed min, the inner edges, the observed max."""
    return np.concatenate([[min(ref.min, cur.min)], ref.edges, [max(ref.max, cur.max)]])


def _unit(ref: FeatureProfile, cur: FeatureProfile) -> float:
    """1, or the power of two that brings both sides within +-2 when their extremes pass 2**HUGE_EXPONENT."""
    exponent = math.frexp(max(abs(ref.min), abs(ref.max), abs(cur.min), abs(cur.max)))[1]
    return math.ldexp(1.0, exponent - 1) if exponent > HUGE_EXPONENT else 1.0


def _scaled(x: np.ndarray, unit: float) -> np.ndarray:
    return x if unit == 1.0 else x / unit


class _Bins(NamedTuple):
    """Per fine bin [a, b), in ``unit``s: width, shares, the CDF gap F_ref - F_cur at a, and
    each side's area ``integral over [a, b) of F(x) - F(a)`` (``share * (b - bin mean)``;
    None without per-bin sums)."""

    widths: np.ndarray
    r: np.ndarray
    c: np.ndarray
    gap: np.ndarray
    area_r: np.ndarray | None
    area_c: np.ndarray | None


def _bins(ref: FeatureProfile, cur: FeatureProfile, unit: float) -> _Bins:
    bounds = _scaled(_bounds(ref, cur), unit)
    widths, r, c = np.diff(bounds), ref.counts / ref.count, cur.counts / cur.count
    gap = np.concatenate([[0.0], np.cumsum(r - c)[:-1]])
    areas = [_areas(side, bounds[1:], ref.center / unit, unit) for side in (ref, cur)]
    if areas[0] is None or areas[1] is None:
        return _Bins(widths, r, c, gap, None, None)
    return _Bins(widths, r, c, gap, np.clip(areas[0], 0.0, widths * r), np.clip(areas[1], 0.0, widths * c))


def _areas(side: FeatureProfile, ends: np.ndarray, center: float, unit: float) -> np.ndarray | None:
    """``share * (b - bin mean)`` per bin from the sums of v - center; None without sums or
    where they overflowed."""
    if side.sums is None or not np.isfinite(side.sums).all():
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        area = (side.counts * (ends - center) - _scaled(side.sums, unit)) / side.count
    return area if np.isfinite(area).all() else None


def _wasserstein(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, float]:
    """The Wasserstein distance in units of ``_unit``, and the unit."""
    from launchbay.drift.kernels import wasserstein_sorted

    unit = _unit(ref, cur)
    if _exact(ref, cur):
        return wasserstein_sorted(_scaled(ref.values, unit), _scaled(cur.values, unit)), unit
    bins = _bins(ref, cur, unit)
    lo, hi = bins.gap, bins.gap + bins.r - bins.c
    if bins.area_r is None or bins.area_c is None:  # no sums (format 1): the CDFs interpolated linearly
        total = np.abs(lo) + np.abs(hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            area = np.where(lo * hi >= 0, total / 2, (lo * lo + hi * hi) / (2 * total))
        return float(np.sum(bins.widths * area)), unit
    # each side's bin mass at its mean: F steps once, ``to_end`` before the bin's end b
    with np.errstate(invalid="ignore", divide="ignore"):
        to_end_r = np.where(bins.r > 0, bins.area_r / bins.r, 0.0)
        to_end_c = np.where(bins.c > 0, bins.area_c / bins.c, 0.0)
    first, second = np.maximum(to_end_r, to_end_c), np.minimum(to_end_r, to_end_c)
    between = np.where(to_end_r > to_end_c, lo + bins.r, lo - bins.c)
    area = (bins.widths - first) * np.abs(lo) + (first - second) * np.abs(between) + second * np.abs(hi)
    return float(np.sum(area)), unit


def _sums_overflow(ref: FeatureProfile, cur: FeatureProfile) -> str | None:
    """Why a sketch cannot place its bin masses: a side's per-bin sums overflowed (values near the float range); None when they did not."""
    if _exact(ref, cur):
        return None
    sides = [name for name, side in (("reference", ref), ("current", cur)) if side.sums is not None and not np.isfinite(side.sums).all()]
    return f"the per-bin sums of the {' and '.join(sides)} overflow float64 (values near ±1.8e308): the distance is not computed" if sides else None


def wasserstein(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    if overflow := _sums_overflow(ref, cur):
        return MetricValue(math.nan, undefined=overflow)
    distance, unit = _wasserstein(ref, cur)
    if math.isinf(distance * unit):
        return MetricValue(math.nan, undefined="the distance is past the float range")
    return MetricValue(distance * unit)


def wasserstein_error_bound(ref: FeatureProfile, cur: FeatureProfile) -> float:
    """Largest gap between the sketch and the exact Wasserstein distance (0 in exact mode).

    Per fine bin [a, b) of width w, shares r and c, CDF gap g = F_ref(a) - F_cur(a) and
    areas A_r, A_c (see ``_Bins``): over the bin the gap is D = g + R - C with R rising
    from 0 to r and C from 0 to c, and its integral is exactly ``w * g + A_r - A_c``. Where
    D cannot change sign (g >= c or g <= -r) the sketch is exact. Elsewhere both the sketch
    and the true value lie in [|I|, |I| + 2 * min(P, N)] where P and N bound the integrals
    of D's positive and negative parts (see ``_part_bound``): P of (g + R)+ and N of
    (-g + C)+, and the same seen from the bin's end, where D = g' + (c - C) - (r - R) with
    g' = g + r - c and the areas of c - C and r - R are w * c - A_c and w * r - A_r (so a
    bin where both sides sit at one point has a bound near 0). The bound is the sum of
    2 * min(P, N) over those bins, at most w * (r + c) each, plus the float rounding of the sums (``max(n) * 2**-52`` times
    sum((r + c) * max|bound - center|)). Without sums (format-1 profiles) the CDFs are
    interpolated: w * (r + c) / 2 per bin whose gap keeps its sign, w * (r + c) otherwise.
    """
    if _exact(ref, cur):
        return 0.0
    unit = _unit(ref, cur)
    bins = _bins(ref, cur, unit)
    w, r, c, g = bins.widths, bins.r, bins.c, bins.gap
    may_cross = (g - c < 0) & (g + r > 0)
    if bins.area_r is None or bins.area_c is None:
        return float(np.sum(w * (r + c) * np.where(may_cross, 1.0, 0.5))) * unit
    g_end = g + r - c
    parts = [  # bounds on the positive and the negative part, from the bin's start and from its end
        _part_bound(w, g, r, bins.area_r),
        _part_bound(w, -g, c, bins.area_c),
        _part_bound(w, g_end, c, w * c - bins.area_c),
        _part_bound(w, -g_end, r, w * r - bins.area_r),
    ]
    crossing = np.sum(np.where(may_cross, 2 * np.minimum.reduce(parts), 0.0))
    bounds = _scaled(_bounds(ref, cur), unit) - ref.center / unit
    reach = np.maximum(np.abs(bounds[:-1]), np.abs(bounds[1:]))
    rounding = max(ref.count, cur.count) * 2.0**-52 * float(np.sum((r + c) * reach))
    return (float(crossing) + rounding) * unit


def _part_bound(w: np.ndarray, g: np.ndarray, share: np.ndarray, area: np.ndarray) -> np.ndarray:
    """A bound on the integral over a bin of width ``w`` of (g + S)+, for S rising from 0 to
    ``share`` with integral ``area``: w * g + area when g >= 0, else area * (share + g) / share
    (the chord of the convex (S + g)+ over [0, share])."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(g >= 0, w * g + area, area * np.maximum(share + g, 0.0) / share)


def wasserstein_norm(ref: FeatureProfile, cur: FeatureProfile) -> MetricValue:
    if overflow := _sums_overflow(ref, cur):
        return MetricValue(math.nan, undefined=overflow)
    distance, unit = _wasserstein(ref, cur)
    if math.isfinite(ref.m2):
        std = ref.std / unit
    else:  # the sums overflowed: recomputed from the exact values where the profile keeps them
        std = math.nan if ref.values is None else float(np.std(ref.values / unit))
    if not math.isfinite(std):
        return MetricValue(math.nan, undefined="the reference variance overflows float64")
    normed = distance / max(std, MIN_STD / unit)
    if math.isinf(normed):
        return MetricValue(math.nan, undefined="the distance over the reference std is past the float range")
    return MetricValue(normed)


@hookimpl
def launchbay_drift_metrics() -> list[DriftMetric]:
    any_kind: Final = "any"
    p, d = P_VALUE_THRESHOLD, DISTANCE_THRESHOLD
    metrics = [
        DriftMetric("psi", psi, any_kind, d, description="population stability index, reference quantile bins"),
        DriftMetric("ks", ks, NUMERIC, p, "below", description="Kolmogorov-Smirnov test (p-value)"),
        DriftMetric("wasserstein", wasserstein, NUMERIC, d, description="first Wasserstein distance, raw"),
        DriftMetric(
            "wasserstein_norm", wasserstein_norm, NUMERIC, d, description="Wasserstein / reference std (Evidently)"
        ),
        DriftMetric("jensen_shannon", jensen_shannon, any_kind, d, description="Jensen-Shannon distance, natural log"),
        DriftMetric("hellinger", hellinger, any_kind, d, description="Hellinger distance"),
        DriftMetric("kl", kl, any_kind, d, description="KL(reference || current), natural log"),
        DriftMetric("chi2", chi2, any_kind, p, "below", description="chi-square contingency test (p-value)"),
        DriftMetric("tvd", tvd, CATEGORICAL, d, description="total variation distance"),
        DriftMetric("linf", linf, CATEGORICAL, d, description="largest change of a category share"),
        DriftMetric("missing_rate", missing_rate, any_kind, d, description="change of the missing share"),
        DriftMetric("nonfinite_rate", nonfinite_rate, any_kind, d, description="change of the null, NaN or +-inf share"),
    ]
    return [replace(metric, min_rows=MIN_ROWS[metric.name]) for metric in metrics]
