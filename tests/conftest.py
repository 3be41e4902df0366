"""Shared fixtures: a real third-party plugin installed for the run, one embedded Ray (the
testing kit's ``launchbay_ray``), an S3 server on localhost. The kit's other fixtures
(``launchbay_config``, ``launchbay_run``, ...) come from its pytest plugin."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from pathlib import Path

import pytest
from site_install import pip_install

TEST_PLUGIN = Path(__file__).parent / "plugin_pkg"
# Credentials for the local S3 server, set before Ray starts so that its workers have them.
os.environ.update(AWS_ACCESS_KEY_ID="launchbay", AWS_SECRET_ACCESS_KEY="launchbay", AWS_EC2_METADATA_DISABLED="true")


@pytest.fixture(scope="session", autouse=True)
def test_plugin(tmp_path_factory) -> Path:
    """``launchbay-testplugin`` pip-installed into a fresh directory on the path (and PYTHONPATH)."""
    target = pip_install(tmp_path_factory.mktemp("site-packages"), TEST_PLUGIN)
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    importlib.invalidate_caches()
    return target


@pytest.fixture(scope="session")
def launchbay_ray(test_plugin, launchbay_ray):
    """The testing kit's embedded Ray (2 CPUs), started once the test plugin is on the PYTHONPATH its workers inherit."""
    return launchbay_ray


@pytest.fixture(scope="session")
def ray_session(launchbay_ray):
    """The session's Ray, by the name launchbay's own tests use."""
    return launchbay_ray


@pytest.fixture(scope="session")
def s3_server():
    """A local server speaking the S3 protocol (moto's S3 app alone, so that no request pays for
    finding its service among all of moto's): yields the URI query that points pyarrow at it."""
    from moto.moto_server.werkzeug_app import create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request into the captured logs
    server = make_server("127.0.0.1", 0, create_backend_app("s3"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"endpoint_override=127.0.0.1:{server.server_port}&scheme=http&region=us-east-1&allow_bucket_creation=true"
    server.shutdown()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run in a fresh directory, so runs/ and the registry land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Three small pipeline runs of model demo, the batch's num_0 and num_1 shifted further each time (a slow creep).
CREEP = (("0.1", "2"), ("0.3", "3"), ("0.6", "4"))


@pytest.fixture(scope="session")
def demo_history(ray_session, tmp_path_factory) -> Path:
    """A folder whose ``runs/`` holds three real pipeline runs of model ``demo``, drift creeping up run by run."""
    import launchbay

    home = tmp_path_factory.mktemp("history")
    small = ["data.rows=4000", "batch.rows=3000", "data.chunk_rows=1500", "batch.chunk_rows=1500", "approval.trigger=never"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        for shift, seed in CREEP:
            launchbay.run(["job=pipeline", *small, f"batch.drift.mean_shift={shift}", f"batch.seed={seed}"])
    return home


@pytest.fixture(scope="session")
def governed(ray_session, tmp_path_factory) -> Path:
    """A folder whose registry holds model ``demo`` as one real pipeline run under manual approval leaves it,
    with its description and owner, fairness by ``group`` (groups under 100 holdout rows not judged): v1 the
    first champion, v2 a candidate that alice approved (now champion)."""
    from in_process import launchbay_main

    home = tmp_path_factory.mktemp("governed")
    manual = ["approval.mode=manual", "approval.trigger=always", "approval.margin=-1", "data.rows=2000", "batch.rows=1000", "data.groups=4",
              "batch.groups=4", "fairness.groups=[group]", "fairness.min_rows=100"]
    about = ["job.description='Ranks accounts by churn risk for retention offers, not for credit decisions'", "job.owner=risk-team"]
    for argv in (["run", "job=pipeline", *manual, *about], ["models", "approve", "demo", "2", "--by", "alice", "--reason", "holdout checked"]):
        out = launchbay_main(*argv, cwd=home)
        assert out.returncode == 0, out.stderr
    return home
