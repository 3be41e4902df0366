"""Closed choices of config dataclasses.

Each closed choice is an ``enum.StrEnum`` field, so Hydra rejects a wrong value when it
composes the config and lists the valid ones. Dataclasses built in Python (the drift,
contract and runtime settings are public API) check theirs with ``check_choices``.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, get_type_hints

from launchbay.errors import LaunchbayError


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
