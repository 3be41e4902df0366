"""Data contracts: what a model's input columns must look like.

A contract holds, per feature column, its type family, whether it may be null, a numeric
range and the allowed categories, and names the columns that fairness is judged across
(``groups``): they are in the data, never features. It is inferred from the training rows (or read
from a file the data team writes), stored with the model version, and checked on
training data and on every batch before scoring.

Five checks: ``type`` (a whole column has the wrong type family), ``nullable`` (null,
or NaN in a float column), ``range``, ``category`` and ``finite`` (NaN, +inf or -inf in a
float column, whatever the training data held). Every check is counted per column; the contract's
``enforce`` list says which make a row bad. Bad rows fail the job (``policy: fail``)
or go to a side output and are left out (``policy: quarantine``). A wrong type is
never quarantined: no row of that column can be trusted.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from launchbay.errors import LaunchbayError
from launchbay.settings import check_choices, require
from launchbay.storage import write_atomic

CHECKS = ("type", "nullable", "range", "category", "finite")
QUARANTINE_DIR = "quarantine"
COUNTS_DIR = "contract"
# The training settings under which a model's contract sets rows with NaN or +-inf aside when it is scored.
FINITE_SETTING = "contract.enforce=[type,finite] contract.policy=quarantine"


# What a row that breaks an enforced check does.
Policy = StrEnum("Policy", ["fail", "quarantine"])


def check_enforced(enforce: list[str]) -> None:
    """A one-line error for names in ``contract.enforce`` that are not checks."""
    unknown = sorted(set(enforce) - set(CHECKS))
    if unknown:
        raise LaunchbayError(f"contract.enforce has unknown checks {unknown} (known: {list(CHECKS)})")


@dataclass
class ContractConfig:
    """How training infers a contract, and what it enforces (the ``contract`` config node)."""

    policy: Policy = Policy.fail  # fail | quarantine: what a row that breaks an enforced check does
    # Checks that make a row bad; the others are only counted and reported.
    enforce: list[str] = field(default_factory=lambda: ["type"])
    # Inferred ranges are the training range widened by this share of its width on each side.
    range_margin: float = 1.0
    # String columns with more distinct training values than this get no category list.
    max_categories: int = 50
    # A contract JSON to check the training data against and store, instead of inferring one.
    path: str | None = None
    # Refuse a batch in which two rows share an id (job.id_column), comparing ids across the whole
    # batch (8 bytes a row on the driver); otherwise repeats are counted within each piece of it.
    unique_ids: bool = False

    def __post_init__(self) -> None:
        check_choices(self, "contract")
        check_enforced(self.enforce)
        require(self.range_margin >= 0, "contract.range_margin", "0 or more", self.range_margin)
        require(self.max_categories >= 0, "contract.max_categories", "0 or more", self.max_categories)


@dataclass
class ColumnRule:
    name: str
    kind: str  # integer | float | string | boolean | temporal | other
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None


@dataclass
class Contract:
    columns: list[ColumnRule]  # the model's features
    policy: Policy = Policy.fail
    enforce: list[str] = field(default_factory=lambda: ["type"])
    groups: list[str] = field(default_factory=list)  # columns fairness is judged across (fairness.groups): never features

    def __post_init__(self) -> None:
        try:  # contract files are written by hand too
            self.policy = Policy(self.policy)
        except ValueError:
            raise LaunchbayError(f"contract.policy must be one of {[p.value for p in Policy]}, got '{self.policy}'") from None
        check_enforced(self.enforce)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, where: str) -> Contract:
        """A contract from its JSON, or a one-line error naming ``where`` it came from."""
        try:
            data = json.loads(text)
            return cls(
                columns=[ColumnRule(**column) for column in data["columns"]],
                policy=data.get("policy", "fail"),
                enforce=list(data.get("enforce", ["type", "range"])),
                groups=list(data.get("groups", [])),
            )
        except LaunchbayError as exc:
            raise LaunchbayError(f"{where}: {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise LaunchbayError(f"{where}: not a valid contract ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def from_file(cls, path: str) -> Contract:
        file = Path(path).expanduser()
        if not file.is_file():
            raise LaunchbayError(f"contract.path: no such file: {file.resolve()}")
        return cls.from_json(file.read_text(), f"contract.path {file.resolve()}")


class ContractError(LaunchbayError):
    """Rows break an enforced check under ``policy: fail``."""


def unusable_values(note: str, model_label: str, exc: BaseException) -> LaunchbayError:
    """The error for a model ``model_label`` that failed (``exc``) on the non-finite values ``note``
    (``models.predict.nonfinite_note``) of a batch its contract did not refuse."""
    return LaunchbayError(
        f"batch: model {model_label} cannot take the values in {note} ({type(exc).__name__}); its contract counts them "
        f"(check 'finite') without enforcing that check: train it with {FINITE_SETTING} to set such rows aside, or drop or clip them"
    )


def kind_of(dtype: pa.DataType) -> str:
    if pa.types.is_dictionary(dtype):
        return kind_of(dtype.value_type)
    for kind, test in (
        ("boolean", pa.types.is_boolean),
        ("integer", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
        ("temporal", pa.types.is_temporal),
    ):
        if test(dtype):
            return kind
    return "other"


def compatible(rule_kind: str, kind: str) -> bool:
    return kind == rule_kind or (rule_kind == "float" and kind == "integer")


def infer(table: pa.Table, cfg: ContractConfig) -> Contract:
    """The contract of the training rows ``table``, widened as ``cfg`` says."""
    rules = []
    for name in table.column_names:
        column = table.column(name)
        # nullable as ``check`` counts it: NaN is null
        rule = ColumnRule(name, kind_of(column.type), nullable=bool(pc.any(pc.is_null(column, nan_is_null=True)).as_py()))
        if rule.kind in ("integer", "float"):
            finite = pc.drop_null(column) if rule.kind == "integer" else column.filter(pc.is_finite(column))
            if len(finite):
                low, high = (float(v.as_py()) for v in pc.min_max(finite).values())
                pad = cfg.range_margin * (high - low)
                rule.min, rule.max = low - pad, high + pad
        elif rule.kind == "string":
            values = pc.unique(pc.drop_null(column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column))
            if len(values) <= cfg.max_categories:
                rule.categories = sorted(values.to_pylist())
        rules.append(rule)
    return Contract(rules, policy=cfg.policy, enforce=list(cfg.enforce))


@dataclass
class Checked:
    """The outcome of checking rows: which are bad and how many broke each check, per column."""

    rows: int
    bad: np.ndarray  # bool per row: breaks an enforced check
    counts: dict[str, dict[str, int]]  # column -> check -> rows that break it

    def describe(self) -> str:
        """The first four column checks broken and their row counts, on one line."""
        parts = [f"{column} {check}: {n}" for column, checks in self.counts.items() for check, n in checks.items()]
        more = f" (+{len(parts) - 4} more)" if len(parts) > 4 else ""
        return ", ".join(parts[:4]) + more


def check(table: pa.Table, contract: Contract) -> Checked:
    """Count every check on every column of the contract; missing columns are a type violation.

    Counting is one pass over each numeric column; the rows of an enforced check are found only
    where it counted some."""
    bad = np.zeros(table.num_rows, dtype=bool)
    counts: dict[str, dict[str, int]] = {}
    for rule in contract.columns:
        broken = {name: n for name, n in _counts(table, rule).items() if n}
        if broken:
            counts[rule.name] = broken
        if any(name in contract.enforce for name in broken):
            masks = _violations(table, rule)
            for name in broken:
                if name in contract.enforce:
                    bad |= masks[name]
    return Checked(table.num_rows, bad, counts)


def _counts(table: pa.Table, rule: ColumnRule) -> dict[str, int]:
    """Rows of ``table`` that break each check of ``rule``: what ``_violations`` marks, counted."""
    if rule.name not in table.column_names or rule.categories is not None:
        return {name: int(mask.sum()) for name, mask in _violations(table, rule).items()}
    column = table.column(rule.name)
    numeric = pa.types.is_integer(column.type) or column.type in (pa.float32(), pa.float64())
    if not numeric or not compatible(rule.kind, kind_of(column.type)):
        return {name: int(mask.sum()) for name, mask in _violations(table, rule).items()}
    from launchbay.kernels import numeric_violations

    low = -np.inf if rule.min is None else float(rule.min)
    high = np.inf if rule.max is None else float(rule.max)
    missing = infinite = outside = 0
    for chunk in column.chunks:  # a null reads as NaN: counted missing, never outside
        m, i, o = numeric_violations(chunk.to_numpy(zero_copy_only=False), low, high)
        missing, infinite, outside = missing + m, infinite + i, outside + o
    counts = {"nullable": 0 if rule.nullable else missing}
    if pa.types.is_floating(column.type):
        counts["finite"] = missing - column.null_count + infinite
    if rule.min is not None:
        counts["range"] = outside
    return counts


def _violations(table: pa.Table, rule: ColumnRule) -> dict[str, np.ndarray]:
    everything = np.ones(table.num_rows, dtype=bool)
    if rule.name not in table.column_names or not compatible(rule.kind, kind_of(table.column(rule.name).type)):
        return {"type": everything}
    column = table.column(rule.name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    masks = {"nullable": np.zeros(table.num_rows, dtype=bool) if rule.nullable else _mask(pc.is_null(column, nan_is_null=True))}
    if pa.types.is_floating(column.type):
        masks["finite"] = _mask(pc.invert(pc.is_finite(column)))
    if rule.min is not None:
        # integers past 2**53 compare as the nearest float: a checked cast would fail on them
        numbers = column.cast(pa.float64(), safe=False) if pa.types.is_integer(column.type) else column
        outside = pc.or_(pc.less(numbers, rule.min), pc.greater(numbers, rule.max))
        masks["range"] = _mask(outside)
    if rule.categories is not None:
        masks["category"] = _mask(pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=pa.array(rule.categories, column.type)))))
    return masks


def _mask(values: Any) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def split(table: pa.Table, contract: Contract, where: str) -> tuple[pa.Table, pa.Table, Checked]:
    """(good rows, bad rows, counts); under ``policy: fail`` any bad row is a ``ContractError``."""
    checked = check(table, contract)
    enforced_type = [c for c, v in checked.counts.items() if "type" in v and "type" in contract.enforce]
    if checked.bad.any() and (contract.policy == Policy.fail or enforced_type):
        raise ContractError(
            f"{where}: {int(checked.bad.sum())} of {checked.rows} rows break the model's data contract ({checked.describe()})"
        )
    if not checked.bad.any():
        return table, table.slice(0, 0), checked
    keep = pa.array(~checked.bad)
    return table.filter(keep), table.filter(pc.invert(keep)), checked


def quarantine(rows: pa.Table, run_dir: Path, name: str) -> None:
    """Write bad rows to ``<run_dir>/quarantine/<name>.parquet`` (nothing when there are none)."""
    import pyarrow.parquet as pq

    if not rows.num_rows:
        return
    parquet = pa.BufferOutputStream()
    pq.write_table(rows, parquet)
    write_atomic(Path(run_dir) / QUARANTINE_DIR / f"{name}.parquet", parquet.getvalue().to_pybytes())


def enforce_batch(batch: pa.Table, contract: Contract, run_dir: str, where: str, name: str | None = None) -> pa.Table:
    """Check one batch: the good rows go on; bad rows are quarantined or fail the job.

    The counts of a batch with any violation go to ``<run_dir>/contract/<name>.json`` for
    ``report`` (a batch checked again under the same name replaces its own; None: a new name).
    """
    good, bad, checked = split(batch, contract, where)
    if checked.counts:
        name = name or uuid.uuid4().hex
        quarantine(bad, Path(run_dir), name)
        counts = {"rows": checked.rows, "quarantined": bad.num_rows, "counts": checked.counts}
        write_atomic(Path(run_dir) / COUNTS_DIR / f"{name}.json", json.dumps(counts))
    return good


def discard(run_dir: Path, prefix: str) -> None:
    """Remove the counts and quarantined rows whose names start with ``prefix`` (a failed pass's)."""
    for folder in (COUNTS_DIR, QUARANTINE_DIR):
        for path in (Path(run_dir) / folder).glob(f"{prefix}*"):
            path.unlink()


def report(run_dir: Path) -> dict[str, Any]:
    """The counts of every checked batch of a run, added up per column and check."""
    files = sorted((Path(run_dir) / COUNTS_DIR).glob("*.json"))
    per_column: dict[str, Counter] = {}
    quarantined = 0
    for file in files:
        record = json.loads(file.read_text())
        quarantined += record["quarantined"]
        for column, checks in record["counts"].items():
            per_column.setdefault(column, Counter()).update(checks)
    summary: dict[str, Any] = {"violations": {c: dict(v) for c, v in sorted(per_column.items())}, "quarantined_rows": quarantined}
    if quarantined:
        summary["quarantine"] = str(Path(run_dir) / QUARANTINE_DIR)
    return summary
