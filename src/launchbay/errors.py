"""The error type users see as one line, and how the command line shows it."""

from __future__ import annotations

import sys
from typing import NoReturn


class LaunchbayError(Exception):
    """An error with a message that tells the user what is wrong and where, in one line."""


def exit_with(exc: LaunchbayError) -> NoReturn:
    """Print ``exc`` as ``launchbay: error: ...`` on stderr and exit with status 1."""
    print(f"launchbay: error: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
