"""Atomic directory outputs: write under a staging name, rename into place at the end."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield a new, empty staging directory that becomes ``final`` only if the block succeeds.

    On failure the staging directory is removed and ``final`` is left as it was; on
    success an existing ``final`` (a re-run of the same run) is replaced.
    """
    final = Path(final)
    staging = final.with_name(f".{final.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if final.exists():
        retired = final.with_name(f".{final.name}.retired")
        shutil.rmtree(retired, ignore_errors=True)
        final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired)
    else:
        staging.rename(final)
