"""Shared fixtures: a real third-party plugin installed for the run, one embedded Ray, an
S3 server on localhost."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launchbay.runtime import RuntimeConfig, start

TEST_PLUGIN = Path(__file__).parent / "plugin_pkg"
# Credentials for the local S3 server, set before Ray starts so that its workers have them.
os.environ.update(AWS_ACCESS_KEY_ID="launchbay", AWS_SECRET_ACCESS_KEY="launchbay", AWS_EC2_METADATA_DISABLED="true")


@pytest.fixture(scope="session", autouse=True)
def test_plugin(tmp_path_factory) -> Path:
    """``launchbay-testplugin`` pip-installed into a fresh directory on the path (and PYTHONPATH)."""
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(TEST_PLUGIN)],
        check=True,
    )
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    importlib.invalidate_caches()
    return target


@pytest.fixture(scope="session")
def ray_session(test_plugin):
    """A real embedded Ray with 2 CPUs, started once and shut down at the end."""
    import ray

    started = start(RuntimeConfig(num_cpus=2, object_store_memory_mb=512))
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def s3_server():
    """A local server speaking the S3 protocol (moto): yields the URI query that points pyarrow at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"endpoint_override={host}:{port}&scheme=http&region=us-east-1&allow_bucket_creation=true"
    server.stop()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run in a fresh directory, so runs/ and the registry land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def composed(test_plugin):
    """Compose the config from overrides the way ``launchbay run`` does."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from launchbay.app import prepare
    from launchbay.settings import CONF_DIR

    def compose_with(*overrides: str):
        prepare(list(overrides))
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            return compose("config", overrides=list(overrides))

    return compose_with
