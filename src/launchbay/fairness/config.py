"""What fairness by group compares (the ``fairness`` config node)."""

from __future__ import annotations

from dataclasses import dataclass, field

from launchbay.settings import require


@dataclass
class FairnessConfig:
    """Columns whose groups a model's outcomes are compared across, in training and in every scoring pass."""

    # Columns of the data (not features: training leaves them out, and the contract records them
    # as groups). Empty: the groups the version was trained with, if any.
    groups: list[str] = field(default_factory=list)
    # Groups with fewer rows (labelled rows, for the rates that need labels) are shown but not judged.
    min_rows: int = 30
    # A column with more distinct values than this is refused: it is more likely an id than a group.
    max_groups: int = 100

    def __post_init__(self) -> None:
        require(self.min_rows >= 1, "fairness.min_rows", "at least 1", self.min_rows)
        require(self.max_groups >= 2, "fairness.max_groups", "at least 2", self.max_groups)
