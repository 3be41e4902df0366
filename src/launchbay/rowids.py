"""Row ids of a scored batch: keys to find repeated ids, and ids for inputs without one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def id_keys(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """64-bit keys of the non-null row ids, equal exactly when the ids are (integers), or with a
    chance of about n² / 2⁶⁵ of any collision among n ids (others, hashed). Integer ids without
    nulls are read in place."""
    import pandas as pd

    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    if ids.null_count:
        ids = ids.drop_null()
    if pa.types.is_integer(ids.type):
        return ids.to_numpy().astype(np.int64, copy=False).view(np.uint64)
    return pd.util.hash_array(np.asarray(ids.to_pandas(), dtype=object))


def repeats(keys: np.ndarray) -> int:
    """How many of ``keys`` repeat an earlier one: one pass for keys in increasing order, else one sort."""
    from launchbay.kernels import strictly_increasing

    if strictly_increasing(keys):
        return 0
    ordered = np.sort(keys)
    return int(np.count_nonzero(ordered[1:] == ordered[:-1]))


def generated_ids(n: int) -> pa.Array:
    """Random 63-bit row ids for inputs without one: unique, not stable across runs."""
    start = int.from_bytes(np.random.default_rng().bytes(8), "little") >> 2
    return pa.array(np.arange(start, start + n, dtype=np.int64))
