"""Turning a fitted model and a batch of rows into prediction columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREDICTION = "prediction"
SCORE = "score"


def predict_columns(model, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``prediction`` always; ``score`` (probability of the positive class) for binary classifiers.

    Binary classifiers are asked once, for probabilities; the prediction is the likelier
    class (what their ``predict`` returns), so the model's work is not done twice.
    """
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) == 2 and hasattr(model, "predict_proba"):
        positive = model.predict_proba(frame)[:, 1]
        return {PREDICTION: classes[(positive > 0.5).astype(np.intp)], SCORE: positive}
    return {PREDICTION: np.asarray(model.predict(frame))}

