"""Where a scoring pass's counts add up: rows, drift sketches, id keys, and the counts of the model's
outcomes overall and per group, each mergeable, so that a pass's totals are the same however it was split."""

from __future__ import annotations

from typing import Any

import numpy as np

from launchbay.rowids import repeats


def merged(total: Any, counts: Any) -> Any:
    """Mergeable ``counts`` added to ``total`` (either may be None)."""
    if counts is None:
        return total
    return counts if total is None else total.merge(counts)


class Tally:
    """Rows scored so far and the merged drift sketch of those rows: a Ray actor on the
    Ray Data paths, a plain object on the driver on the fragments path."""

    def __init__(self, reference) -> None:
        self.rows = 0
        self.profile = reference.empty() if reference is not None else None
        self.ids: list[np.ndarray] = []
        self.repeats = 0  # rows that repeat an id within their piece of the input
        self.devices: set[str] = set()  # where the sketches were counted: cpu, gpu
        self.performance: Any = None  # the merged counts of the model's outcomes
        self.groups: Any = None  # and of its outcomes per group (``fairness.counts.GroupCounts``)

    def add(self, rows: int, sketch, ids: np.ndarray | int = 0, device: str | None = None, outcomes: Any = None, groups: Any = None) -> None:
        """Add a piece's rows, sketch (counted on ``device``), id keys (to compare across pieces) or its
        repeats, and the counts of its outcomes, overall and per group."""
        self.rows += rows
        self.performance = merged(self.performance, outcomes)
        self.groups = merged(self.groups, groups)
        if device is not None:
            self.devices.add(device)
        self.profile = merged(self.profile, sketch)
        if isinstance(ids, np.ndarray):
            self.ids.append(ids.copy())  # a copy: a view would pin its block in the object store
        else:
            self.repeats += ids

    def count(self) -> int:
        return self.rows

    def repeated_ids(self) -> int:
        """Rows whose id an earlier row had (ids read from the input): within their piece, or
        across the batch where the pieces sent their id keys."""
        return self.repeats + repeats(np.concatenate(self.ids) if self.ids else np.empty(0, np.uint64))

    def sketch(self):
        return self.profile

    def outcomes(self):
        return self.performance

    def group_counts(self):
        return self.groups

    def counted_on(self) -> str | None:
        """Where the drift sketches were counted: "cpu", "gpu", "cpu+gpu" if workers differed; None without drift."""
        return "+".join(sorted(self.devices)) or None
