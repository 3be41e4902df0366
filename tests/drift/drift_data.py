"""Random data shapes that drift tests draw from."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

SHAPES = ("normal", "heavy_tailed", "discrete", "with_nan_inf", "constant_ish")


def sample(shape: str, n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """n float64 values of a named shape, shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    if shape == "normal":
        x = rng.normal(shift, 1.0, n)
    elif shape == "heavy_tailed":
        x = rng.standard_t(1.2, n) + shift
    elif shape == "discrete":
        x = rng.integers(0, 12, n).astype(np.float64) + round(shift)
    elif shape == "constant_ish":
        x = np.where(rng.random(n) < 0.9, 3.0, rng.normal(3.0 + shift, 1.0, n))
    else:
        x = rng.normal(shift, 2.0, n)
        x[rng.random(n) < 0.1] = np.nan
        x[rng.random(n) < 0.02] = np.inf
        x[rng.random(n) < 0.02] = -np.inf
    return x


def finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


@st.composite
def numeric_pairs(draw, max_size: int = 3000):
    """(reference, current) float arrays with at least one finite value each."""
    shape = draw(st.sampled_from(SHAPES))
    n_ref = draw(st.integers(1, max_size))
    n_cur = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**31))
    shift = draw(st.sampled_from([0.0, 0.05, 0.5, 3.0]))
    ref, cur = sample(shape, n_ref, seed), sample(shape, n_cur, seed + 1, shift)
    ref[0] = 1.0 if not np.isfinite(ref[0]) else ref[0]
    cur[0] = 1.0 if not np.isfinite(cur[0]) else cur[0]
    return ref, cur


@st.composite
def category_pairs(draw, max_size: int = 3000):
    """(reference, current) string arrays; the current may hold categories the reference lacks."""
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    k_ref = draw(st.integers(1, 8))
    k_new = draw(st.integers(0, 3))
    n_ref, n_cur = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    names = np.array([f"c{i}" for i in range(k_ref + k_new)])
    ref = names[rng.integers(0, k_ref, n_ref)]
    cur = names[rng.integers(0, k_ref + k_new, n_cur)]
    return ref, cur


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)
