"""Mergeable profiles: what drift metrics compare, and their JSON.

A reference profile fixes, per feature, the bin edges (numeric, from reference
quantiles, see ``edges``) or the categories (categorical). A profile of current data
counts over the same bins and categories, so profiles of blocks add up: ``merge`` is
exact whatever the split for counts, min and max (the mean, the variance and the per-bin
sums are float sums: they agree to float rounding, a few ulps of the sum of the absolute
values, whatever the split). NaN is missing, like null (pandas turns NaN into null on the way to Arrow, so
the two are not told apart); +inf and -inf are counted apart; none of them enters a
distribution.

A numeric profile keeps, per fine bin, the sum of its values less the reference's center
(format 2), so that sketch-mode Wasserstein places each bin's mass where it is; profiles
of format 1 have no sums and still load.

In exact mode a numeric profile also keeps its sorted finite values (8 bytes a value,
in memory and in JSON), so KS and Wasserstein equal scipy's. A profile keeps them while it
has at most ``exact_limit`` finite values and holds all of them (``exact_values``): counted,
merged or read from JSON, past the limit it has None, the same way whatever the split, and
the metrics fall back to the sketch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from launchbay.drift.multivariate import Reconstruction
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    from launchbay.drift.kernels import BinLookup

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
OTHER = "(other)"
FORMAT_VERSION = 2
# Format 1 (before per-bin sums) still loads: its sketches compare as they did then.
READABLE_FORMATS = (1, FORMAT_VERSION)
# Grid cells per fine edge in the O(1) bin lookup.
CELLS_PER_EDGE = 4
# The default selection's cut between few and many distinct values.
FEW_VALUES = 5


@dataclass
class FeatureProfile:
    """Mergeable sketch of one feature."""

    name: str
    kind: str
    rows: int = 0  # values seen, missing included
    null_count: int = 0  # null or NaN
    inf_count: int = 0  # +-inf (numeric only)
    neginf_count: int | None = 0  # -inf of them; None: not recorded (profiles of earlier versions)
    epsilon: float = 1e-4  # share used for an empty bin by psi and kl
    # numeric
    edges: np.ndarray | None = None  # fine inner edges: bin k holds edges[k-1] <= v < edges[k]
    coarse_starts: np.ndarray | None = None  # first fine bin of each coarse bin
    counts: np.ndarray | None = None  # fine bin counts, len(edges) + 1
    sums: np.ndarray | None = None  # per fine bin, the sum of v - center; None: not recorded (format 1)
    min: float = math.inf
    max: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    center: float = 0.0  # subtracted before summing, for a well conditioned variance
    distinct: int = 0  # distinct finite reference values in the edge sample; exact up to FEW_VALUES
    values: np.ndarray | None = None  # exact mode: sorted finite values
    exact_limit: int = 0  # values are kept while the count stays at or below this
    # categorical
    categories: list[str] | None = None  # reference categories by name
    category_counts: np.ndarray | None = None  # per category, then the "other" bucket
    truncated: bool = False  # the reference had more than max_categories: new values go to "other"
    unseen: dict[str, int] = field(default_factory=dict)  # categories the reference never had
    unseen_overflow: bool = False  # more unseen categories than max_categories: all in "other"
    max_categories: int = 0

    @property
    def count(self) -> int:
        """Values that enter the distribution (finite numbers or non-null categories)."""
        if self.kind == NUMERIC:
            return int(self.counts.sum())
        return int(self.category_counts.sum()) + sum(self.unseen.values())

    @property
    def missing_share(self) -> float:
        """Share of null or NaN values."""
        return self.null_count / self.rows if self.rows else 0.0

    @property
    def posinf_count(self) -> int | None:
        """+inf values; None when the profile did not record the sign."""
        return None if self.neginf_count is None else self.inf_count - self.neginf_count

    @property
    def nonfinite_share(self) -> float:
        """Share of null, NaN or +-inf values."""
        return (self.null_count + self.inf_count) / self.rows if self.rows else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0) of the finite values."""
        n = self.count
        return math.sqrt(max(self.m2, 0.0) / n) if n else 0.0

    @property
    def coarse_counts(self) -> np.ndarray:
        """Counts over the coarse bins (numeric)."""
        return np.add.reduceat(self.counts, self.coarse_starts)

    @property
    def coarse_edges(self) -> np.ndarray:
        """Inner edges of the coarse bins (numeric)."""
        return self.edges[self.coarse_starts[1:] - 1]

    @cached_property
    def lookup(self) -> BinLookup:
        """The O(1) fine-bin lookup (numeric); built on first use, never serialized."""
        from launchbay.drift.kernels import bin_lookup

        return bin_lookup(self.edges, CELLS_PER_EDGE)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the lookup: it is larger than the counts and rebuilt where needed."""
        return {k: v for k, v in self.__dict__.items() if k != "lookup"}

    def histogram(self) -> tuple[list[str], np.ndarray]:
        """Labels and counts of the coarse bins (numeric) or the categories, for plots."""
        if self.kind == NUMERIC:
            bounds = [self.min, *self.coarse_edges.tolist(), self.max]
            labels = [f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(bounds, bounds[1:])]
            return labels, self.coarse_counts
        unseen = np.array(list(self.unseen.values()), np.int64)
        return [*self.categories, OTHER, *self.unseen], np.concatenate([self.category_counts, unseen])

    def empty(self) -> FeatureProfile:
        """A profile over this one's bins or categories with nothing counted."""
        blank = replace(
            self, rows=0, null_count=0, inf_count=0, neginf_count=0, min=math.inf, max=-math.inf, mean=0.0, m2=0.0
        )
        blank.unseen, blank.unseen_overflow = {}, False
        if self.kind == NUMERIC:
            blank.counts = np.zeros_like(self.counts)
            blank.sums = None if self.sums is None else np.zeros(self.counts.size)
            blank.values = None if self.values is None else np.empty(0)
            if "lookup" in self.__dict__:
                blank.__dict__["lookup"] = self.lookup
        else:
            blank.category_counts = np.zeros_like(self.category_counts)
        return blank

    def merge(self, other: FeatureProfile) -> FeatureProfile:
        """The profile of both inputs together; both must come from one reference."""
        self._check_compatible(other)
        out = self.empty()
        out.rows = self.rows + other.rows
        out.null_count = self.null_count + other.null_count
        out.inf_count = self.inf_count + other.inf_count
        if self.neginf_count is None or other.neginf_count is None:
            out.neginf_count = None
        else:
            out.neginf_count = self.neginf_count + other.neginf_count
        if self.kind == NUMERIC:
            out.counts = self.counts + other.counts
            out.sums = None if self.sums is None or other.sums is None else self.sums + other.sums
            out.min, out.max = min(self.min, other.min), max(self.max, other.max)
            out.mean, out.m2 = merge_moments((self.count, self.mean, self.m2), (other.count, other.mean, other.m2))
            out.values = _merge_values(self, other)
        else:
            out.category_counts = self.category_counts + other.category_counts
            out.unseen = dict(self.unseen)
            for name, n in other.unseen.items():
                out.unseen[name] = out.unseen.get(name, 0) + n
            out.unseen_overflow = self.unseen_overflow or other.unseen_overflow
            out._cap_unseen()
        return out

    def _check_compatible(self, other: FeatureProfile) -> None:
        if self.kind == NUMERIC:
            same = other.kind == NUMERIC and (self.edges is other.edges or np.array_equal(self.edges, other.edges))
        else:
            same = other.kind == CATEGORICAL and self.categories == other.categories
        if not same:
            raise LaunchbayError(f"feature '{self.name}': profiles of different references cannot be merged")

    def _cap_unseen(self) -> None:
        if self.unseen_overflow or len(self.unseen) > self.max_categories:
            self.category_counts[-1] += sum(self.unseen.values())
            self.unseen = {}
            self.unseen_overflow = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (floats round-trip exactly; non-finite ones as text)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "null_count": self.null_count,
            "inf_count": self.inf_count,
            "neginf_count": self.neginf_count,
            "epsilon": self.epsilon,
        }
        if self.kind == NUMERIC:
            out.update(
                edges=self.edges.tolist(),
                coarse_starts=self.coarse_starts.tolist(),
                counts=self.counts.tolist(),
                sums=None if self.sums is None else [_number(x) for x in self.sums.tolist()],
                min=_number(self.min),
                max=_number(self.max),
                mean=_number(self.mean),  # NaN or inf when values near the float range overflow the sums
                m2=_number(self.m2),
                center=self.center,
                distinct=self.distinct,
                values=None if self.values is None else self.values.tolist(),
                exact_limit=self.exact_limit,
            )
        else:
            out.update(
                categories=self.categories,
                category_counts=self.category_counts.tolist(),
                truncated=self.truncated,
                unseen=self.unseen,
                unseen_overflow=self.unseen_overflow,
                max_categories=self.max_categories,
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureProfile:
        """Inverse of ``to_dict``; reads the profiles of earlier versions too."""
        data = {"neginf_count": None if data.get("inf_count") else 0, **data}
        if data["kind"] == NUMERIC:
            data["edges"] = np.array(data["edges"], np.float64)
            data["coarse_starts"] = np.array(data["coarse_starts"], np.int64)
            data["counts"] = np.array(data["counts"], np.int64)
            if data.get("sums") is not None:
                data["sums"] = np.array([float(x) for x in data["sums"]], np.float64)
            for key in ("min", "max", "mean", "m2"):
                data[key] = float(data[key])
            if data["values"] is not None:  # profiles written before exact_values kept an empty array past the limit
                data["values"] = exact_values(np.array(data["values"], np.float64), int(data["counts"].sum()), data.get("exact_limit", 0))
        else:
            data["category_counts"] = np.array(data["category_counts"], np.int64)
        return cls(**data)


@dataclass
class DatasetProfile:
    """Profiles of every monitored feature of a dataset, by name, and the multivariate part
    (the reference's PCA and its reconstruction errors, see ``multivariate``; None in
    profiles of earlier versions and with fewer than 2 numeric features)."""

    features: dict[str, FeatureProfile]
    rows: int = 0
    multivariate: Reconstruction | None = None

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """The profile of both datasets together."""
        return merge(self, other)

    def empty(self) -> DatasetProfile:
        """A profile over the same bins and categories with nothing counted."""
        multivariate = self.multivariate.empty() if self.multivariate is not None else None
        return DatasetProfile({name: f.empty() for name, f in self.features.items()}, rows=0, multivariate=multivariate)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        out: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "rows": self.rows,
            "features": [f.to_dict() for f in self.features.values()],
        }
        if self.multivariate is not None:
            out["multivariate"] = self.multivariate.to_dict()
        return out

    def to_json(self) -> str:
        """JSON text; ``from_json`` reads it back exactly."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        """Inverse of ``to_dict``; a profile without a multivariate part (earlier versions) reads as one."""
        if data.get("format") not in READABLE_FORMATS:
            raise LaunchbayError(f"drift profile format {data.get('format')} is not supported (expected {FORMAT_VERSION})")
        features = [FeatureProfile.from_dict(f) for f in data["features"]]
        multivariate = Reconstruction.from_dict(data["multivariate"]) if data.get("multivariate") else None
        return cls({f.name: f for f in features}, rows=data["rows"], multivariate=multivariate)

    @classmethod
    def from_json(cls, text: str) -> DatasetProfile:
        """Read a profile written by ``to_json``."""
        return cls.from_dict(json.loads(text))


def merge(a: DatasetProfile, b: DatasetProfile) -> DatasetProfile:
    """Add two profiles of the same reference; associative and exact for counts."""
    if a.features.keys() != b.features.keys():
        raise LaunchbayError("profiles with different features cannot be merged")
    features = {name: f.merge(b.features[name]) for name, f in a.features.items()}
    return DatasetProfile(features, rows=a.rows + b.rows, multivariate=_merge_multivariate(a.multivariate, b.multivariate))


def _merge_multivariate(a: Reconstruction | None, b: Reconstruction | None) -> Reconstruction | None:
    if a is None and b is None:
        return None
    if a is None or b is None or not a.same_reference(b):
        raise LaunchbayError("profiles of different references cannot be merged (their multivariate parts differ)")
    return a.merge(b)


def merge_moments(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[float, float]:
    """Mean and M2 of two parts (Chan et al.)."""
    (na, mean_a, m2_a), (nb, mean_b, m2_b) = a, b
    if nb == 0:
        return mean_a, m2_a
    if na == 0:
        return mean_b, m2_b
    n = na + nb
    delta = mean_b - mean_a
    return mean_a + delta * nb / n, m2_a + m2_b + delta * delta * na * nb / n


def _number(x: float) -> float | str:
    """A float for JSON: as it is when finite, else its text ('inf', '-inf', 'nan')."""
    return float(x) if math.isfinite(x) else str(float(x))


def exact_values(values: np.ndarray | None, count: int, limit: int) -> np.ndarray | None:
    """What a numeric profile of ``count`` finite values keeps of its sorted ``values``: them
    while they are all of its values and ``count`` is at most ``limit``, else None (sketch only)."""
    return values if values is not None and values.size == count <= limit else None


def _merge_values(a: FeatureProfile, b: FeatureProfile) -> np.ndarray | None:
    count = a.count + b.count
    if a.values is None or b.values is None or count > a.exact_limit:
        return None
    return exact_values(np.sort(np.concatenate([a.values, b.values]), kind="stable"), count, a.exact_limit)
