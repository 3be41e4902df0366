"""launchbay's pytest plugin: the fixtures of the plugin authors' testing kit.

Found through the ``pytest11`` entry point ``launchbay``, so it loads in every pytest run
where launchbay is installed: this module imports nothing heavy.

- ``launchbay_ray``: one embedded Ray (2 CPUs, 512 MiB object store) for the session.
- ``launchbay_config("data=mine", "data.path=x")``: the config ``launchbay run`` composes.
- ``launchbay_plugins("my_plugin", autoload=False)``: a fresh plugin manager with only the
  built-ins and the plugins named.
- ``launchbay_synthetic(rows=1000, drift=0.0, seed=0, path=None)``: a parquet file of synthetic rows.
- ``launchbay_run("job=pipeline", ...)``: a job run in the test's own directory (its own
  ``runs/`` and registry); returns the summary, raises ``RunFailed`` with the one-line error.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from launchbay.testing import RunFailed, compose, plugin_manager
from launchbay.testing.data import SyntheticData, write_synthetic

__all__ = ["launchbay_config", "launchbay_plugins", "launchbay_ray", "launchbay_run", "launchbay_synthetic"]


@pytest.fixture(scope="session")
def launchbay_ray() -> Iterator[Any]:
    """The ``ray`` module, with an embedded Ray started once for the session (or the one running)."""
    import ray

    from launchbay.runtime import RuntimeConfig, start

    started = start(RuntimeConfig(num_cpus=2, object_store_memory_mb=512))
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def launchbay_config() -> Callable[..., Any]:
    """``launchbay_config(*overrides) -> DictConfig``, composed as ``launchbay run`` composes it
    (``launchbay.testing.assert_composes`` checks its settings too)."""
    return compose


@pytest.fixture
def launchbay_plugins() -> Callable[..., Any]:
    """``launchbay_plugins(*names, autoload=False) -> PluginManager``: built-ins plus the plugins named
    (entry-point names or module paths); ``autoload=True`` adds every installed one."""
    return plugin_manager


@pytest.fixture
def launchbay_synthetic(tmp_path: Path) -> Callable[..., SyntheticData]:
    """``launchbay_synthetic(rows=1000, drift=0.0, seed=0, path=None, **settings) -> SyntheticData``:
    a parquet file (a folder when ``path`` has no ``.parquet`` suffix) in the test's directory."""
    made = itertools.count()

    def synthetic(rows: int = 1000, drift: float = 0.0, seed: int = 0, path: str | Path | None = None, **settings: Any) -> SyntheticData:
        target = Path(path) if path is not None else tmp_path / f"synthetic-{next(made)}.parquet"
        return write_synthetic(target, rows, drift, seed, **settings)

    return synthetic


class Runner:
    """Runs jobs in ``home``: runs land in ``home/runs``, models in ``home/.launchbay/registry``."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def __call__(self, *overrides: str) -> dict[str, Any]:
        __tracebackhide__ = True
        import launchbay
        from launchbay.errors import debugging, one_line

        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.home)
            try:
                return launchbay.run(list(overrides))
            except Exception as exc:
                if debugging():
                    raise RunFailed(one_line(exc)) from exc
                message = one_line(exc)
        raise RunFailed(message)  # outside the handler: the line alone, not launchbay's traceback


@pytest.fixture
def launchbay_run(launchbay_ray, tmp_path: Path) -> Runner:
    """``launchbay_run(*overrides) -> summary``: ``launchbay run`` on the session's Ray in a directory
    of the test's own, shared by the test's runs (``launchbay_run.home``); a failed job raises
    ``RunFailed`` whose message is the line ``launchbay run`` prints (its cause with ``LAUNCHBAY_DEBUG=1``)."""
    home = tmp_path / "launchbay"
    home.mkdir()
    return Runner(home)
