"""Turning a fitted model and a batch of rows into prediction columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

PREDICTION = "prediction"
SCORE = "score"


def predict_columns(model, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``prediction`` always; ``score`` (probability of the positive class) for binary classifiers."""
    out = {PREDICTION: np.asarray(model.predict(frame))}
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) == 2 and hasattr(model, "predict_proba"):
        out[SCORE] = model.predict_proba(frame)[:, 1]
    return out


def score_batch(batch: pa.Table, model, features: list[str], keep: list[str], extra: dict) -> pa.Table:
    """The ``keep`` columns of ``batch``, its predictions, and constant ``extra`` columns."""
    predictions = predict_columns(model, batch.select(features).to_pandas())
    columns = {name: batch.column(name) for name in keep}
    columns.update({name: pa.array(values) for name, values in predictions.items()})
    columns.update({name: pa.array([value] * batch.num_rows) for name, value in extra.items()})
    return pa.table(columns)
