"""launchbay: take machine-learning models from pilot to production on Ray."""

import importlib.metadata
import os

# OpenMP threads (numba's parallel kernels, scikit-learn's) sleep when idle instead of spinning:
# on a machine whose cores are shared (Ray workers, other jobs) a spinning thread keeps the one
# it waits for off its core, and compare() ran 4-5x slower at a load of 12 on 2 cores. Read when
# OpenMP starts, so it is set on import; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from launchbay.hookspecs import hookimpl

__version__ = importlib.metadata.version("launchbay")
__all__ = ["hookimpl", "run", "__version__"]


def run(overrides: list[str] | None = None) -> dict:
    """Run a job exactly as ``launchbay run`` does and return its summary."""
    from launchbay.app import run_api

    return run_api(list(overrides or []))
