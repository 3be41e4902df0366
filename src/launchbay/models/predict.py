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



def nonfinite_note(frame: pd.DataFrame) -> str | None:
    """The numeric columns of ``frame`` holding NaN (or null) or +-inf, with their row counts, on one
    line ("column 'num_1': +-inf in 334 of 1,000 rows"); None when every number is finite.

    For the error path only: a model that failed on ``frame`` is told apart from one that
    failed on its values."""
    numbers = frame.select_dtypes("number")
    parts = []
    for name in numbers.columns:
        values = numbers[name].to_numpy(dtype=np.float64, na_value=np.nan)
        held = [f"{kind} in {n:,}" for kind, n in (("NaN", int(np.isnan(values).sum())), ("±inf", int(np.isinf(values).sum()))) if n]
        if held:
            parts.append(f"column '{name}': {' and '.join(held)} of {len(frame):,} rows")
    return "; ".join(parts) or None
