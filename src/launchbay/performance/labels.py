"""Labels that arrive after the scores: a past run's committed scores joined to them by row id.

Every scored row keeps its place: one without a label (no label row for its id, or a null
label) is counted as missing, a label row whose id no scored row has as unmatched, and a label
row that repeats an earlier one's id as repeated (the first one counts); nothing is dropped
without being counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from launchbay import storage
from launchbay.errors import LaunchbayError

SUCCESS = "_SUCCESS"


@dataclass
class Scores:
    """A committed scores folder: its rows and what its ``_SUCCESS`` manifest says of them."""

    table: pa.Table
    uri: str
    run_id: str | None
    model: str | None
    version: int | None


def read_json(filesystem: Any, path: str, key: str) -> dict[str, Any] | None:
    """A JSON object at ``path``, None if there is no file; a one-line error naming ``key`` if it is not one."""
    if not filesystem.get_file_info(path).is_file:
        return None
    try:
        with filesystem.open_input_stream(path) as f:
            record = json.loads(f.read())
    except (OSError, ValueError) as exc:
        raise LaunchbayError(f"{key}: {storage.uri(filesystem, path)} is not readable JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise LaunchbayError(f"{key}: {storage.uri(filesystem, path)} is not a JSON object")
    return record


def read_scores(location: str, key: str = "job.scores") -> Scores:
    """The scores of a run: ``location`` is its run directory (with ``summary.json``) or its scores folder."""
    import pyarrow.parquet as pq

    filesystem, path = storage.resolve(location, key)
    summary = read_json(filesystem, f"{path}/summary.json", key)
    if summary is not None:
        where = (summary.get("scores") or {}).get("path")
        if not where:
            raise LaunchbayError(f"{key}: the run {location} wrote no scores (its summary.json has no scores.path)")
        filesystem, path = storage.resolve(where, key)
    manifest = read_json(filesystem, f"{path}/{SUCCESS}", key)
    if manifest is None:
        raise LaunchbayError(f"{key}: {location} is neither a run directory (summary.json) nor a committed scores folder ({SUCCESS})")
    parts = [f"{path}/{name}" for name in manifest.get("files", []) if name.endswith(".parquet")]
    try:
        table = pa.concat_tables([pq.read_table(part, filesystem=filesystem) for part in parts], promote_options="default") if parts else None
    except (OSError, pa.ArrowException) as exc:
        raise LaunchbayError(f"{key}: reading the scores under {storage.uri(filesystem, path)} failed: {exc}") from exc
    if table is None or not table.num_rows:
        raise LaunchbayError(f"{key}: the scores under {storage.uri(filesystem, path)} have no rows")
    version = manifest.get("version")
    return Scores(table, storage.uri(filesystem, path), manifest.get("run_id"), manifest.get("model"), int(version) if version is not None else None)


def join_labels(scores: pa.Table, labels: pa.Table, id_column: str, label: str, where: str) -> tuple[pa.Table, dict[str, int]]:
    """``scores`` with the ``label`` column of ``labels`` joined by ``id_column`` (null where none arrived),
    and the counts of the join; ``where`` names the labels in errors."""
    for table, name in ((scores, "the scores"), (labels, where)):
        if id_column not in table.column_names:
            raise LaunchbayError(f"job.id_column: column '{id_column}' is not in {name} (columns: {table.column_names})")
    if label not in labels.column_names:
        raise LaunchbayError(f"job.label: column '{label}' is not in {where} (columns: {labels.column_names})")
    if label in scores.column_names:
        scores = scores.drop_columns([label])
    ids = labels.column(id_column)
    try:
        ids = ids.cast(scores.schema.field(id_column).type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise LaunchbayError(
            f"job.id_column: '{id_column}' of {where} is {ids.type}, the scores' is {scores.schema.field(id_column).type}: {exc}"
        ) from exc
    keyed = pa.table({id_column: ids, label: labels.column(label), "__order": pa.array(range(labels.num_rows))})
    firsts = keyed.group_by(id_column).aggregate([("__order", "min")]).column("__order_min")
    first = keyed.take(firsts).drop_columns(["__order"])  # the first label row of each id
    joined = scores.join(first, keys=id_column, join_type="left outer")
    present = pc.is_in(first.column(id_column), value_set=scores.column(id_column))
    with_label = joined.column(label).is_valid()
    counts = {
        "scored_rows": scores.num_rows,
        "label_rows": labels.num_rows,
        "matched": int(pc.sum(with_label).as_py() or 0),
        "missing": scores.num_rows - int(pc.sum(with_label).as_py() or 0),
        "unmatched": len(present) - int(pc.sum(present).as_py() or 0),
        "repeated_label_ids": labels.num_rows - first.num_rows,
    }
    return joined, counts
