"""The XGBoost model family: unit checks of the adapter, and real launchbay runs on an embedded Ray (launchbay's testing kit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn import metrics

from launchbay.data import synthetic
from launchbay.errors import LaunchbayError
from launchbay.plugins import current_manager
from launchbay.registry import Registry
from launchbay.testing import RunFailed, assert_composes, assert_registered
from launchbay_xgboost import gpus, launchbay_model_attributions
from launchbay_xgboost.model import Device, Task, XGBoostConfig, XGBoostModel


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    return synthetic.generate(synthetic.SyntheticConfig(rows=n, seed=seed, chunk_rows=n), 0).to_pandas()


def features(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["row_id", "label"])


def test_registered_through_entry_point():
    assert_registered("model", "xgboost", plugin="xgboost")
    assert_composes("model=xgboost", "model.device=cuda", "model.early_stopping_rounds=5", "+model.params.subsample=0.8")
    family = current_manager().component("model", "xgboost")
    assert family.config is XGBoostConfig
    assert family.gpus(XGBoostConfig()) == gpus(XGBoostConfig()) == 0.0
    assert family.gpus(XGBoostConfig(device=Device.cuda)) == 1.0


def test_binary_classifier_learns_and_early_stopping_stops():
    train, test = frame(4000), frame(2000, seed=1)
    model = XGBoostModel(XGBoostConfig(n_estimators=500, learning_rate=0.3, early_stopping_rounds=5)).fit(features(train), train.label.to_numpy())
    assert model.estimator_.best_iteration < 200  # stopped long before 500 rounds
    proba = model.predict_proba(features(test))
    assert proba.shape == (2000, 2) and np.allclose(proba.sum(axis=1), 1)
    assert metrics.roc_auc_score(test.label, proba[:, 1]) > 0.8
    assert list(model.predict(features(test))) == list(model.classes_[(proba[:, 1] > 0.5).astype(int)])


def test_unseen_categories_and_nulls_are_missing_values():
    train = frame(2000)
    model = XGBoostModel(XGBoostConfig(n_estimators=20)).fit(features(train), train.label.to_numpy())
    rows = features(train.head(50))
    unseen, missing = rows.assign(cat_0="never seen"), rows.assign(cat_0=None)
    assert np.array_equal(model.predict_proba(unseen), model.predict_proba(missing))
    assert not np.array_equal(model.predict_proba(unseen), model.predict_proba(rows))


def test_multiclass_labels_keep_their_names_and_regression_is_chosen_for_float_labels():
    train = frame(1500)
    names = np.array(["low", "mid", "high"])[np.digitize(train.num_0, np.quantile(train.num_0, [1 / 3, 2 / 3]))]
    classifier = XGBoostModel(XGBoostConfig(n_estimators=30)).fit(features(train), names)
    assert sorted(classifier.classes_) == ["high", "low", "mid"]
    assert (classifier.predict(features(train)) == names).mean() > 0.95
    regressor = XGBoostModel(XGBoostConfig(n_estimators=50)).fit(features(train), train.num_0.to_numpy() * 2 + 1)
    assert not hasattr(regressor, "classes_")
    assert metrics.r2_score(train.num_0 * 2 + 1, regressor.predict(features(train))) > 0.95
    as_classes = XGBoostModel(XGBoostConfig(n_estimators=5, task=Task.classification)).fit(features(train), train.label.astype(float).to_numpy())
    assert list(as_classes.classes_) == [0.0, 1.0]


def test_attributions_are_the_mean_absolute_shap_contributions_without_the_bias():
    import xgboost

    train = frame(1000)
    X = features(train)
    model = XGBoostModel(XGBoostConfig(n_estimators=20)).fit(X, train.label.to_numpy())
    answer = launchbay_model_attributions("xgboost", model, X)
    contributions = model.estimator_.get_booster().predict(xgboost.DMatrix(model._frame(X), enable_categorical=True), pred_contribs=True)
    assert contributions.shape == (1000, X.shape[1] + 1)  # the last column is the bias
    size = np.abs(contributions[:, :-1])
    assert answer == {"method": "shap", "features": [
        {"feature": c, "mean": float(m), "std": float(s)} for c, m, s in zip(X.columns, size.mean(axis=0), size.std(axis=0))]}
    names = np.array(["low", "mid", "high"])[np.digitize(train.num_0, np.quantile(train.num_0, [1 / 3, 2 / 3]))]
    multiclass = XGBoostModel(XGBoostConfig(n_estimators=10)).fit(X, names)
    ranked = sorted(launchbay_model_attributions("xgboost", multiclass, X)["features"], key=lambda row: -row["mean"])
    assert ranked[0]["feature"] == "num_0"  # summed over the three classes
    assert launchbay_model_attributions("sklearn", model, X) is None and launchbay_model_attributions("xgboost", object(), X) is None


def test_one_class_is_one_line():
    train = frame(100)
    with pytest.raises(LaunchbayError, match="job.label: the training rows hold one class only"):
        XGBoostModel(XGBoostConfig()).fit(features(train), np.zeros(100, int))


def test_pipeline_registers_scores_and_checks_drift(launchbay_run):
    summary = launchbay_run("job=pipeline", "model=xgboost", "model.n_estimators=50", "data.rows=5000", "batch.rows=5000", "approval.trigger=never")
    version = Registry(str(launchbay_run.home / ".launchbay/registry")).get("demo", 1)
    assert version.meta["family"] == "xgboost" and version.meta["model_plugin"] == {"xgboost": "0.1.0"}
    importance = version.meta["importance"]
    assert importance["method"] == "shap" and importance["rows"] == version.meta["holdout_rows"] == 1000
    means = [row["mean"] for row in importance["features"]]
    assert means == sorted(means, reverse=True) and {row["feature"] for row in importance["features"]} == set(version.meta["features"])
    assert set(summary["train"]["metrics"]) == {"accuracy", "roc_auc", "log_loss", "f1"} and summary["train"]["metrics"]["roc_auc"] > 0.8
    assert version.load_contract() is not None and "score" in version.load_profile().features
    assert summary["scores"]["rows"] == 5000 and summary["model"] == {"name": "demo", "version": 1}
    assert {"num_0", "num_1", "cat_0"} <= set(summary["drift"]["drifted_features"])
    scores = pq.read_table(summary["scores"]["path"]).to_pandas()
    assert len(scores) == 5000 and scores.row_id.is_unique and scores.score.between(0, 1).all()
    batch = synthetic.generate(synthetic.SyntheticConfig(rows=5000, seed=1, chunk_rows=5000, drift=synthetic.DriftSpec(
        mean_shift=0.5, scale=1.3, new_categories=2, missing_rate=0.02)), 0).to_pandas()  # conf/data/drifted.yaml
    expected = version.load_model().predict_proba(batch[version.meta["features"]])[:, 1]
    assert np.allclose(scores.sort_values("row_id").score.to_numpy(), expected, atol=1e-6)


def test_multiclass_and_regression_through_launchbay(launchbay_run, tmp_path):
    data = frame(3000)
    data["label"] = np.array(["a", "b", "c"])[np.digitize(data.num_0, data.num_0.quantile([0.3, 0.6]))]
    data.to_parquet(tmp_path / "multi.parquet")
    summary = launchbay_run("job=train", "model=xgboost", "model.n_estimators=30", "data=parquet", f"data.path={tmp_path / 'multi.parquet'}")
    assert set(summary["metrics"]) == {"accuracy", "roc_auc", "log_loss"} and summary["metrics"]["accuracy"] > 0.9
    data["label"] = data.num_1 * 3.0
    data.to_parquet(tmp_path / "reg.parquet")
    summary = launchbay_run("job=train", "model=xgboost", "model.n_estimators=30", "data=parquet", f"data.path={tmp_path / 'reg.parquet'}",
                            "job.model_name=reg")
    assert set(summary["metrics"]) == {"r2", "rmse", "mae"} and summary["metrics"]["r2"] > 0.9


def test_cuda_without_a_gpu_fails_in_one_line(launchbay_run):
    with pytest.raises(RunFailed) as raised:
        launchbay_run("job=train", "model=xgboost", "model.device=cuda", "data.rows=500")
    assert str(raised.value) == "training a xgboost model (per fit, fold or segment) asks for 1 GPU(s) but a node of the Ray cluster has at most 0"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.learning_rate=0", "learning_rate must be positive, got 0"),
        ("model.device=tpu", "model.device: Invalid value 'tpu', expected one of [cpu, cuda]"),
        ("model.validation_fraction=1.5", "validation_fraction must be in (0, 1), got 1.5"),
        ("model.tree_method=exact model.device=cuda", "tree_method must be hist or approx with device=cuda, got exact"),
    ],
)
def test_settings_are_checked_in_one_line(launchbay_run, override, expected):
    with pytest.raises(RunFailed) as raised:
        launchbay_run("job=train", "model=xgboost", *override.split())
    assert "\n" not in str(raised.value) and expected in str(raised.value)
