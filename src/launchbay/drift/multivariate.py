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
there are. So are the model's outputs (``prediction``, ``score``; see ``build_reference``'s
``outputs``): the part watches what goes into the model, its outputs are watched per feature
as prediction drift.

The band is measured out of sample. The reference's rows are split, in seeded random runs of
consecutive rows: the standardisation and the components come from about ``FIT_ROWS`` of
them (half of a smaller reference), the expected error and the spread of the row errors from
at most ``HELD_OUT_ROWS`` others. Every current row is as new to the PCA as the held-out ones,
so with rows drawn independently from the reference's distribution the current mean error
less the held-out mean has mean 0 and variance s^2 * (1/n + 1/h), where s^2 is the variance
of one row's error, n the current rows and h the held-out rows. The band is the held-out
mean +- ``sigmas`` * s * sqrt(1/n + 1/h): sized to the current batch, and never narrower than
the uncertainty of the held-out mean itself however large the batch. Both means are means of
many rows (normal by the central limit theorem) and s is estimated from the h rows, so such a
batch leaves the band with probability 2 * (1 - Phi(sigmas)): 6.3e-5 at the default 4, 0.27%
at 3, 4.6% at 2. (Errors measured in sample, on the rows the PCA was fitted on, come out
lower than a fresh sample's, by more when the features are close to uncorrelated: a large
batch of the same distribution would land above such a band.)

Fitting on a sample costs little: for normal data the mean error of any data under the PCA
fitted on f rows is within 3 / sqrt(f) (relative, 1.2% at ``FIT_ROWS``) of the one under the
PCA of all of them (scikit-learn's). The scales are estimated to about 0.7 / sqrt(f) each;
the components' error enters only to second order, since the PCA span minimises the error.

The errors are counted by a numba kernel (``reconstruction``) on the CPU, also when
``monitor.device`` counts the bins on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

METRIC = "pca_reconstruction_error"
# Reference rows the standardisation and the components are fitted on (runs of rows up to this many, and one more run).
FIT_ROWS = 1 << 16
# Reference rows the band is measured on, at most (the rest of the rows are not read).
HELD_OUT_ROWS = 1 << 18
# The split cuts the rows into at least this many runs (of up to TILE rows), so that both
# parts come from all over the reference.
RUNS = 256


@dataclass
class Reconstruction:
    """The reference's PCA, its held-out errors and, like any sketch, the error sum and rows counted over it.

    Fixed by the reference: ``features``; ``unit``, ``mean`` and ``scale``, which standardise
    a value x as (x / unit - mean) / scale (``unit`` is a power of two near the feature's
    largest magnitude among the fitted rows, so that neither huge nor subnormal values overflow;
    ``mean`` and ``scale`` are in units of it); ``components`` (every principal axis, strongest
    first, one per row), ``explained`` (their variances), ``kept`` (how many are kept),
    ``variance`` (the share asked for), ``fit_rows`` (rows fitted on), ``held_out_rows``,
    ``held_out_mean`` and ``held_out_std`` (the rows the band is measured on, the mean and the
    standard deviation of their errors; profiles of earlier versions, with chunk statistics,
    load as chunk_rows rows of the chunk mean with chunk_std * sqrt(chunk_rows)). Counted:
    ``error_sum`` and ``rows`` (a reference's: its held-out rows, or a Ray Dataset's every row).
    Merging adds them; the per-row errors do not depend on the split, only the order of the
    additions does, so a merged sum differs from the one-shot sum by at most about
    (blocks + log2 rows) x 1.1e-16 of it.
    """

    features: list[str]
    unit: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    kept: int
    variance: float
    fit_rows: int
    held_out_rows: int
    held_out_mean: float
    held_out_std: float
    error_sum: float = 0.0
    rows: int = 0

    @property
    def error(self) -> float:
        """Mean reconstruction error of the rows counted (NaN without any)."""
        return self.error_sum / self.rows if self.rows else math.nan

    def band(self, rows: int, sigmas: float) -> tuple[float, float]:
        """The (lower, upper) alert thresholds for the mean error of ``rows`` rows (see the module)."""
        width = sigmas * self.held_out_std * math.sqrt(1.0 / max(rows, 1) + 1.0 / max(self.held_out_rows, 1))
        return self.held_out_mean - width, self.held_out_mean + width

    def empty(self) -> Reconstruction:
        """The same PCA with nothing counted."""
        return replace(self, error_sum=0.0, rows=0)

    def merge(self, other: Reconstruction) -> Reconstruction:
        """Errors of both parts together; both must come from one reference."""
        return replace(self, error_sum=self.error_sum + other.error_sum, rows=self.rows + other.rows)

    def same_reference(self, other: Reconstruction) -> bool:
        """True when ``other`` was counted over this PCA."""
        return self.features == other.features and np.array_equal(self.components, other.components)

    def errors(self, columns: list[np.ndarray], tiles: np.ndarray | None = None) -> np.ndarray:
        """Per row, the reconstruction error of the columns of ``features`` (float32 or float64);
        ``tiles``: the runs of rows to measure (see ``reconstruction_errors``; default every row)."""
        from launchbay.drift.reconstruction import reconstruction_errors, whole

        tiles = whole(columns[0].size) if tiles is None else tiles
        return reconstruction_errors(columns, 1.0 / self.unit, self.mean, self.scale, self.components, self.kept, _tasks(tiles), tiles)

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
            "fit_rows": self.fit_rows,
            "held_out_rows": self.held_out_rows,
            "held_out_mean": _number(self.held_out_mean),
            "held_out_std": _number(self.held_out_std),
            "error_sum": _number(self.error_sum),
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reconstruction:
        """Inverse of ``to_dict``; reads the chunk statistics of earlier versions too."""
        data = {k: v for k, v in data.items() if k != "method"}
        if "chunk_rows" in data:  # fitted on every row, the spread from the means of chunks of chunk_rows rows
            chunk_rows = data.pop("chunk_rows")
            data.update(fit_rows=data["rows"], held_out_rows=chunk_rows, held_out_mean=data.pop("chunk_mean"))
            data["held_out_std"] = float(data.pop("chunk_std")) * math.sqrt(chunk_rows)
        for key in ("unit", "mean", "scale", "components", "explained"):
            data[key] = np.array(data[key], np.float64)
        for key in ("held_out_mean", "held_out_std", "error_sum"):
            data[key] = float(data[key])
        return cls(**data)


def split(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The (fit, held-out) tiles of a reference of ``rows`` rows (see ``reconstruction_errors``):
    seeded random runs of consecutive rows, in order within each part: the first runs that
    reach ``FIT_ROWS`` rows (half the rows when fewer) to fit on, then at most
    ``HELD_OUT_ROWS`` rows of the others to measure the band on (one row is both)."""
    from launchbay.drift.reconstruction import TILE

    run = min(TILE, max(1, rows // RUNS))
    starts = np.arange(0, rows, run, dtype=np.int64)
    order = np.random.default_rng(0).permutation(starts.size)
    lengths = np.minimum(run, rows - starts)
    taken = np.cumsum(lengths[order])
    fitted = min(int(np.searchsorted(taken, max(1, min(FIT_ROWS, rows // 2)))) + 1, max(1, starts.size - 1))
    rest = order[fitted:]
    held = int(np.searchsorted(np.cumsum(lengths[rest]), HELD_OUT_ROWS, side="right"))
    fit_runs = np.sort(order[:fitted])
    held_runs = np.sort(rest[: max(1, held)]) if rest.size else fit_runs
    fit_tiles, held_tiles = (np.column_stack([starts[runs], lengths[runs]]).reshape(-1, 2) for runs in (fit_runs, held_runs))
    return fit_tiles, held_tiles


def fit(features: list[str], columns: list[np.ndarray], variance: float) -> Reconstruction:
    """The reference PCA of ``columns`` (one per feature, missing values as NaN or +-inf),
    fitted on one part of the rows, and its errors on another (see ``split``)."""
    from launchbay.drift.reconstruction import centred_gram, finite_sums, largest_magnitudes

    fit_tiles, held_tiles = split(columns[0].size)
    tasks = _tasks(fit_tiles)
    unit = np.array([_unit(top) for top in largest_magnitudes(columns, fit_tiles, tasks)])
    finite, total = finite_sums(columns, fit_tiles, 1.0 / unit, tasks)
    mean = np.where(finite > 0, total / np.maximum(finite, 1.0), 0.0)
    gram = centred_gram(columns, fit_tiles, 1.0 / unit, mean, tasks)
    fitted = int(fit_tiles[:, 1].sum())
    scale = np.sqrt(np.diag(gram) / fitted)  # the missing values count as the mean
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0  # constant: not scaled (as sklearn)
    explained, axes = np.linalg.eigh(gram / np.outer(scale, scale) / max(fitted - 1, 1))
    order = np.argsort(explained)[::-1]
    explained, components = np.clip(explained[order], 0.0, None), np.ascontiguousarray(axes[:, order].T)
    share = np.cumsum(explained) / explained.sum() if explained.sum() > 0 else np.ones_like(explained)
    kept = min(int(np.searchsorted(share, variance, side="right")) + 1, len(features) - 1)
    model = Reconstruction(list(features), unit, mean, scale, components, explained, kept, variance, fitted, 0, 0.0, 0.0)
    errors = model.errors(columns, held_tiles)
    return replace(
        model,
        held_out_rows=errors.size,
        held_out_mean=float(errors.mean()),
        held_out_std=float(errors.std(ddof=1)) if errors.size > 1 else 0.0,
        error_sum=float(errors.sum()),
        rows=errors.size,
    )


def _tasks(tiles: np.ndarray) -> int:
    """Parallel tasks for ``tiles``: one per numba thread, each with at least 4 tiles."""
    from numba import get_num_threads

    return max(1, min(get_num_threads(), -(-tiles.shape[0] // 4)))


def _unit(top: float) -> float:
    """A power of two at or just above ``top`` (a largest magnitude), within 2**-1000 and 2**1000."""
    exponent = int(np.frexp(top)[1]) if top > 0 else 0
    return math.ldexp(1.0, min(max(exponent, -1000), 1000))


def _number(x: float) -> float | str:
    """A float for JSON: as it is when finite, else its text."""
    return float(x) if math.isfinite(x) else str(float(x))
