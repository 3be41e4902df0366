"""Synthetic data files for tests, from ``launchbay.data.synthetic`` (the demo's generator)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SyntheticData:
    """A parquet file (or folder) of synthetic rows; usable as a path (``f"data.path={data}"``)."""

    path: Path
    rows: int

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame."""
        import pyarrow.parquet as pq

        return pq.read_table(self.path).to_pandas()


def write_synthetic(path: Path, rows: int = 1000, drift: float = 0.0, seed: int = 0, **settings: Any) -> SyntheticData:
    """Write synthetic rows to ``path``: one parquet file if it ends in ``.parquet``, else a folder
    with one file per ``chunk_rows`` rows. ``drift`` shifts the mean of ``num_0`` and ``num_1`` by that
    many standard deviations; ``settings`` are the other fields of ``SyntheticConfig`` (``numeric``,
    ``categorical``, ``categories``, ``chunk_rows``, ``drift`` fields by their ``DriftSpec`` names)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from launchbay.data.synthetic import DriftSpec, SyntheticConfig, generate

    spec = {name: settings.pop(name) for name in list(settings) if name in DriftSpec.__dataclass_fields__}
    cfg = SyntheticConfig(rows=rows, seed=seed, drift=DriftSpec(mean_shift=drift, **spec), **settings)
    chunks = [generate(cfg, i) for i in range(-(-rows // cfg.chunk_rows))]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(pa.concat_tables(chunks), path)
    else:
        path.mkdir(exist_ok=True)
        for i, table in enumerate(chunks):
            pq.write_table(table, path / f"part-{i:05d}.parquet")
    return SyntheticData(Path(os.path.abspath(path)), rows)
