"""The error type users see as one line, and how the command line shows it."""

from __future__ import annotations

import sys
from typing import NoReturn

from launchbay.masking import mask_text


class LaunchbayError(Exception):
    """An error with a message that tells the user what is wrong and where, in one line."""


def exit_with(exc: LaunchbayError) -> NoReturn:
    """Print ``exc`` as one line ``launchbay: error: ...`` on stderr (URL credentials masked) and exit with status 1."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    print(f"launchbay: error: {mask_text(message)}", file=sys.stderr)
    raise SystemExit(1) from None
