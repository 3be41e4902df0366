"""Multivariate drift: the data reconstruction error of a PCA fitted on the reference.

The reference's numeric features are standardised (reference mean and standard deviation)
and a PCA keeps the fewest components that explain more than ``variance`` of their
variance (as scikit-learn's ``PCA(n_components=variance)``), all but one at most, so that
something is left to reconstruct. A row's reconstruction error is the Euclidean distance
between the standardised row and its projection on those components; the metric is its
mean over the data. A change in how the features go
together, a correlation flipping sign, moves the rows off the reference's components and
raises the error even when every feature's own distribution stays the same.

Why this and not a domain classifier (a model told to tell reference from current rows):
the error is a sum and a count, so a block's part merges with the rest of the sketch, is
counted in the same pass over the data and needs no second model trained per run. It
says nothing about which feature changed (the per-feature metrics do), but it catches
changes of correlation that they cannot see.

Missing values: null, NaN and +-inf are imputed by the reference mean (NannyML's choice),
i.e. 0 once standardised, so a row with missing values is measured on the rest of its
features. Categorical features are left out of the PCA: their drift is what the
per-feature metrics see, and one-hot columns would weigh the PCA by how many categories
there are.

The threshold has a meaning through the reference's own spread: its rows are cut, in
order, into ``chunks`` chunks and the mean error of each is measured; the band is the
reference mean +- ``sigmas`` standard deviations of those chunk means. A current sample
smaller than a chunk is noisier: the band widens by sqrt(chunk rows / current rows).
With independent rows, a fresh sample of the reference's distribution, of a chunk's rows,
leaves a band of +-3 standard deviations of 10 chunk means about 1.9% of the time (its
mean less theirs, over their standard deviation, is Student's t with 9 degrees of freedom
times sqrt(1.1)); a larger sample less often.

The errors are counted by a numba kernel (``reconstruction``) on the CPU, also when
``monitor.device`` counts the bins on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

METRIC = "pca_reconstruction_error"
# Rows standardised at a time while fitting (bounds the working memory).
ROWS_PER_PIECE = 1 << 16


@dataclass
class Reconstruction:
    """The reference's PCA and, like any sketch, the error sum and rows counted over it.

    Fixed by the reference: ``features``; ``unit``, ``mean`` and ``scale``, which standardise
    a value x as (x / unit - mean) / scale (``unit`` is a power of two near the feature's
    largest magnitude, so that neither huge nor subnormal values overflow; ``mean`` and
    ``scale`` are in units of it); ``components`` (every principal axis, strongest first,
    one per row), ``explained`` (their variances), ``kept`` (how many are kept),
    ``variance`` (the share asked for), ``chunk_rows``, ``chunk_mean`` and ``chunk_std``
    (the mean and standard deviation of the chunk means). Counted: ``error_sum`` and
    ``rows``. Merging adds them; the per-row errors do not depend on the split, only the
    order of the additions does, so a merged sum differs from the one-shot sum by at most
    about (blocks + log2 rows) x 1.1e-16 of it.
    """

    features: list[str]
    unit: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    kept: int
    variance: float
    chunk_rows: int
    chunk_mean: float
    chunk_std: float
    error_sum: float = 0.0
    rows: int = 0

    @property
    def error(self) -> float:
        """Mean reconstruction error of the rows counted (NaN without any)."""
        return self.error_sum / self.rows if self.rows else math.nan

    def band(self, rows: int, sigmas: float) -> tuple[float, float]:
        """The (lower, upper) alert thresholds for the mean error of ``rows`` rows."""
        width = sigmas * self.chunk_std * math.sqrt(max(1.0, self.chunk_rows / rows))
        return self.chunk_mean - width, self.chunk_mean + width

    def empty(self) -> Reconstruction:
        """The same PCA with nothing counted."""
        return replace(self, error_sum=0.0, rows=0)

    def merge(self, other: Reconstruction) -> Reconstruction:
        """Errors of both parts together; both must come from one reference."""
        return replace(self, error_sum=self.error_sum + other.error_sum, rows=self.rows + other.rows)

    def same_reference(self, other: Reconstruction) -> bool:
        """True when ``other`` was counted over this PCA."""
        return self.features == other.features and np.array_equal(self.components, other.components)

    def errors(self, columns: list[np.ndarray]) -> np.ndarray:
        """Per row, the reconstruction error of the columns of ``features`` (float32 or float64)."""
        from numba import get_num_threads

        from launchbay.drift.reconstruction import TILE, reconstruction_errors

        tasks = min(get_num_threads(), -(-columns[0].size // (4 * TILE)))
        return reconstruction_errors(columns, 1.0 / self.unit, self.mean, self.scale, self.components, self.kept, tasks)

    def count(self, columns: list[np.ndarray]) -> Reconstruction:
        """The error sum and rows of ``columns`` over this PCA."""
        return replace(self, error_sum=float(self.errors(columns).sum()), rows=columns[0].size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (floats round-trip exactly)."""
        return {
            "method": METRIC,
            "features": self.features,
            "unit": self.unit.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "components": self.components.tolist(),
            "explained": self.explained.tolist(),
            "kept": self.kept,
            "variance": self.variance,
            "chunk_rows": self.chunk_rows,
            "chunk_mean": _number(self.chunk_mean),
            "chunk_std": _number(self.chunk_std),
            "error_sum": _number(self.error_sum),
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reconstruction:
        """Inverse of ``to_dict``."""
        data = {k: v for k, v in data.items() if k != "method"}
        for key in ("unit", "mean", "scale", "components", "explained"):
            data[key] = np.array(data[key], np.float64)
        for key in ("chunk_mean", "chunk_std", "error_sum"):
            data[key] = float(data[key])
        return cls(**data)


def fit(features: list[str], columns: list[np.ndarray], variance: float, chunks: int) -> Reconstruction:
    """The reference PCA of ``columns`` (one per feature, missing values as NaN or +-inf),
    its chunk statistics, and its own errors counted."""
    finite = [np.isfinite(x) for x in columns]
    unit = np.array([_unit(x, ok) for x, ok in zip(columns, finite)])
    mean = np.array([(x / u).mean(where=ok) if ok.any() else 0.0 for x, ok, u in zip(columns, finite, unit)])
    scale = np.array([np.sqrt(np.square(x / u - m, where=ok, out=np.zeros(x.size)).mean()) for x, ok, u, m in zip(columns, finite, unit, mean)])
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0  # constant: not scaled (as sklearn)
    rows = columns[0].size
    gram = np.zeros((len(columns), len(columns)))
    for start in range(0, rows, ROWS_PER_PIECE):
        piece = slice(start, start + ROWS_PER_PIECE)
        z = np.stack([np.where(ok[piece], x[piece] / u - m, 0.0) / s for x, ok, u, m, s in zip(columns, finite, unit, mean, scale)])
        gram += z @ z.T
    explained, axes = np.linalg.eigh(gram / max(rows - 1, 1))
    order = np.argsort(explained)[::-1]
    explained, components = np.clip(explained[order], 0.0, None), np.ascontiguousarray(axes[:, order].T)
    share = np.cumsum(explained) / explained.sum() if explained.sum() > 0 else np.ones_like(explained)
    kept = min(int(np.searchsorted(share, variance, side="right")) + 1, len(features) - 1)
    model = Reconstruction(list(features), unit, mean, scale, components, explained, kept, variance, 0, 0.0, 0.0)
    errors = model.errors(columns)
    chunk_rows = max(1, rows // chunks)
    chunk_means = [part.mean() for part in np.array_split(errors, max(1, rows // chunk_rows))]
    return replace(
        model,
        chunk_rows=chunk_rows,
        chunk_mean=float(np.mean(chunk_means)),
        chunk_std=float(np.std(chunk_means, ddof=1)) if len(chunk_means) > 1 else 0.0,
        error_sum=float(errors.sum()),
        rows=rows,
    )


def _unit(x: np.ndarray, finite: np.ndarray) -> float:
    """A power of two at or just above the largest finite magnitude of ``x``, within 2**-1000 and 2**1000."""
    top = np.abs(x, where=finite, out=np.zeros(x.size)).max(initial=0.0)
    exponent = int(np.frexp(top)[1]) if top > 0 else 0
    return math.ldexp(1.0, min(max(exponent, -1000), 1000))


def _number(x: float) -> float | str:
    """A float for JSON: as it is when finite, else its text."""
    return float(x) if math.isfinite(x) else str(float(x))
