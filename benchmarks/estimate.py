"""CBPE's estimate (performance without labels) against the realized metrics, under covariate shift.

A binary task on 6 correlated features (a Gaussian with correlation 0.6^|i-j|, the label
drawn from a fixed logistic model, so the label given the features is known exactly); a model
trained on ``--train-rows`` rows, calibrated on a quarter as many held out (launchbay's 80/20
split), then batches of ``--batch-rows`` rows whose features are shifted (the label follows the
shifted features: covariate shift). Per shift and seed it prints the realized ROC AUC and
accuracy (scikit-learn, from the labels), launchbay's estimate from the scoring pass's counts
and its error, and, where ``--nannyml-python`` names an interpreter with ``nannyml``, NannyML's
CBPE on the same model and rows (in that interpreter: launchbay does not need nannyml).

``--attribute`` also prints, per shift, the estimate with each suspect changed on its own, all
on exact scores (no histogram): the oracle (the true probabilities: what is left is the labels'
sampling error), each calibration method fitted on the holdout, isotonic regression on 4x the
rows (``--train-rows`` fresh ones), and the calibration launchbay chose (against the line
above it: the histogram's share).

    python benchmarks/estimate.py [--seeds 5] [--attribute]
    python benchmarks/estimate.py --nannyml-python /path/to/venv/bin/python   # and NannyML's (nannyml installed there)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn import metrics

FEATURES = [f"x{i}" for i in range(6)]
CORRELATION = 0.6 ** np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
WEIGHTS = np.array([1.2, -0.8, 0.6, 0.9, -0.5, 0.3])
# name: (mean shift per feature, in standard deviations; spread multiplier)
SHIFTS = {
    "none": (np.zeros(6), 1.0),
    "x0 +0.5": (np.r_[0.5, np.zeros(5)], 1.0),
    "x0 +1, x3 -0.5": (np.r_[1.0, 0, 0, -0.5, 0, 0], 1.0),
    "all +0.3, spread 1.3": (np.full(6, 0.3), 1.3),
    "x1 -1, spread 0.7": (np.r_[0, -1.0, 0, 0, 0, 0], 0.7),
}


def probability(x: np.ndarray) -> np.ndarray:
    """The true probability of the positive class given the features (the same before and after a shift)."""
    logit = x @ WEIGHTS - 0.4
    return 1 / (1 + np.exp(-logit))


def rows(n: int, rng: np.random.Generator, shift=SHIFTS["none"]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``n`` rows: the features, their true probability and a label drawn from it."""
    mean, spread = shift
    x = mean + spread * rng.multivariate_normal(np.zeros(6), CORRELATION, n)
    p = probability(x)
    return pd.DataFrame(x, columns=FEATURES), p, (rng.random(n) < p).astype(np.int64)


def expected(p: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Expected ROC AUC and accuracy of rows positive with probability ``p``, ranked by ``score``
    (exact: every pair of rows, ties counted one half)."""
    order = np.argsort(score, kind="stable")
    p, s = p[order], score[order]
    q = 1 - p
    start = np.r_[True, s[1:] != s[:-1]]  # tie groups of equal scores
    group = np.cumsum(start) - 1
    pos, neg = np.bincount(group, p), np.bincount(group, q)
    below = np.cumsum(neg) - neg
    auc = float((pos * (below + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))
    return {"roc_auc": auc, "accuracy": float((p[s > 0.5].sum() + q[s <= 0.5].sum()) / len(p))}


NANNYML = """
import json, sys
import nannyml, pandas as pd
reference, analysis = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
cbpe = nannyml.CBPE(y_pred_proba="score", y_pred="prediction", y_true="label", metrics=["roc_auc", "accuracy"],
                    problem_type="classification_binary", chunk_size=len(analysis))
frame = cbpe.fit(reference).estimate(analysis).filter(period="analysis").to_df()
print(json.dumps({m: float(frame[(m, "value")].iloc[0]) for m in ("roc_auc", "accuracy")}))
"""


def nannyml_estimate(python: str | None, reference: pd.DataFrame, analysis: pd.DataFrame) -> dict[str, float] | None:
    """NannyML's CBPE with its defaults (isotonic calibration where cross-validation shows it helps), fitted on
    ``reference``, on ``analysis`` as one chunk, run by ``python`` (an interpreter that has nannyml; None: not run)."""
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        paths = [f"{folder}/reference.parquet", f"{folder}/analysis.parquet"]
        reference.to_parquet(paths[0])
        analysis.to_parquet(paths[1])
        out = subprocess.run([python, "-c", NANNYML, *paths], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-rows", type=int, default=60_000)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--bins", type=int, default=2048)
    parser.add_argument("--estimator", default="sklearn.ensemble.HistGradientBoostingClassifier")
    parser.add_argument("--attribute", action="store_true", help="also the estimate with each suspect changed on its own")
    parser.add_argument("--nannyml-python", help="a Python interpreter with nannyml installed: NannyML's CBPE on the same rows")
    args = parser.parse_args()

    from launchbay.models import SklearnConfig, build
    from launchbay.models.predict import predict_columns
    from launchbay.performance.cbpe import METHODS, Calibration, estimate
    from launchbay.performance.sketch import Target
    from launchbay.training.fit import calibrate

    names = ("roc_auc", "accuracy")
    errors: dict[str, list[float]] = {}

    def record(what: str, shift: str, got: dict[str, float] | None, realized: dict[str, float]) -> str:
        if got is None:
            return ""
        for m in names:
            errors.setdefault(f"{what}|{m}", []).append(got[m] - realized[m])
            errors.setdefault(f"{what}|{m}|{shift}", []).append(got[m] - realized[m])
        return "  ".join(f"{got[m]:.4f} ({got[m] - realized[m]:+.4f})" for m in names)

    print(f"{args.estimator.rsplit('.', 1)[-1]} on {args.train_rows:,} rows, calibrated on {args.train_rows // 4:,}; batches of {args.batch_rows:,} rows")
    print("estimates as roc_auc (error)  accuracy (error), error = estimate - realized")
    for seed in range(args.seeds):
        rng = np.random.default_rng([seed, 0])
        train, _, y_train = rows(args.train_rows, rng)
        holdout, p_holdout, y_holdout = rows(args.train_rows // 4, rng)
        model = build(SklearnConfig({"_target_": args.estimator})).fit(train, y_train)
        calibration = Calibration.from_dict(calibrate(model, holdout, y_holdout))
        target = Target.of(model, "label", args.bins)
        holdout_scores = predict_columns(model, holdout)["score"]
        reference = pd.DataFrame({"score": holdout_scores, "prediction": (holdout_scores > 0.5).astype(int), "label": y_holdout})
        variants = {}
        if args.attribute:  # the calibrator on exact scores, one suspect at a time
            fresh, _, y_fresh = rows(args.train_rows, rng)
            variants = {f"{method} calibration": Calibration.fit(holdout_scores, y_holdout == 1, method) for method in METHODS}
            variants["isotonic, 4x the rows"] = Calibration.fit(predict_columns(model, fresh)["score"], y_fresh == 1, "isotonic")
            variants[f"chosen ({calibration.method}), exact"] = calibration
        for shift, spec in SHIFTS.items():
            batch, p, y = rows(args.batch_rows, np.random.default_rng([seed, 1, len(shift)]), spec)
            predictions = predict_columns(model, batch)
            score = predictions["score"]
            realized = {"roc_auc": metrics.roc_auc_score(y, score), "accuracy": metrics.accuracy_score(y, predictions["prediction"])}
            start = time.perf_counter()
            sketch = target.gather(pa.table({"label": y}), {k: pa.array(v) for k, v in predictions.items()})
            launchbay, _ = estimate(sketch.scores, sketch.score_sums, calibration)
            took = time.perf_counter() - start
            analysis = pd.DataFrame({"score": score, "prediction": predictions["prediction"], "label": y})
            line = [f"seed {seed} {shift:<22} realized {realized['roc_auc']:.4f} {realized['accuracy']:.4f}",
                    f"launchbay [{calibration.method}] {record('launchbay', shift, launchbay, realized)} [{took * 1e3:.0f} ms]"]
            nannyml = nannyml_estimate(args.nannyml_python, reference, analysis)
            if nannyml is not None:
                line.append(f"nannyml {record('nannyml', shift, nannyml, realized)}")
            print("  ".join(line))
            if args.attribute:
                print(f"    {'oracle (true p)':<28} {record('oracle (true p)', shift, expected(p, score), realized)}")
                for name, variant in variants.items():
                    print(f"    {name:<28} {record(name, shift, expected(variant(score), score), realized)}")
    print("\nlargest |error| (mean |error|) over seeds and shifts")
    for key in sorted(k for k in errors if k.count("|") == 1):
        e = np.abs(errors[key])
        print(f"  {key:<40} {e.max():.4f} ({e.mean():.4f})")


if __name__ == "__main__":
    main()
