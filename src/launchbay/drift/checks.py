"""The one-line errors about the data a profile is built from, each worded once."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from launchbay.errors import LaunchbayError


def require_rows(rows: int, side: str) -> None:
    """An error when the ``side`` (reference or current) data has no rows."""
    if rows == 0:
        raise LaunchbayError(f"the {side} data is empty")


def require_features(names: Iterable[str], present: Collection[str]) -> None:
    """An error naming the first of ``names`` that the current data lacks."""
    for name in names:
        if name not in present:
            raise LaunchbayError(f"feature '{name}' is missing from the current data")


def require_values(name: str, count: int, side: str, infinite: int = 0) -> None:
    """An error when feature ``name`` has no values (``count``, finite ones for numbers) in
    the ``side`` data; ``infinite`` of them are +-inf."""
    if count == 0 and infinite:
        raise LaunchbayError(f"feature '{name}' has no finite values in the {side} data ({infinite} +-inf, the rest missing)")
    if count == 0:
        raise LaunchbayError(f"feature '{name}' has no values in the {side} data (all missing)")
