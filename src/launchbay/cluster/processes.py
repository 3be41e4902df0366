"""The processes of a session (Linux ``/proc``): a cluster's supervisor starts one, and every
Ray process of the cluster (GCS, raylets, dashboard, workers) belongs to it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def session_pids(sid: int) -> list[int]:
    """The live processes of session ``sid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            pids.append(int(entry.name))
    return pids


def stop_session(sid: int, leader_grace_s: float = 10.0, rest_grace_s: float = 3.0) -> int:
    """SIGTERM to the session's leader (it stops the head) and, once it is gone (or after
    ``leader_grace_s``), to every process left, then SIGKILL after ``rest_grace_s``: with the
    head gone, the worker nodes have nothing to hand over (a raylet would wait about 10 s for
    the GCS before it exits). Returns how many processes there were to stop."""
    pids = session_pids(sid)
    if sid in pids:
        signal_all([sid], signal.SIGTERM)
        wait_until_gone([sid], leader_grace_s)
    signal_all(session_pids(sid), signal.SIGTERM)
    if not wait_gone(sid, rest_grace_s):
        signal_all(session_pids(sid), signal.SIGKILL)
        wait_gone(sid, 5.0)
    return len(pids)


def wait_until_gone(pids: list[int], timeout_s: float) -> None:
    """Wait (up to ``timeout_s``) until none of ``pids`` runs."""
    deadline = time.monotonic() + timeout_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie has ended)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def wait_gone(sid: int, timeout_s: float) -> bool:
    """Wait until session ``sid`` has no process left; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while session_pids(sid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
