"""Fill the on-disk cache of the numba kernels, so that the first run after install compiles nothing.

Every kernel is ``cache=True``, but numba compiles it on its first call for the argument
types of that call (float32 or float64, integers, read-only arrays from Arrow or arrays
of its own). ``warm_up`` calls the code paths of a pipeline run on a few hundred rows in
each of those types: the contract's counts, the reference profile with its multivariate
part, the drift sketch and metrics of a scored batch, the row-id check and the counts of a
binary classifier's outcomes, overall and per group. The cache is read by every process that imports the kernels,
Ray workers included. The CUDA kernels (``drift.cuda``) are compiled per process and are
not cached.
"""

from __future__ import annotations

import pickle
import tempfile
from typing import Any

import numpy as np
import pyarrow as pa

# Rows of the reference: more than ``MonitorConfig.small_reference``, so that the default metrics are those of the demo's.
REFERENCE_ROWS = 1200
BATCH_ROWS = 300
# Numeric column types a source gives; each is counted with and without nulls (a copy, not a read-only view of Arrow memory).
NUMERIC_TYPES = (pa.float64(), pa.float32(), pa.int64(), pa.int32())
BINARY_CLASSES = ((0, 1), ("no", "yes"))


def columns(rows: int, seed: int) -> pa.Table:
    """A table of every numeric type and of strings (``<type>`` without nulls, ``<type>_nulls``
    with some), a row id and a binary label."""
    rng = np.random.default_rng(seed)
    data: dict[str, pa.Array] = {"row_id": pa.array(np.arange(rows, dtype=np.int64))}
    missing = rng.random(rows) < 0.05
    for kind in NUMERIC_TYPES:
        values = (rng.normal(50.0, 10.0, rows)).astype(kind.to_pandas_dtype())
        data[str(kind)] = pa.array(values, kind)
        data[f"{kind}_nulls"] = pa.array(values, kind, mask=missing)
    categories = rng.choice(["a", "b", "c"], rows)
    data["string"] = pa.array(categories)
    data["string_nulls"] = pa.array(categories, mask=missing)
    data["label"] = pa.array(rng.integers(0, 2, rows))
    return pa.table(data)


def outputs(rows: int, seed: int) -> dict[str, np.ndarray]:
    """A binary classifier's outputs as ``models.predict.predict_columns`` gives them: classes and the positive score."""
    score = np.random.default_rng(seed).random(rows)
    return {"prediction": (score > 0.5).astype(np.int64), "score": score}


def labelled(classes: tuple, rows: int, seed: int) -> list[pa.Array]:
    """Binary labels in the classes' own type: every row labelled, and every third row without a label."""
    values = [classes[code] for code in np.random.default_rng(seed).integers(0, 2, rows)]
    return [pa.array(values), pa.array(values, mask=np.arange(rows) % 3 == 0)]


def as_shipped(value: Any) -> Any:
    """``value`` as a Ray worker gets it from the object store: pickled with its arrays out of band, which come back read-only."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[buffer.raw().toreadonly() for buffer in buffers])


def warm_up() -> None:
    """Compile every CPU kernel a run calls, for each column type, into numba's cache."""
    from launchbay import drift, validation
    from launchbay.drift.config import MonitorConfig
    from launchbay.fairness.counts import Groups
    from launchbay.performance.sketch import Target
    from launchbay.rowids import id_keys, repeats

    unmonitored = ["row_id", "label"]
    train, batch = columns(REFERENCE_ROWS, seed=0), columns(BATCH_ROWS, seed=1)
    contract = validation.infer(train, validation.ContractConfig())
    with tempfile.TemporaryDirectory() as run_dir:
        validation.enforce_batch(batch, contract, run_dir, "warm-up batch")
    # the reference as training profiles it (from pandas), the batch as scoring sketches it (Arrow columns and the model's outputs)
    trained, scored = outputs(REFERENCE_ROWS, seed=2), outputs(BATCH_ROWS, seed=3)
    frame = train.drop_columns(unmonitored).to_pandas().assign(**trained)
    reference = drift.build_reference(frame, config=MonitorConfig(exclude=unmonitored), outputs=trained)
    predictions = {name: pa.array(values) for name, values in scored.items()}
    observed = {**dict(zip(batch.column_names, batch.columns)), **predictions}
    monitored = pa.table({name: observed[name] for name in reference.features})
    current = drift.sketch(monitored, reference)
    drift.sketch(monitored, as_shipped(reference))
    for metrics in ([], ["wasserstein_norm", "jensen_shannon"], ["ks", "wasserstein", "psi", "chi2"]):  # the defaults, for large and small batches
        every_size = dict.fromkeys(metrics or ["nonfinite_rate"], 1)  # compiling, not judging: the small batch runs every metric
        drift.compare(reference, current, config=MonitorConfig(metrics=metrics, exclude=unmonitored, min_rows=every_size))
    ids = [batch.column("row_id"), pa.chunked_array([pa.array([f"id{i}" for i in range(BATCH_ROWS)])])]
    repeats(np.concatenate([id_keys(column) for column in ids]))  # the keys of every piece, across the batch
    for column in ids:
        repeats(id_keys(column))
    for classes in BINARY_CLASSES:
        predicted = pa.array([classes[code] for code in scored["prediction"]])
        for labels in labelled(classes, BATCH_ROWS, seed=4):
            Target("binary", "label", classes).gather(pa.table({"label": labels}), {**predictions, "prediction": predicted})
            for group in (pa.array(labels).dictionary_encode(), pa.array([str(v) for v in labels.to_pylist()])):  # a dictionary column, a string one
                Groups(("group",), Target("binary", "label", classes)).gather(pa.table({"label": labels, "group": group}), predicted)
