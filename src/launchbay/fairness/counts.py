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
        comparable = self.target.comparable(labels, prediction)
        return GroupCounts({column: self._count(column, batch.column(column), *comparable) for column in self.columns})

    def _count(self, column: str, values: Any, labels: np.ndarray, predicted: np.ndarray, negative: float, positive: float) -> dict:
        """Group value -> counts, one chunk of ``values`` at a time (a dictionary column as it is, others encoded)."""
        from launchbay.fairness.kernels import count_groups

        found: dict[Any, np.ndarray] = {}
        start = 0
        for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
            encoded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
            names = encoded.dictionary.to_pylist()
            if len(names) > self.max_groups:
                raise LaunchbayError(
                    f"fairness.groups: column '{column}' has {len(names):,} distinct values in one batch, more than "
                    f"fairness.max_groups={self.max_groups}: is it an id rather than a group?"
                )
            codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
            table = np.zeros((len(names) + 1, len(CELLS)), np.int64)
            end = start + len(chunk)
            count_groups(codes, len(names), labels[start:end], predicted[start:end], negative, positive, table)
            add_counts(found, {name: counts for name, counts in zip([*names, None], table) if counts.any()})
            start = end
        return found


def add_counts(into: dict[Any, np.ndarray], groups: dict[Any, np.ndarray]) -> None:
    """Add each group's counts of ``groups`` to those of the same group in ``into``."""
    for value, counts in groups.items():
        into[value] = into[value] + counts if value in into else counts


@dataclass
class GroupCounts:
    """Column -> group value -> its six counts (``CELLS``)."""

    columns: dict[str, dict[Any, np.ndarray]] = field(default_factory=dict)

    def merge(self, other: GroupCounts) -> GroupCounts:
        merged = {column: dict(groups) for column, groups in self.columns.items()}
        for column, groups in other.columns.items():
            add_counts(merged.setdefault(column, {}), groups)
        return GroupCounts(merged)

    @classmethod
    def of(cls, groups: Groups, frame: Any, prediction: Any) -> GroupCounts:
        """The counts of rows in a pandas ``frame`` (the holdout) that hold the group and label columns."""
        wanted = [c for c in (*groups.columns, groups.target.label) if c in frame.columns]
        return groups.gather(pa.Table.from_pandas(frame[wanted], preserve_index=False), pa.array(prediction))
