"""The ``launchbay`` command run by its main function in the test's own process.

It gives what a shell would (exit status, stdout, stderr) without a Python start and imports per
command, for tests that check what a command prints or writes. The tests that hold a command to its
exit status and one-line errors as a real process shows them keep running it as one.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from launchbay.cli import main


def launchbay_main(*args: str, cwd: Path, path: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``launchbay ARGS`` in ``cwd`` with ``env`` set and ``path`` (a site dir) on the import path, as
    ``python -m launchbay`` would run it; the working directory, environment, import path and ``sys.argv`` are restored after."""
    saved_cwd, saved_env, saved_path, saved_argv = os.getcwd(), dict(os.environ), list(sys.path), list(sys.argv)
    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    try:
        os.chdir(cwd)
        os.environ.update(env)
        sys.path[:0] = [str(cwd), *([str(path)] if path else [])]  # python -m puts the working directory first
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exited:
                if isinstance(exited.code, str):
                    print(exited.code, file=sys.stderr)
                code = exited.code if isinstance(exited.code, int) else int(exited.code is not None)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        sys.argv[:] = saved_argv
    return subprocess.CompletedProcess(["launchbay", *args], code, out.getvalue(), err.getvalue())
