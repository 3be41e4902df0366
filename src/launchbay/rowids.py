"""Row ids of a scored batch: keys to find repeated ids across pieces, and ids for inputs without one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def id_keys(ids: pa.ChunkedArray) -> np.ndarray:
    """64-bit keys of non-null row ids, equal exactly when the ids are (integers), or with a
    chance of about n² / 2⁶⁵ of any collision among n ids (others, hashed)."""
    import pandas as pd

    if pa.types.is_integer(ids.type):
        return ids.to_numpy().astype(np.int64).view(np.uint64)
    return pd.util.hash_array(np.asarray(ids.to_pandas(), dtype=object))


def repeats(keys: np.ndarray) -> int:
    """How many of ``keys`` repeat an earlier one."""
    return int(keys.size - np.unique(keys).size)


def generated_ids(n: int) -> pa.Array:
    """Random 63-bit row ids for inputs without one: unique, not stable across runs."""
    start = int.from_bytes(np.random.default_rng().bytes(8), "little") >> 2
    return pa.array(np.arange(start, start + n, dtype=np.int64))
