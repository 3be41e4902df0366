"""POST launchbay alerts (drift, a performance drop) as JSON to a webhook."""

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
        body[cfg.text_field] = text(alert)
    return body


def text(alert: Alert) -> str:
    """One line saying what happened: which metrics dropped (a performance alert), else which
    features drifted and whether the multivariate row left its band."""
    model = f"{alert.model} v{alert.model_version}"
    if alert.performance:
        section = alert.performance
        drops = []
        for metric in section["dropped"]:
            realized = (section["realized"] or {}).get(metric)
            value, how = (realized, "realized") if realized is not None else ((section["estimated"] or {})[metric], "estimated")
            drops.append(f"{metric} {section['reference'][metric]:.4g} → {value:.4g} ({how})")
        return f"Performance of {model} dropped: {', '.join(drops)} (run {alert.run_id})"
    parts = []
    if alert.drifted_features:
        parts.append(f"Drift in {len(alert.drifted_features)} feature(s) of {model}: {', '.join(alert.drifted_features)}")
    multivariate = alert.summary.get("multivariate") or {}
    if multivariate.get("drifted"):
        parts.append(
            f"{'multivariate' if parts else f'Multivariate drift in {model}:'} {multivariate['metric']} {multivariate['value']:.4g} "
            f"outside [{multivariate['lower']:.4g}, {multivariate['upper']:.4g}] over {', '.join(multivariate['features'])}"
        )
    return f"{'; '.join(parts) or f'Drift in {model}'} (run {alert.run_id})"


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
