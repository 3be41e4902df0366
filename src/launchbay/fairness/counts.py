"""Mergeable counts of a binary classifier's outcomes per group.

For every column of ``fairness.groups`` and every value of it (null is a group of its own),
six counts: rows that are unlabelled and not selected, unlabelled and selected, then the
labelled ones: true negatives, false positives, false negatives, true positives ("selected":
predicted as the positive class, the second of the model's classes). A label that is none of
the classes counts as unlabelled. Counts add up when merged, so the groups of a run come from
the same read as its scores, however it was split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from launchbay.errors import LaunchbayError
from launchbay.performance.sketch import Target

CELLS = ("unlabelled", "unlabelled_selected", "tn", "fp", "fn", "tp")


@dataclass(frozen=True)
class Groups:
    """What a worker needs to count outcomes per group: the columns, the model's target (task,
    label column, classes) and the most values a column may have."""

    columns: tuple[str, ...]
    target: Target
    max_groups: int = 100

    @classmethod
    def of(cls, model: Any, label: str, columns: list[str], max_groups: int, model_label: str) -> Groups:
        """What to count of a fitted binary classifier ``model`` (``model_label``, for errors), its labels in column ``label``."""
        target = Target.of(model, label, 0)
        if target.task != "binary":
            raise LaunchbayError(f"fairness.groups: fairness by group is judged for binary classifiers; {model_label} is {target.task}")
        return cls(tuple(columns), target, max_groups)

    def gather(self, batch: pa.Table, prediction: Any) -> GroupCounts:
        """The counts of one scored batch, ``prediction`` the model's predicted classes."""
        missing = [c for c in self.columns if c not in batch.column_names]
        if missing:
            raise LaunchbayError(f"fairness.groups: columns {missing} are not in the batch (it has {batch.column_names})")
        labels = batch.column(self.target.label) if self.target.label in batch.column_names else pa.nulls(batch.num_rows)
        cell = (self.target.class_index(labels) + 1) * 2 + (self.target.class_index(prediction) == 1)
        return GroupCounts({column: self._count(column, batch.column(column), cell) for column in self.columns})

    def _count(self, column: str, values: Any, cell: np.ndarray) -> dict[Any, np.ndarray]:
        encoded = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
        names = encoded.dictionary.to_pylist() + [None]
        if len(names) - 1 > self.max_groups:
            raise LaunchbayError(
                f"fairness.groups: column '{column}' has {len(names) - 1:,} distinct values in one batch, more than "
                f"fairness.max_groups={self.max_groups}: is it an id rather than a group?"
            )
        index = encoded.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
        table = np.bincount(index * len(CELLS) + cell, minlength=len(names) * len(CELLS)).reshape(len(names), len(CELLS))
        return {name: table[i] for i, name in enumerate(names) if table[i].any()}


@dataclass
class GroupCounts:
    """Column -> group value -> its six counts (``CELLS``)."""

    columns: dict[str, dict[Any, np.ndarray]] = field(default_factory=dict)

    def merge(self, other: GroupCounts) -> GroupCounts:
        merged = {column: dict(groups) for column, groups in self.columns.items()}
        for column, groups in other.columns.items():
            into = merged.setdefault(column, {})
            for value, counts in groups.items():
                into[value] = into[value] + counts if value in into else counts
        return GroupCounts(merged)

    @classmethod
    def of(cls, groups: Groups, frame: Any, prediction: Any) -> GroupCounts:
        """The counts of rows in a pandas ``frame`` (the holdout) that hold the group and label columns."""
        wanted = [c for c in (*groups.columns, groups.target.label) if c in frame.columns]
        return groups.gather(pa.Table.from_pandas(frame[wanted], preserve_index=False), pa.array(prediction))
