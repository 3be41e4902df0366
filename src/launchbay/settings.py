"""Checks of config dataclasses: their closed choices and their ranges.

Each closed choice is an ``enum.StrEnum`` field, so Hydra rejects a wrong value when it
composes the config and lists the valid ones; ``check_choices`` does the same for
dataclasses built in Python (the drift, contract and runtime settings are public API).
Ranges are checked in each dataclass's ``__post_init__`` with ``require``, which runs
when the composed config is validated, before any work starts.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

from launchbay.errors import LaunchbayError

# The shipped Hydra config tree (``conf/`` in the source tree, inside the wheel when installed).
CONF_DIR = Path(__file__).parent / "conf"


def check_choices(settings: Any, key: str) -> None:
    """Turn the values of ``settings``' Enum fields into members, or a one-line error naming ``key``."""
    hints = get_type_hints(type(settings))
    for field in fields(settings):
        kind = hints[field.name]
        if not (isinstance(kind, type) and issubclass(kind, Enum)):
            continue
        value = getattr(settings, field.name)
        try:
            setattr(settings, field.name, kind(value))
        except ValueError:
            names = [member.value for member in kind]
            choices = f"{', '.join(names[:-1])} or {names[-1]}"
            raise LaunchbayError(f"{key}.{field.name} must be {choices}, got '{value}'") from None


def require(holds: bool, key: str, rule: str, value: Any) -> None:
    """A one-line error ``<key> must be <rule>, got <value>`` unless ``holds``."""
    if not holds:
        raise LaunchbayError(f"{key} must be {rule}, got {value!r}")


def check_resources(key: str, num_cpus: float, num_gpus: float, memory_mb: int | None) -> None:
    """One-line errors naming ``<key>.num_cpus``, ``.num_gpus`` or ``.memory_mb`` unless each is in range."""
    require(num_cpus > 0, f"{key}.num_cpus", "positive", num_cpus)
    require(num_gpus >= 0, f"{key}.num_gpus", "0 or more", num_gpus)
    require(memory_mb is None or memory_mb >= 1, f"{key}.memory_mb", "at least 1 (or null: none reserved)", memory_mb)
