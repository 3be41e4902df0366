"""What a model version records about where it came from."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata

import pandas as pd

PACKAGES = ("launchbay", "scikit-learn", "ray", "numpy", "pandas", "pyarrow")


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the rows, column names and types: equal exactly when the training data is."""
    digest = hashlib.sha256(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def git_commit() -> str | None:
    """The commit checked out in the working directory (``+dirty`` with local changes), if any."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def environment() -> dict[str, object]:
    """Python and the versions of launchbay's stack."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "packages": versions}
