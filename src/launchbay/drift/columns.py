"""Arrow in: tables from what callers pass, numpy arrays from columns, and feature kinds."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from launchbay.drift.config import MonitorConfig
from launchbay.drift.profile import CATEGORICAL, NUMERIC
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import pyarrow as pa


def as_arrow(data: Any, role: str) -> pa.Table:
    """A pyarrow Table from a Table, RecordBatch or pandas DataFrame."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise LaunchbayError(f"the {role} data is a {type(data).__name__}; expected a pandas DataFrame or a pyarrow Table")


def feature_kinds(schema: pa.Schema, config: MonitorConfig) -> dict[str, str]:
    """Monitored columns and whether each is numeric or categorical."""
    import pyarrow as pa

    categorical = config.categorical
    for name in [*(categorical or []), *config.features]:
        if name not in schema.names:
            raise LaunchbayError(f"feature '{name}' named in the monitor config is not in the reference data")
    kinds = {}
    for column in schema:
        if column.name in config.exclude:
            continue
        t = column.type
        if categorical is not None:
            is_categorical = column.name in categorical
        else:
            is_categorical = (
                pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t) or pa.types.is_boolean(t)
            )
        if not is_categorical and not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
            raise LaunchbayError(
                f"feature '{column.name}' has type {t}, which is not numeric: "
                "list it in monitor.categorical or monitor.exclude"
            )
        kinds[column.name] = CATEGORICAL if is_categorical else NUMERIC
    if not kinds:
        raise nothing_to_monitor(config)
    return kinds


def nothing_to_monitor(config: MonitorConfig) -> LaunchbayError:
    return LaunchbayError(f"no column is left to monitor: the exclusions ({', '.join(config.exclude) or 'none'}) cover every column of the reference data")


def as_float64(chunk: pa.Array, name: str) -> np.ndarray:
    """A float64 numpy array with NaN for nulls (zero-copy for float64 without nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    if chunk.type != pa.float64():
        # numbers past 2**53 become the nearest float; other types must convert exactly
        exact = not (pa.types.is_integer(chunk.type) or pa.types.is_decimal(chunk.type))
        try:
            chunk = pc.cast(chunk, pa.float64(), safe=exact)
        except pa.ArrowInvalid as exc:
            raise LaunchbayError(f"feature '{name}' is not numeric in the current data ({chunk.type})") from exc
    if chunk.null_count:
        chunk = pc.fill_null(chunk, math.nan)
    return chunk.to_numpy(zero_copy_only=False)


def as_counted(chunk: pa.Array, name: str) -> np.ndarray:
    """What the counting pass reads: float32 as it is (half the bytes, no copy without
    nulls), anything else as ``as_float64``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if chunk.type != pa.float32():
        return as_float64(chunk, name)
    return (pc.fill_null(chunk, math.nan) if chunk.null_count else chunk).to_numpy(zero_copy_only=False)


def column_values(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A whole column as one ``as_float64`` array (no copy for a single chunk)."""
    chunks = [as_float64(chunk, name) for chunk in column.chunks]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks or [np.empty(0)])
