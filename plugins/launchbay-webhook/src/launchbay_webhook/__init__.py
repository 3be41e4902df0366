"""POST launchbay drift alerts as JSON to a webhook."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
from dataclasses import dataclass, field

from launchbay import hookimpl
from launchbay.components import Alert, AlertChannel
from launchbay.masking import mask_text


@dataclass
class WebhookConfig:
    url: str = "???"
    timeout_s: float = 10.0
    retries: int = 2
    headers: dict[str, str] = field(default_factory=dict)
    text_field: str = ""  # e.g. "text" for Slack/Teams incoming webhooks


def payload(alert: Alert, cfg: WebhookConfig) -> dict:
    body = dataclasses.asdict(alert)
    if cfg.text_field:
        body[cfg.text_field] = (
            f"Drift in {len(alert.drifted_features)} feature(s) of {alert.model} v{alert.model_version}: "
            f"{', '.join(alert.drifted_features)} (run {alert.run_id})"
        )
    return body


def send(alert: Alert, cfg: WebhookConfig) -> None:
    """POST the alert; retry with backoff on network errors and 5xx answers. Errors name the
    URL without its path and query, where webhooks carry their token."""
    request = urllib.request.Request(
        cfg.url,
        data=json.dumps(payload(alert, cfg), default=str).encode(),
        headers={"Content-Type": "application/json", **cfg.headers},
        method="POST",
    )
    where = mask_text(cfg.url)
    for attempt in range(cfg.retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout_s):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == cfg.retries:
                raise RuntimeError(f"{where} answered HTTP {exc.code}") from exc
        except OSError as exc:
            if attempt == cfg.retries:
                raise RuntimeError(f"{where} unreachable: {exc}") from exc
        time.sleep(0.2 * 2**attempt)


@hookimpl
def launchbay_alert_channels() -> list[AlertChannel]:
    return [AlertChannel("webhook", send, WebhookConfig, "POST the alert as JSON to a URL")]
