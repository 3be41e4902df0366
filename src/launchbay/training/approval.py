"""The promotion rule: a challenger replaces the champion only if it wins by a margin."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from launchbay.errors import LaunchbayError
from launchbay.training.metrics import LOWER_IS_BETTER, gain

TRIGGERS = ("drift", "always", "never")


@dataclass
class Decision:
    promote: bool
    metric: str
    champion: float
    challenger: float
    margin: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def decide(champion: dict[str, float], challenger: dict[str, float], metric: str, margin: float, rows: int) -> Decision:
    """Compare two models' metrics measured on the same ``rows`` holdout rows."""
    if metric not in champion or metric not in challenger:
        have = sorted(set(champion) & set(challenger))
        raise LaunchbayError(f"approval.metric: '{metric}' is not measured for both champion and challenger (have {have})")
    won = gain(metric, challenger[metric], champion[metric])
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    promote = won >= margin
    reasons = [
        f"{metric} ({direction} is better) on the same {rows} holdout rows: challenger {challenger[metric]:.4f}, "
        f"champion {champion[metric]:.4f}, gain {won:+.4f}, required {margin:+.4f}",
        "challenger promoted" if promote else "champion kept: the challenger did not win by the margin",
    ]
    return Decision(promote, metric, champion[metric], challenger[metric], margin, reasons)


def trigger(setting: str, drift: dict | None) -> str | None:
    """Why job=pipeline should train a challenger now, or None."""
    if setting not in TRIGGERS:
        raise LaunchbayError(f"approval.trigger must be one of {list(TRIGGERS)}, got '{setting}'")
    if setting == "always":
        return "on demand (approval.trigger=always)"
    drifted = (drift or {}).get("drifted_features") or []
    if setting == "drift" and drifted:
        return f"drift in {', '.join(drifted)}"
    return None
