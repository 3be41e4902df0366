"""A model's audit log: every change to it, one JSON line each, chained by hashes.

The log is ``<model>/audit.jsonl`` in the registry. Each entry holds what happened
(``action``), the version, who (``by``), when (``at``), why (``reason``), the run id, its
place (``seq``, from 1) and ``prev``: the sha256 of the line before it (of "" for the first).
``<model>/audit-head.json`` holds the last line's seq and sha256. A writer appends while it
holds the log's claim (``storage.claim`` with an owner and a lease, so that a writer killed
while it holds it is taken over): it reads the log, writes it whole with one more line, then
the head, then lets the claim go. Concurrent writers therefore lose no entry, on a local disk
and on object stores alike.

``verify`` recomputes the chain and names the first line that was edited, removed, inserted
or reordered. This makes changes evident; it is not a signature: whoever can write the
registry can also rewrite the whole log and its head consistently.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from pyarrow.fs import FileSystem

from launchbay import storage
from launchbay.errors import LaunchbayError

LOG_FILE, HEAD_FILE, CLAIMS = "audit.jsonl", "audit-head.json", "audit-claims"
ACQUIRE_S = 120.0  # how long a writer waits for the log's claim
PAUSE_S = (0.01, 0.2)  # the first and the longest pause between a waiting writer's looks at the claim


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks: the 1-based line and what is wrong with it."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line} {self.what}"


class AuditLog:
    """The audit log of one model at ``folder`` (``<registry>/<model>``) of ``filesystem``."""

    def __init__(self, filesystem: FileSystem, folder: str, where: str) -> None:
        self.fs, self.folder, self.where = filesystem, folder, where

    def _path(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def _read(self, name: str) -> str:
        try:
            with self.fs.open_input_stream(self._path(name)) as f:
                return f.read().decode()
        except FileNotFoundError:
            return ""

    def lines(self) -> list[str]:
        return self._read(LOG_FILE).splitlines()

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first (a line that is not JSON is an error naming it)."""
        return [self._parsed(i, line) for i, line in enumerate(self.lines(), 1)]

    def _parsed(self, number: int, line: str) -> dict[str, Any]:
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise LaunchbayError(f"audit: line {number} of {self.where}/{LOG_FILE} is not valid JSON: {exc}") from exc
        if not isinstance(entry, dict):
            raise LaunchbayError(f"audit: line {number} of {self.where}/{LOG_FILE} is not a JSON object")
        return entry

    def append(self, **entry: Any) -> dict[str, Any]:
        """Add one entry (``action``, ``version``, ``by``, ``at``, ``reason``, ``run_id``...) at the end; returns it whole."""
        claim = self._acquire(entry.get("run_id"))
        try:
            lines = self.lines()
            prev = line_hash(lines[-1]) if lines else line_hash("")
            full = {"seq": len(lines) + 1, **entry, "prev": prev}
            line = json.dumps(full, sort_keys=True, separators=(",", ":"), default=str)
            storage.write_atomic(self._path(LOG_FILE), "".join(f"{x}\n" for x in [*lines, line]), self.fs)
            storage.write_atomic(self._path(HEAD_FILE), json.dumps({"seq": full["seq"], "sha256": line_hash(line)}), self.fs)
            return full
        finally:
            self.fs.delete_file(claim)

    def _acquire(self, run_id: str | None) -> str:
        """This writer's claim on the log, once every older claimant has let go or is gone."""
        lease, stale = storage.commit_lease_s(), storage.stale_commit(self.fs, f"{self.where}/{LOG_FILE}")
        folder, deadline, pause = self._path(CLAIMS), time.monotonic() + ACQUIRE_S, PAUSE_S[0]
        while time.monotonic() < deadline:
            held = storage.claims(self.fs, folder, "claim-")
            if not held or stale(held[0]) is not None:  # free, or its holder is gone: try to claim it
                mine = storage.claim(self.fs, folder, "claim-", storage.Owner.me(run_id, lease).to_json(), stale=stale)
                if mine:
                    return mine
            time.sleep(random.uniform(pause / 2, pause))  # held: one listing a pause, pauses doubling, not to crowd the store
            pause = min(2 * pause, PAUSE_S[1])
        raise LaunchbayError(f"audit: {self.where}/{LOG_FILE} stayed claimed by another writer for {ACQUIRE_S:.0f} s")

    def verify(self) -> Problem | None:
        """The first line where the chain breaks, or None when every line is as it was written."""
        lines, prev = self.lines(), line_hash("")
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                return Problem(number, "was edited: it is not valid JSON")
            seq = entry.get("seq") if isinstance(entry, dict) else None
            if seq != number:
                happened = "an entry before it was removed" if isinstance(seq, int) and seq > number else "an entry was added"
                return Problem(number, f"holds entry {seq}: {happened}, or entries were reordered")
            if entry.get("prev") != prev:
                return Problem(max(1, number - 1), f"was edited: line {number} does not chain to it" if number > 1 else "was edited")
            prev = line_hash(line)
        head = self._read(HEAD_FILE)
        recorded: dict[str, Any] = json.loads(head) if head else {"seq": 0, "sha256": line_hash("")}
        last = int(recorded["seq"])
        if last > len(lines):
            return Problem(len(lines) + 1, f"was removed: the log ends at entry {len(lines)}, its head records {last}")
        if last < len(lines):
            return Problem(last + 1, f"was added without the log's claim: its head records {last} entries")
        if recorded["sha256"] != prev:
            return Problem(len(lines), "was edited: it is not the last line the head records")
        return None
