"""Turning a fitted model and a batch of rows into prediction columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREDICTION = "prediction"
SCORE = "score"


def predict_columns(model, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``prediction`` always; ``score`` (probability of the positive class) for binary classifiers."""
    out = {PREDICTION: np.asarray(model.predict(frame))}
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) == 2 and hasattr(model, "predict_proba"):
        out[SCORE] = model.predict_proba(frame)[:, 1]
    return out

