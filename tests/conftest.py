"""Shared fixtures: one embedded Ray for the whole test session."""

from __future__ import annotations

import pytest

from launchbay.runtime import RuntimeConfig, start


@pytest.fixture(scope="session")
def ray_session():
    """A real embedded Ray with 2 CPUs, started once and shut down at the end."""
    import ray

    started = start(RuntimeConfig(num_cpus=2, object_store_memory_mb=512))
    yield ray
    if started:
        ray.shutdown()
