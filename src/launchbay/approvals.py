"""Human sign-off, read from a model's audit log: a candidate's state is its ``candidate`` entry and
the ``approve``, ``reject`` and ``expire`` entries of that version after it.

A candidate is pending until ``required`` distinct names have approved it (then it is
promoted), one name has rejected it, or ``expires_at`` has passed (it expires). With
``separate_duties`` the author of the run that trained it cannot approve it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DECISIONS = ("approve", "reject", "expire")


@dataclass
class Candidacy:
    """One candidate version and what has been decided of it."""

    version: int
    alias: str
    required: int
    separate_duties: bool
    author: str
    expires_at: str
    evidence: dict[str, Any]
    run_id: str | None
    approvers: list[str] = field(default_factory=list)
    rejected_by: str | None = None
    expired: bool = False
    promoted: bool = False

    @property
    def state(self) -> str:
        if self.promoted:
            return "approved"
        if self.rejected_by:
            return "rejected"
        return "expired" if self.expired else "pending"

    def past_expiry(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > datetime.fromisoformat(self.expires_at)

    def missing(self) -> int:
        return self.required - len(self.approvers)

    def is_author(self, name: str) -> bool:
        """Whether ``name`` is the author (as written, or the user part of ``user@host``)."""
        return name in (self.author, self.author.split("@")[0])


def candidacies(entries: list[dict[str, Any]]) -> dict[int, Candidacy]:
    """Version -> its latest candidacy, from the audit log's entries (oldest first)."""
    found: dict[int, Candidacy] = {}
    for entry in entries:
        action, version = entry.get("action"), int(entry.get("version") or 0)
        if action == "candidate":
            found[version] = Candidacy(
                version, entry["alias"], entry["required"], entry["separate_duties"], entry["author"], entry["expires_at"],
                entry.get("evidence", {}), entry.get("run_id"),
            )
        elif version in found and action in DECISIONS:
            candidacy = found[version]
            if action == "approve":
                candidacy.approvers.append(entry["by"])
                candidacy.promoted = candidacy.missing() <= 0
            elif action == "reject":
                candidacy.rejected_by = entry["by"]
            else:
                candidacy.expired = True
    return found
