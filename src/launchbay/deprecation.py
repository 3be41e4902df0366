"""Deprecated public names: each keeps working for one minor release, with a ``DeprecationWarning``
that says what to use instead and the release it goes away in (docs/api.md lists them)."""

from __future__ import annotations

import warnings

# The release that removes what is deprecated now: the minor release after the current one.
REMOVED_IN = "0.2.0"


def warn_deprecated(name: str, replacement: str) -> None:
    """Warn, on behalf of the caller of a deprecated ``name``, that it goes away and what replaces it."""
    warnings.warn(f"{name} is deprecated and will be removed in launchbay {REMOVED_IN}: use {replacement}", DeprecationWarning, stacklevel=3)
