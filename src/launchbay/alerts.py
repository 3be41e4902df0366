"""Built-in alert channels: ``console`` (one line on stderr) and ``jsonl`` (append to a file)."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from launchbay.components import Alert, AlertChannel
from launchbay.hookspecs import hookimpl


@dataclass
class JsonlConfig:
    path: str = "alerts.jsonl"  # relative paths are inside the run directory


def console(alert: Alert, cfg) -> None:
    about = f"model {alert.model} v{alert.model_version}"
    if alert.candidate is not None:
        need = alert.candidate["candidate"]["required"]
        print(f"ALERT {about} awaits {need} approval(s): {alert.candidate['reasons'][0]} (run {alert.run_id})", file=sys.stderr)
        return
    if alert.performance is not None:
        dropped = ", ".join(alert.performance["dropped"])
        print(f"ALERT performance of {about} dropped: {dropped} (run {alert.run_id})", file=sys.stderr)
        return
    print(
        f"ALERT drift in {len(alert.drifted_features)} feature(s) of {about}: {', '.join(alert.drifted_features)} (run {alert.run_id})",
        file=sys.stderr,
    )


def jsonl(alert: Alert, cfg: JsonlConfig) -> None:
    path = Path(alert.run_dir) / cfg.path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(dataclasses.asdict(alert), default=str) + "\n")


@hookimpl
def launchbay_alert_channels() -> list[AlertChannel]:
    return [
        AlertChannel("console", console, description="one line on stderr"),
        AlertChannel("jsonl", jsonl, JsonlConfig, "append the alert as a JSON line to a file"),
    ]
