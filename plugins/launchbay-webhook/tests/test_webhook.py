"""The webhook channel against a real HTTP server on localhost, with launchbay's testing kit."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from launchbay.components import Alert
from launchbay.testing import assert_composes, assert_registered
from launchbay_webhook import WebhookConfig, send

ALERT = Alert("r1", "/tmp/r1", "demo", 3, ["num_0", "cat_0"], 0.25, None, {"dataset_drift": False})


@pytest.fixture
def server():
    """A server that answers with the queued status codes and records bodies."""
    received, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/hook", received, statuses
    httpd.shutdown()


def test_registered_through_entry_point(launchbay_plugins):
    manager = launchbay_plugins("webhook")
    assert_registered("alert", "webhook", plugin="webhook", manager=manager)
    assert manager.component("alert", "webhook").config is WebhookConfig


def test_switched_on_in_a_run_config():
    cfg = assert_composes("+alerts.webhook.url=http://127.0.0.1:9/hook", "+alerts.webhook.retries=0")
    assert cfg.alerts.webhook.url == "http://127.0.0.1:9/hook" and cfg.alerts.webhook.retries == 0


def test_a_run_with_drift_posts_its_alert(launchbay_run, server):
    url, received, _ = server
    summary = launchbay_run("job=pipeline", "data.rows=3000", "batch.rows=2000", "approval.trigger=never",
                            f"+alerts.webhook.url={url}", "+alerts.webhook.text_field=text")
    assert summary["drift"]["alerts"] == {"webhook": "sent"}
    (body,) = received
    assert body["run_id"] == summary["run_id"] and body["drifted_features"] == summary["drift"]["drifted_features"]
    assert body["text"].startswith(f"Drift in {len(body['drifted_features'])} feature(s) of demo v1")


def test_posts_alert_with_text(server):
    url, received, _ = server
    send(ALERT, WebhookConfig(url=url, text_field="text"))
    assert received[0]["drifted_features"] == ["num_0", "cat_0"]
    assert received[0]["text"].startswith("Drift in 2 feature(s) of demo v3")


def test_retries_server_errors_then_succeeds(server):
    url, received, statuses = server
    statuses.extend([503, 502])
    send(ALERT, WebhookConfig(url=url, retries=2))
    assert len(received) == 3


def test_client_error_is_not_retried(server):
    url, received, statuses = server
    statuses.append(404)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        send(ALERT, WebhookConfig(url=url, retries=3))
    assert len(received) == 1


def test_errors_do_not_show_the_token(server):
    url, _, statuses = server
    statuses.append(403)
    with pytest.raises(RuntimeError) as raised:
        send(ALERT, WebhookConfig(url=f"{url}/T0/B0/s3cr3t?token=t0ken", retries=0))
    assert str(raised.value) == f"{url.rsplit('/', 1)[0]}/*** answered HTTP 403"
    with pytest.raises(RuntimeError) as raised:
        send(ALERT, WebhookConfig(url="http://127.0.0.1:9/hook?token=t0ken", retries=0, timeout_s=1))
    assert "t0ken" not in str(raised.value) and str(raised.value).startswith("http://127.0.0.1:9/*** unreachable: ")
