"""The error type users see as one line, and how the command line shows it."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from typing import NoReturn

from launchbay.masking import mask_text

DEBUG_HINT = "(set LAUNCHBAY_DEBUG=1 or pass --debug for the traceback)"


class LaunchbayError(Exception):
    """An error with a message that tells the user what is wrong and where, in one line."""


# Terminal colour codes, and the task name and process Ray puts before a worker's traceback.
TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
RAY_TASK = re.compile(r"ray::\S*\(\)(?: \(pid=.*\))?")
ERROR_LINE = re.compile(r"^((?:\w+\.)*[A-Z]\w*(?:Error|Exception|Invalid)): (.+)$")


def plain_text(text: str) -> str:
    """``text`` without terminal codes, Ray's task decorations and blank lines."""
    lines = RAY_TASK.sub("", TERMINAL_CODES.sub("", text)).splitlines()
    return "\n".join(line.rstrip() for line in lines if line.strip())


def root_cause(exc: BaseException) -> str:
    """The original error behind Ray's wrappers, as one line (``Type: message``).

    A worker's exception reaches the driver as text inside a ``RayTaskError`` (its
    ``cause`` is the worker's exception); the first ``Type: message`` line of that text
    that is not one of Ray's own is the original. launchbay's own errors are already
    sentences for the user that name the file or key: their message alone, and they win
    over the errors they were raised from.
    """
    chain = [exc]
    while len(chain) < 20:
        cause = getattr(chain[-1], "cause", None)
        inner = cause if isinstance(cause, BaseException) and cause is not chain[-1] else chain[-1].__cause__
        if inner is None:
            break
        chain.append(inner)
    for error in chain:
        lines = [ERROR_LINE.match(line.strip()) for line in plain_text(str(error)).splitlines()]
        found = [m for m in lines if m and not m.group(1).startswith("ray.")]
        ours = [m.group(2) for m in found if m.group(1).startswith("launchbay.")]
        if ours:  # the last names the most: where launchbay caught the error
            return ours[-1]
        if found:
            return f"{found[0].group(1).rsplit('.', 1)[-1]}: {found[0].group(2)}"
    last = chain[-1]
    message = plain_text(str(last)).partition("\n")[0].strip()
    return message if isinstance(last, LaunchbayError) else f"{type(last).__name__}: {message}"


def debugging() -> bool:
    """True when ``LAUNCHBAY_DEBUG`` is set (and not 0): errors show their traceback."""
    return os.environ.get("LAUNCHBAY_DEBUG", "") not in ("", "0")


def exit_with(exc: BaseException) -> NoReturn:
    """Print ``exc`` as one line ``launchbay: error: ...`` on stderr (URL credentials masked) and exit with status 1.

    An error that is not a ``LaunchbayError`` reads as its root cause, with a hint at the
    traceback; when debugging, the traceback comes first.
    """
    if isinstance(exc, BrokenPipeError):
        exit_on_closed_stdout()
    if debugging():
        traceback.print_exception(exc)
    hint = "" if debugging() or isinstance(exc, LaunchbayError) else f" {DEBUG_HINT}"
    print(f"launchbay: error: {one_line(exc)}{hint}", file=sys.stderr)
    raise SystemExit(1) from None


def exit_on_closed_stdout() -> NoReturn:
    """End quietly, as Unix tools do, when the reader of stdout has gone (``launchbay ... | head``):
    no error line, nothing more written to the closed pipe at exit, and status 1 (as rich's consoles end then)."""
    with contextlib.suppress(OSError, ValueError):  # stdout may have no file descriptor
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(1) from None


def one_line(exc: BaseException) -> str:
    """What the user reads of ``exc``: a ``LaunchbayError``'s message or the root cause, as one
    line of printable text with URL credentials masked."""
    message = str(exc) if isinstance(exc, LaunchbayError) else root_cause(exc)
    return printable(mask_text(" ".join(line.strip() for line in message.splitlines() if line.strip())))


def printable(text: str) -> str:
    """``text`` with every character that does not print (a raw byte of a file, a control code)
    escaped as Python writes it (``\\x0f``); printable Unicode (``±``, ``→``) stays as it is."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
