"""``launchbay warmup`` fills numba's on-disk cache: a run after it compiles nothing, neither in its own process nor in its Ray workers."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

import launchbay

SOURCE = Path(launchbay.__file__).parent


def cached_kernels() -> list[CPUDispatcher]:
    """Every ``cache=True`` kernel of launchbay that is called as a function of its own (an inlined one has no cache entry)."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "cache=True" not in path.read_text():
            continue
        module = importlib.import_module(".".join(("launchbay", *path.relative_to(SOURCE).with_suffix("").parts)))
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher) and not isinstance(value._cache, NullCache) and value.targetoptions.get("inline") != "always":
                found.append(value)
    return found


def cache_files(cache: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in cache.rglob("*.nb[ic]")}


@pytest.mark.slow  # every kernel compiled afresh, then a whole run in a process of its own
def test_a_run_after_the_warm_up_compiles_nothing(tmp_path):
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}

    def launchbay_command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=tmp_path, env=env)

    warm = launchbay_command("warmup")
    assert warm.returncode == 0, warm.stderr
    warmed = cache_files(cache)
    kernels = cached_kernels()
    assert len(kernels) >= 10
    for kernel in kernels:
        code = kernel.py_func.__code__
        index = f"{Path(code.co_filename).stem}.{kernel.py_func.__qualname__}-{code.co_firstlineno}.py"
        assert any(path.name.startswith(index) and path.suffix == ".nbi" for path in warmed), f"the warm-up leaves {index} uncompiled"
    run = launchbay_command("run", "job=pipeline", "data.rows=3000", "batch.rows=2000")
    assert run.returncode == 0, run.stderr
    assert cache_files(cache) == warmed, "the run compiled kernels the warm-up did not"
