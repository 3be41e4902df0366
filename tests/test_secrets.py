"""Secrets (a webhook's URL and token, storage credentials) in no output of a real run: not
printed, not in summary.json, the saved config, the registry's records or report.html."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from pyarrow.fs import FileSystem

from launchbay.masking import mask_text, masked
from launchbay.storage import files_under

SECRETS = ("HOOKPATHSECRET", "HOOKTOKENSECRET", "BEARERSECRET", "ACCESSKEYSECRET", "STORESECRET", "ENVSECRETVALUE")


@pytest.fixture
def webhook():
    """A webhook on localhost (a WSGI app) that records the path, query and Authorization of each request."""
    received = []

    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        received.append((environ["PATH_INFO"], environ["QUERY_STRING"], environ.get("HTTP_AUTHORIZATION")))
        start_response("200 OK", [])
        return [b""]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", received
    httpd.shutdown()


def launchbay_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "ENVSECRETVALUE"}
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd, env=env)


def leaked(blob: bytes | str) -> list[str]:
    text = blob.decode(errors="replace") if isinstance(blob, bytes) else blob
    return [secret for secret in SECRETS if secret in text]


def test_masking_rules():
    config = {
        "alerts": {"webhook": {"url": "https://hooks.example.com/T0/B0/XYZ?x=1", "headers": {"Authorization": "Bearer t", "X-Api-Key": "k"}}},
        "registry": {"path": "s3://AK:SK@bucket/registry?endpoint_override=host:9000&secret_key=SK&session_token=ST"},
        "runtime": {"address": "ray://head:10001", "runtime_env": {"env_vars": {"AWS_SECRET_ACCESS_KEY": "SK", "MODE": "fast"}}},
        "overrides": ["+alerts.webhook.headers.Authorization=Bearer t", "job=train"],
        "job": {"model_name": "demo", "seed": 0, "id_column": "row_id"},
    }
    assert masked(config) == {
        "alerts": {"webhook": {"url": "https://hooks.example.com/***", "headers": {"Authorization": "***", "X-Api-Key": "***"}}},
        "registry": {"path": "s3://***@bucket/registry?endpoint_override=host:9000&secret_key=***&session_token=***"},
        "runtime": {"address": "ray://head:10001", "runtime_env": {"env_vars": {"AWS_SECRET_ACCESS_KEY": "***", "MODE": "fast"}}},
        "overrides": ["+alerts.webhook.headers.Authorization=***", "job=train"],
        "job": {"model_name": "demo", "seed": 0, "id_column": "row_id"},
    }
    assert mask_text("cannot open 's3://b/x?access_key=AK&region=eu' (boom)") == "cannot open 's3://b/x?access_key=***&region=eu' (boom)"


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_a_pipeline_keeps_its_secrets(s3_server, tmp_path, webhook):
    host, received = webhook
    bucket = f"secrets-{uuid.uuid4().hex[:8]}"
    filesystem, _ = FileSystem.from_uri(f"s3://{bucket}?{s3_server}")
    filesystem.create_dir(bucket)
    registry = f"registry.path='s3://ACCESSKEYSECRET:STORESECRET@{bucket}/registry?{s3_server}'"
    hook = [f"+alerts.webhook.url='{host}/hooks/HOOKPATHSECRET?token=HOOKTOKENSECRET'", "+alerts.webhook.headers.Authorization='Bearer BEARERSECRET'"]
    run = launchbay_cli("run", "job=pipeline", "data.rows=2000", "batch.rows=1000", "approval.trigger=never", registry, *hook, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert received == [("/hooks/HOOKPATHSECRET", "token=HOOKTOKENSECRET", "Bearer BEARERSECRET")]  # the alert went out whole
    unopened = launchbay_cli("models", "list", "--registry", f"s3://{bucket}/r?access_key=ACCESSKEYSECRET&secret_key=STORESECRET", cwd=tmp_path)
    assert unopened.returncode == 1 and "access_key=***&secret_key=***" in unopened.stderr

    outputs = {f"{name} of {i}": text for i, out in enumerate((run, unopened)) for name, text in (("stdout", out.stdout), ("stderr", out.stderr))}
    run_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"summary.json", "report.html", "config.yaml", "overrides.yaml", "hydra.yaml"} <= {p.name for p in run_files}
    outputs.update({str(p): p.read_bytes() for p in run_files})
    records = files_under(filesystem, f"{bucket}/registry")
    assert "demo/1/meta.json" in records
    outputs.update({name: filesystem.open_input_stream(f"{bucket}/registry/{name}").read() for name in records})
    assert {where: leaked(blob) for where, blob in outputs.items() if leaked(blob)} == {}
    meta = json.loads(outputs["demo/1/meta.json"])["config"]
    assert meta["alerts"]["webhook"] == {"url": f"{host}/***", "headers": {"Authorization": "***"}}
    assert meta["registry"]["path"].startswith(f"s3://***@{bucket}/registry?")
