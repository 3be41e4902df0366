"""launchbay: take machine-learning models from pilot to production on Ray."""

import importlib.metadata

from launchbay.hookspecs import hookimpl

__version__ = importlib.metadata.version("launchbay")
__all__ = ["hookimpl", "run", "__version__"]


def run(overrides: list[str] | None = None) -> dict:
    """Run a job exactly as ``launchbay run`` does and return its summary."""
    from launchbay.app import run_api

    return run_api(list(overrides or []))
