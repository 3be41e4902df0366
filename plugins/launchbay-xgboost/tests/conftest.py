"""One embedded Ray for the session, and a fresh working directory per test."""

from __future__ import annotations

import pytest

from launchbay.runtime import RuntimeConfig, start


@pytest.fixture(scope="session")
def ray_session():
    """A real embedded Ray with 2 CPUs (or the one already running in this process)."""
    import ray

    started = start(RuntimeConfig(num_cpus=2, object_store_memory_mb=512))
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in a fresh directory, so runs/ and the registry land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
