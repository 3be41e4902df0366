"""Installing test packages the way a user would: ``pip install --target`` into a site directory.

Each package is built from a private copy of its folder, because setuptools writes ``build/`` and
``*.egg-info`` into the folder it builds, and two test workers building the same folder at once
break each other's build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD_LEFTOVERS = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")


def pip_install(site: Path, *packages: Path) -> Path:
    """Each of ``packages`` (a folder with a ``pyproject.toml``) built from a copy and installed into ``site``; returns ``site``."""
    with tempfile.TemporaryDirectory(prefix="launchbay-build-") as scratch:
        copies = [shutil.copytree(package, Path(scratch) / package.name, ignore=BUILD_LEFTOVERS) for package in packages]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), *map(str, copies)],
            check=True,
            capture_output=True,
        )
    return site
