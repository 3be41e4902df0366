"""Model performance on scored batches: realized metrics from mergeable counts against
scikit-learn, the histogram ROC AUC bound, the estimate without labels (CBPE) under covariate
shift, and the runs that report them (scoring, late labels, old versions, alerts, the trigger)."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics

import launchbay
from launchbay.errors import LaunchbayError
from launchbay.performance.assess import assess
from launchbay.performance.cbpe import Calibration, estimate
from launchbay.performance.metrics import histogram_auc
from launchbay.performance.sketch import Target
from launchbay.registry import Registry

SMALL = ["data.rows=6000", "batch.rows=4000", "data.chunk_rows=1500", "batch.chunk_rows=1500"]
SECTION_KEYS = {"task", "reference", "realized", "labeled_rows", "estimated", "estimate_note", "max_drop", "dropped", "verdict"}

# Probabilities that pile up where real classifiers put them: at 0 and 1, at the threshold, in ties.
probability = st.one_of(
    st.floats(0, 1),
    st.sampled_from([0.0, 1.0, 0.5, 0.25, 1e-300, 1 - 1e-16, 0.5 + 1e-12]),
)


def gather_in_pieces(target: Target, table: pa.Table, predictions: dict, cuts: list[int], proba=None):
    """The merged sketch of ``table`` scored in pieces cut at ``cuts``."""
    bounds = sorted({0, table.num_rows, *(c % (table.num_rows + 1) for c in cuts)})
    sketch = None
    for lo, hi in zip(bounds, bounds[1:]):
        part = {k: v[lo:hi] for k, v in predictions.items()}
        got = target.gather(table.slice(lo, hi - lo), part, (lambda lo=lo, hi=hi: proba[lo:hi]) if proba is not None else None)
        sketch = got if sketch is None else sketch.merge(got)
    return sketch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(probability, st.sampled_from([0, 1, None])), min_size=1, max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=4),
    bins=st.sampled_from([2, 16, 2048]),
)
def test_binary_metrics_match_scikit_learn(rows, cuts, bins):
    score = np.array([s for s, _ in rows])
    labels = [y for _, y in rows]
    table = pa.table({"label": pa.array(labels, pa.int64())})
    predictions = {"prediction": pa.array((score > 0.5).astype(np.int64)), "score": pa.array(score)}
    sketch = gather_in_pieces(Target("binary", "label", (0, 1), bins), table, predictions, cuts)
    known = np.array([y is not None for y in labels])
    y, s = np.array([v for v in labels if v is not None], dtype=np.int64), score[known]
    assert sketch.rows == len(rows) and sketch.labeled == len(y) and sketch.unknown == 0
    assert sketch.scores.sum() == len(rows)
    realized = sketch.realized()
    if not len(y):
        assert realized is None
        return
    predicted = (s > 0.5).astype(np.int64)
    assert realized["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted), abs=1e-12)
    assert realized["f1"] == pytest.approx(metrics.f1_score(y, predicted, zero_division=0.0), abs=1e-12)
    assert realized["log_loss"] == pytest.approx(metrics.log_loss(y, np.c_[1 - s, s], labels=[0, 1]), rel=1e-9, abs=1e-12)
    if len(set(y)) < 2:
        assert "roc_auc" not in realized  # scikit-learn does not define it either
        return
    exact = metrics.roc_auc_score(y, s)
    auc, bound = sketch.roc_auc()
    assert realized["roc_auc"] == auc and abs(auc - exact) <= bound + 1e-12


@settings(max_examples=150, deadline=None)
@given(
    positive=st.lists(probability, min_size=1, max_size=200),
    negative=st.lists(probability, min_size=1, max_size=200),
    bins=st.integers(1, 64).map(lambda b: 2 * b),
)
def test_histogram_auc_is_within_its_bound(positive, negative, bins):
    """Adversarial inputs for the bound: few bins, scores piled into one bin, exact ties."""
    from launchbay.performance.sketch import bin_of

    auc, bound = histogram_auc(np.bincount(bin_of(np.array(positive), bins), minlength=bins),
                               np.bincount(bin_of(np.array(negative), bins), minlength=bins))
    y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    exact = metrics.roc_auc_score(y, np.r_[positive, negative])
    assert 0 <= bound <= 0.5 and abs(auc - exact) <= bound + 1e-12


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), k=st.integers(3, 5), cuts=st.lists(st.integers(0, 400), max_size=3))
def test_multiclass_metrics_match_scikit_learn(seed, n, k, cuts):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.5), n)
    classes = tuple(f"c{i}" for i in range(k))
    y = rng.integers(0, k, n)
    table = pa.table({"label": pa.array([classes[i] for i in y])})
    predictions = {"prediction": pa.array([classes[i] for i in proba.argmax(axis=1)])}
    sketch = gather_in_pieces(Target("multiclass", "label", classes, 2048), table, predictions, cuts, proba)
    realized = sketch.realized()
    assert realized["accuracy"] == pytest.approx(metrics.accuracy_score(y, proba.argmax(axis=1)), abs=1e-12)
    assert realized["log_loss"] == pytest.approx(metrics.log_loss(y, proba, labels=list(range(k))), rel=1e-9)
    if len(set(y)) < k:
        assert "roc_auc" not in realized
        return
    auc, bound = sketch.roc_auc()
    assert abs(realized["roc_auc"] - metrics.roc_auc_score(y, proba, multi_class="ovr", labels=list(range(k)))) <= bound + 1e-12


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 500), scale=st.sampled_from([1e-3, 1.0, 1e6]), cuts=st.lists(st.integers(0, 500), max_size=4))
def test_regression_metrics_match_scikit_learn(seed, n, scale, cuts):
    rng = np.random.default_rng(seed)
    y = rng.normal(5 * scale, scale, n)
    predicted = y + rng.normal(0, scale / 2, n)
    labels = pa.array(np.where(rng.random(n) < 0.1, np.nan, y))  # NaN labels: not labelled
    sketch = gather_in_pieces(Target("regression", "label"), pa.table({"label": labels}), {"prediction": predicted}, cuts)
    known = ~np.isnan(labels.to_numpy(zero_copy_only=False))
    realized = sketch.realized()
    if known.sum() < 2:
        return
    y, predicted = y[known], predicted[known]
    assert realized["r2"] == pytest.approx(metrics.r2_score(y, predicted), rel=1e-9, abs=1e-9)
    assert realized["rmse"] == pytest.approx(math.sqrt(metrics.mean_squared_error(y, predicted)), rel=1e-9)
    assert realized["mae"] == pytest.approx(metrics.mean_absolute_error(y, predicted), rel=1e-9)


def test_labels_that_are_none_of_the_classes_are_counted_not_scored():
    table = pa.table({"label": pa.array([0, 1, 7, None, 1])})
    predictions = {"prediction": pa.array([0, 1, 1, 0, 0]), "score": pa.array([0.1, 0.9, 0.8, 0.2, 0.3])}
    sketch = Target("binary", "label", (0, 1), 16).gather(table, predictions)
    assert (sketch.rows, sketch.labeled, sketch.unknown) == (5, 3, 1)
    assert sketch.realized()["accuracy"] == pytest.approx(2 / 3)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300))
def test_calibration_is_scikit_learns_isotonic_regression(seed, n):
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(seed)
    scores = rng.random(n)
    positive = rng.random(n) < scores
    calibration = Calibration.fit(scores, positive, "isotonic")
    if positive.all() or not positive.any():
        assert calibration is None
        return
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(scores, positive)
    probe = np.r_[rng.random(50), -1.0, 0.0, 1.0, 2.0]
    assert np.allclose(calibration(probe), iso.predict(probe), atol=1e-12)
    assert Calibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration
    older = {k: v for k, v in calibration.to_dict().items() if k != "method"}  # as versions registered before the choice of method
    assert Calibration.from_dict(older) == calibration


def test_the_calibration_is_the_simplest_that_held_out_folds_support():
    """A score that is already a probability keeps it (isotonic steps would only add the holdout's noise);
    one that is too confident is recalibrated, and the map stays monotone."""
    rng = np.random.default_rng(7)
    scores = rng.beta(2, 2, 15_000)
    calibrated = Calibration.fit(scores, rng.random(15_000) < scores)
    assert calibrated.method == "identity" and np.allclose(calibrated(scores), scores)
    truth = 1 / (1 + np.exp(-0.5 * np.log(scores / (1 - scores))))  # the score's logit is twice the truth's
    overconfident = Calibration.fit(scores, rng.random(15_000) < truth)
    assert overconfident.method in ("platt", "isotonic")
    assert np.abs(overconfident(scores) - truth).max() < 0.05 and np.all(np.diff(overconfident(np.sort(scores))) >= 0)
    assert Calibration.from_dict(json.loads(json.dumps(overconfident.to_dict()))) == overconfident


def test_estimate_without_labels_tracks_realized_under_covariate_shift():
    """CBPE against realized performance on synthetic batches with known covariate shift (the label
    follows the shifted features): within 0.03 for accuracy, ROC AUC and F1, over 3 seeds x 5 shifts."""
    from launchbay.data.synthetic import DriftSpec, SyntheticConfig, generate
    from launchbay.models import SklearnConfig, build
    from launchbay.models.predict import predict_columns
    from launchbay.training.fit import calibrate

    data = generate(SyntheticConfig(rows=8000, chunk_rows=8000, seed=0), 0).to_pandas()
    features = [c for c in data.columns if c not in ("row_id", "label")]
    model = build(SklearnConfig()).fit(data[features][:6000], data["label"][:6000])
    calibration = Calibration.from_dict(calibrate(model, data[features][6000:], data["label"][6000:].to_numpy()))
    target = Target("binary", "label", (0, 1), 2048)
    errors = []
    for seed in (1, 2, 3):
        for shift, scale in ((0.0, 1.0), (0.5, 1.3), (1.0, 1.0), (-1.0, 0.7), (1.5, 1.5)):
            drift = DriftSpec(features=["num_0", "num_1", "num_2"], mean_shift=shift, scale=scale, covariate=True)
            batch = generate(SyntheticConfig(rows=20000, chunk_rows=20000, seed=seed, drift=drift), 0)
            predictions = {k: pa.array(v) for k, v in predict_columns(model, batch.select(features).to_pandas()).items()}
            sketch = target.gather(batch, predictions)
            realized, (estimated, _) = sketch.realized(), estimate(sketch.scores, sketch.score_sums, calibration)
            errors.append(max(abs(estimated[m] - realized[m]) for m in ("accuracy", "roc_auc", "f1")))
    assert max(errors) <= 0.03, errors
    # and a concept change (the label follows the features as they were) is what CBPE cannot see
    drift = DriftSpec(features=["num_0", "num_1", "num_2"], mean_shift=1.5, scale=1.5, covariate=False)
    batch = generate(SyntheticConfig(rows=20000, chunk_rows=20000, seed=1, drift=drift), 0)
    sketch = target.gather(batch, {k: pa.array(v) for k, v in predict_columns(model, batch.select(features).to_pandas()).items()})
    assert abs(estimate(sketch.scores, sketch.score_sums, calibration)[0]["accuracy"] - sketch.realized()["accuracy"]) > 0.05


def test_a_drop_reads_each_metrics_direction_and_override():
    target = Target("regression", "label")
    sketch = target.gather(pa.table({"label": pa.array([1.0, 2.0, 3.0, 4.0])}), {"prediction": np.array([1.5, 2.5, 2.5, 4.5])})
    reference = {"r2": 0.95, "rmse": 0.1, "mae": 0.45}
    section = assess("regression", reference, sketch, None, 0.05, {"mae": 0.1}, 2048).section
    assert set(section) == SECTION_KEYS and section["realized"]["rmse"] == pytest.approx(0.5)
    assert section["dropped"] == ["r2", "rmse"] and section["verdict"] == "dropped"  # mae 0.5 - 0.45 is within its 0.1
    assert section["max_drop"] == {"r2": 0.05, "rmse": 0.05, "mae": 0.1}
    assert section["estimated"] is None and "binary classifiers" in section["estimate_note"]
    unlabelled = target.gather(pa.table({"x": [1.0]}), {"prediction": np.array([1.0])})
    assert assess("regression", reference, unlabelled, None, 0.05, {}, 2048).section["verdict"] == "undefined"


# --- runs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(ray_session, tmp_path_factory):
    """A directory with one pipeline run (which trains v1) and a parquet batch without labels."""
    home = tmp_path_factory.mktemp("performance")
    first = run_in(home, "job=pipeline", *SMALL, "approval.trigger=never")
    from launchbay.data.synthetic import SyntheticConfig, generate

    batch = generate(SyntheticConfig(rows=3000, chunk_rows=3000, seed=5), 0)
    pq.write_table(batch, home / "labelled.parquet")
    pq.write_table(batch.drop_columns(["label"]), home / "unlabelled.parquet")
    pq.write_table(batch.select(["row_id", "label"]), home / "labels-all.parquet")
    return home, first, batch


@pytest.fixture(scope="module")
def estimated(home):
    """The summary of one score run of the batch without labels, its performance estimated only."""
    root, _, _ = home
    return run_in(root, "job=score", "data@batch=parquet", f"batch.path={root / 'unlabelled.parquet'}")


def run_in(home, *overrides: str) -> dict:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        return launchbay.run(list(overrides))


def test_a_labelled_batch_has_its_realized_metrics(home):
    root, summary, _ = home
    section = summary["performance"]
    assert set(section) == SECTION_KEYS and section["task"] == "binary" and section["labeled_rows"] == 4000
    reference = Registry(root / ".launchbay/registry").get("demo", 1).meta["metrics"]
    assert section["reference"] == reference and set(reference) == {"accuracy", "roc_auc", "log_loss", "f1"}
    # the scored rows against the batch's labels (the drifted synthetic source, made again), measured by scikit-learn
    from omegaconf import OmegaConf

    from launchbay.data.synthetic import SyntheticConfig, generate
    from launchbay.settings import CONF_DIR

    drifted = {k: v for k, v in OmegaConf.load(CONF_DIR / "data/drifted.yaml").items() if k != "defaults"}
    spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SyntheticConfig), drifted, {"rows": 4000, "chunk_rows": 1500}))
    labels = pa.concat_tables([generate(spec, i) for i in range(3)]).select(["row_id", "label"])
    scores = pq.read_table(root / summary["scores"]["path"]).join(labels, "row_id", join_type="inner").to_pandas()
    y, s = scores["label"].to_numpy(), scores["score"].to_numpy()
    realized = section["realized"]
    assert realized["accuracy"] == pytest.approx(metrics.accuracy_score(y, scores["prediction"]), abs=1e-12)
    assert realized["f1"] == pytest.approx(metrics.f1_score(y, scores["prediction"]), abs=1e-12)
    assert realized["log_loss"] == pytest.approx(metrics.log_loss(y, np.c_[1 - s, s]), rel=1e-9)
    assert abs(realized["roc_auc"] - metrics.roc_auc_score(y, s)) <= 0.002
    assert set(section["estimated"]) == {"accuracy", "roc_auc", "f1"} and section["estimate_note"] is None
    report = (root / summary["run_dir"] / "report.html").read_text()
    assert "Model performance" in report and "estimated (CBPE)" in report


def test_every_scoring_path_counts_the_same(home):
    """The fragments path merges on the driver, Ray Data's tasks path in the tally actor, batch by batch:
    the counts agree exactly, sums over rows (log loss) to float rounding, as they are added in another order."""
    root, _, batch = home
    runs = [run_in(root, "job=score", "data@batch=parquet", f"batch.path={root / 'labelled.parquet'}", f"score.strategy={strategy}",
                   "job.report=false", "score.drift=false", "score.batch_size=700") for strategy in ("fragments", "tasks")]
    fragments, tasks = (dict(run["performance"]) for run in runs)
    assert fragments.pop("realized") == pytest.approx(tasks.pop("realized"), rel=1e-12)
    assert fragments == tasks and tasks["labeled_rows"] == batch.num_rows
    scores = pq.read_table(runs[1]["scores"]["path"]).join(batch.select(["row_id", "label"]), "row_id").to_pandas()
    realized = runs[1]["performance"]["realized"]
    assert realized["accuracy"] == pytest.approx(metrics.accuracy_score(scores["label"], scores["prediction"]), abs=1e-12)
    assert realized["log_loss"] == pytest.approx(metrics.log_loss(scores["label"], np.c_[1 - scores["score"], scores["score"]]), rel=1e-9)


def test_a_batch_without_labels_is_estimated(estimated):
    section = estimated["performance"]
    assert section["realized"] is None and section["labeled_rows"] == 0 and section["verdict"] in ("ok", "dropped")
    assert set(section["estimated"]) == {"accuracy", "roc_auc", "f1"}
    assert set(section["max_drop"]) == set(section["reference"])


def test_late_labels_are_joined_by_row_id_and_counted(home, estimated):
    root, _, batch = home
    scored = estimated
    labels = batch.select(["row_id", "label"])
    kept = labels.filter(pa.compute.not_equal(pa.compute.bit_wise_and(labels["row_id"], 7), 0))  # every 8th id's label never arrives
    extra = pa.table({"row_id": pa.array([10_000_001, 10_000_002]), "label": pa.array([1, 0])})  # ids nobody scored
    pq.write_table(pa.concat_tables([kept, extra, kept.slice(0, 5)]), root / "late.parquet")  # 5 ids repeated
    summary = run_in(root, "job=evaluate", f"job.scores={root / scored['run_dir']}", "data@labels=parquet", f"labels.path={root / 'late.parquet'}")
    evaluation = summary["evaluation"]
    assert evaluation["scored_rows"] == 3000 and evaluation["matched"] == kept.num_rows
    assert evaluation["missing"] == 3000 - kept.num_rows and evaluation["unmatched"] == 2 and evaluation["repeated_label_ids"] == 5
    assert evaluation["scored_run_id"] == scored["run_id"]
    section = summary["performance"]
    assert section["labeled_rows"] == kept.num_rows and section["verdict"] in ("ok", "dropped")
    scores = pq.read_table(scored["scores"]["path"]).join(kept, "row_id", join_type="inner").to_pandas()
    assert section["realized"]["accuracy"] == pytest.approx(metrics.accuracy_score(scores["label"], scores["prediction"]), abs=1e-12)
    on_disk = json.loads((root / summary["run_dir"] / "summary.json").read_text())
    assert on_disk["job"] == "evaluate" and on_disk["performance"] == section
    # the scores folder itself names the run too
    again = run_in(root, "job=evaluate", f"job.scores={scored['scores']['path']}", "data@labels=parquet", f"labels.path={root / 'late.parquet'}")
    assert again["performance"]["realized"] == section["realized"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["job.scores=nowhere", "data@labels=parquet", "labels.path=labels-all.parquet"],
         r"job.scores: nowhere is neither a run directory \(summary.json\) nor a committed scores folder"),
        (["job.scores=.", "data@labels=parquet", "labels.path=labels-all.parquet"], "job.scores: . is neither a run directory"),
        (["data@labels=parquet", "labels.path=labels-all.parquet"], "job.scores: name the run directory"),
        (["job.scores=SCORED"], "labels: no labels source selected"),
        (["job.scores=SCORED", "data@labels=parquet", "labels.path=unlabelled.parquet"], r"job.label: column 'label' is not in the labels \(parquet\)"),
        (["job.scores=SCORED", "data@labels=parquet", "labels.path=labels-all.parquet", "job.id_column=nope"],
         "job.id_column: column 'nope' is not in the scores"),
    ],
)
def test_bad_evaluate_input_is_one_line(home, overrides, message):
    root, first, _ = home
    overrides = [o.replace("SCORED", str(root / first["run_dir"])) for o in overrides]
    with pytest.raises(LaunchbayError, match=message) as info:
        run_in(root, "job=evaluate", *overrides)
    assert "\n" not in str(info.value)


def test_an_old_version_without_calibration_has_no_estimate(home):
    root, _, _ = home
    registry = Registry(root / ".launchbay/registry")
    v1 = registry.get("demo", 1)
    meta = {k: v for k, v in v1.meta.items() if k not in ("name", "version", "sha256", "files", "registered_at")}
    meta["metrics"] = {k: v for k, v in meta["metrics"].items() if k != "f1"}  # older versions measured no f1
    old = registry.register("demo", v1.load_model(), v1.load_profile(), meta, contract=v1.load_contract())
    assert old.load_calibration() is None
    summary = run_in(root, "job=score", f"job.model_version={old.version}", "data@batch=parquet", f"batch.path={root / 'unlabelled.parquet'}")
    section = summary["performance"]
    assert section["estimated"] is None and "without a score calibration" in section["estimate_note"]
    assert section["verdict"] == "undefined" and section["dropped"] == []


def test_a_drop_alerts_and_trains_a_challenger(home, capfd):
    """A concept change (the label follows num_2 as it was before a shift of 2 standard deviations) drops accuracy."""
    root, _, _ = home
    concept = ["batch.drift.features=[num_2]", "batch.drift.mean_shift=2", "batch.drift.scale=1", "batch.drift.new_categories=0",
               "batch.drift.missing_rate=0"]
    summary = run_in(root, "job=pipeline", *SMALL, *concept, "approval.trigger=performance", "+alerts.jsonl.path=alerts.jsonl", "+alerts.console={}",
                     "monitor.performance.max_drop=0.02", "+monitor.performance.max_drops.log_loss=10")
    section = summary["performance"]
    assert section["verdict"] == "dropped" and "accuracy" in section["dropped"] and "log_loss" not in section["dropped"]
    assert section["reference"]["accuracy"] - section["realized"]["accuracy"] > 0.02
    assert summary["challenger"]["trigger"].startswith("performance dropped: accuracy")
    lines = [json.loads(line) for line in (root / summary["run_dir"] / "alerts.jsonl").read_text().splitlines()]
    dropped = [line for line in lines if line["performance"] is not None]
    assert len(dropped) == 1 and dropped[0]["performance"]["dropped"] == section["dropped"]
    assert summary["performance_alerts"] == {"jsonl": "sent", "console": "sent"}
    assert f"ALERT performance of model demo v{summary['model']['version']} dropped: {', '.join(section['dropped'])}" in capfd.readouterr().err


def test_bad_performance_settings_are_one_line(ray_session, in_tmp):
    with pytest.raises(LaunchbayError, match="monitor.performance.bins must be even and at least 2, got 3"):
        launchbay.run(["job=train", "data.rows=500", "monitor.performance.bins=3"])
    with pytest.raises(LaunchbayError, match="monitor.performance.max_drops.auc must be a metric"):
        launchbay.run(["job=train", "data.rows=500", "+monitor.performance.max_drops.auc=0.1"])


def test_a_label_that_is_none_of_the_classes_is_unknown_alone():
    """A NaN or 2.5 among float labels of integer classes leaves the other rows' labels known."""
    target = Target("multiclass", "label", (0, 1, 2))
    for odd in (math.nan, 2.5):
        assert target.class_index(pa.array([0.0, 1.0, 2.0, odd])).tolist() == [0, 1, 2, -1]
    assert Target("multiclass", "label", ("a", "b")).class_index(pa.array(["b", None, "c"])).tolist() == [1, -1, -1]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 3000), bins=st.sampled_from([2, 16, 2048]), method=st.sampled_from(["identity", "platt", "isotonic"]),
       pile=st.floats(0, 1))
def test_the_estimated_roc_auc_is_within_its_discretisation_bound(seed, n, bins, method, pile):
    """The histogram's estimate against the exact expected ROC AUC of the same rows (every pair ordered by score,
    ties and a row with itself one half), the calibration taken at the bin edges; accuracy exactly."""
    from launchbay.performance.sketch import bin_of

    rng = np.random.default_rng(seed)
    score = np.where(rng.random(n) < pile, rng.choice([0.0, 0.5, 1.0, 0.999]), rng.beta(0.5, 0.5, n))  # ties and piles
    calibration = Calibration.fit(rng.random(500), rng.random(500) < 0.5, method) or Calibration.fit(np.r_[0.0, 1.0], np.r_[False, True], method)
    cells = bin_of(score, bins)
    got = estimate(np.bincount(cells, minlength=bins), np.bincount(cells, score, minlength=bins), calibration)
    p = np.interp(score, np.linspace(0, 1, bins + 1), calibration(np.linspace(0, 1, bins + 1)))
    order = np.argsort(score, kind="stable")
    _, group = np.unique(score[order], return_inverse=True)
    positive, negative = np.bincount(group, p[order]), np.bincount(group, 1 - p[order])
    (values, bound) = got
    assert values["accuracy"] == pytest.approx((p[score > 0.5].sum() + (1 - p[score <= 0.5]).sum()) / n, abs=1e-9)
    if not (positive.sum() > 0 and negative.sum() > 0):
        return
    exact = (positive * (np.cumsum(negative) - negative + 0.5 * negative)).sum() / (positive.sum() * negative.sum())
    assert abs(values["roc_auc"] - exact) <= bound + 1e-9


def test_the_estimate_is_within_its_sampling_error_over_seeds_and_shifts():
    """A well-specified model (logistic on 6 correlated features, 60,000 rows, calibrated on 15,000) and batches of 100,000
    rows under covariate shift: |estimate - realized| within 3 standard errors of the realized metric given the features
    (about 0.0014 for each: binomial for accuracy, Hanley-McNeil for ROC AUC). Isotonic steps alone were off by up to 0.0084."""
    from sklearn.linear_model import LogisticRegression

    correlation = 0.6 ** np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    weights = np.array([1.2, -0.8, 0.6, 0.9, -0.5, 0.3])

    def rows(n, rng, mean=0.0, spread=1.0):
        x = mean + spread * rng.multivariate_normal(np.zeros(6), correlation, n)
        return x, (rng.random(n) < 1 / (1 + np.exp(0.4 - x @ weights))).astype(np.int64)

    target = Target("binary", "label", (0, 1), 2048)
    for seed in (0, 1, 2):
        rng = np.random.default_rng([seed, 0])
        model = LogisticRegression().fit(*rows(60_000, rng))
        holdout, y = rows(15_000, rng)
        calibration = Calibration.fit(model.predict_proba(holdout)[:, 1], y == 1)
        for mean, spread in ((0.0, 1.0), (np.r_[1.0, 0, 0, -0.5, 0, 0], 1.0), (0.3, 1.3), (np.r_[0, -1.0, 0, 0, 0, 0], 0.7)):
            x, y = rows(100_000, np.random.default_rng([seed, 1]), mean, spread)
            score = model.predict_proba(x)[:, 1]
            sketch = target.gather(pa.table({"label": y}), {"prediction": pa.array((score > 0.5).astype(np.int64)), "score": pa.array(score)})
            (estimated, _), p = estimate(sketch.scores, sketch.score_sums, calibration), calibration(score)
            right = np.where(score > 0.5, p, 1 - p)
            a, positives, negatives = estimated["roc_auc"], p.sum(), (1 - p).sum()
            q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
            errors = {"accuracy": math.sqrt((right * (1 - right)).sum()) / len(y),
                      "roc_auc": math.sqrt((a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives))}
            assert abs(estimated["accuracy"] - metrics.accuracy_score(y, score > 0.5)) <= 3 * errors["accuracy"], (seed, mean, spread)
            assert abs(a - metrics.roc_auc_score(y, score)) <= 3 * errors["roc_auc"], (seed, mean, spread)
