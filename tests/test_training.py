"""Training on Ray: grid search with cross-validation, one model per segment, lineage, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import launchbay
from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.training.search import best, cross_validate, fold_rows, grid

SMALL = ["data.rows=3000", "data.chunk_rows=1000"]


def test_grid_expands_nested_settings():
    assert grid({}) == [{}]
    points = grid({"estimator": {"C": [0.1, 1.0], "penalty": ["l2", None]}})
    assert len(points) == 4 and points[1] == {"estimator.C": 0.1, "estimator.penalty": None}
    with pytest.raises(LaunchbayError, match=r"train.search.estimator.C: expected a non-empty list"):
        grid({"estimator": {"C": 0.1}})


def test_best_takes_the_first_of_ties_and_honours_direction():
    assert best([0.7, 0.9, 0.9], "roc_auc") == 1
    assert best([0.7, 0.3, 0.3], "log_loss") == 1


def test_cross_validation_matches_scikit_learn(ray_session):
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 4)), columns=list("abcd"))
    y = (X["a"] + rng.normal(size=600) > 0).astype(int).to_numpy()
    depths = [1, 3]
    ours = cross_validate(lambda depth: DecisionTreeClassifier(max_depth=depth, random_state=0), depths, X, y, folds=3, metric="roc_auc", seed=0)
    splits = StratifiedKFold(3, shuffle=True, random_state=0)
    theirs = [cross_val_score(DecisionTreeClassifier(max_depth=d, random_state=0), X, y, cv=splits, scoring="roc_auc").mean() for d in depths]
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert [len(v) for _, v in fold_rows(y, 3, 0)] == [200, 200, 200]


def test_search_picks_and_records_the_best_candidate(ray_session, in_tmp):
    summary = launchbay.run(["job=train", *SMALL, "+train.search.estimator.C=[0.0001,1.0]", "train.folds=2"])
    meta = Registry(".launchbay/registry").get("demo").meta
    scores = [c["score"] for c in meta["search"]["candidates"]]
    assert summary["search"]["best"] == {"estimator.C": 1.0} and scores[1] > scores[0]
    assert meta["config"]["train"]["search"] == {"estimator": {"C": [0.0001, 1.0]}}
    assert len(meta["data"]["fingerprint"]) == 64 and meta["packages"]["scikit-learn"] and "git_commit" in meta


def test_one_model_per_segment(ray_session, in_tmp):
    summary = launchbay.run(["job=train", *SMALL, "train.partition_by=cat_0", "train.min_partition_rows=100"])
    version = Registry(".launchbay/registry").get("demo")
    model, segments = version.load_model(), summary["segments"]
    own = {value for value, info in segments.items() if info["model"] == "own"}
    assert own == set(model.models) and len(own) >= 3
    assert all(info["rows"] < 100 for value, info in segments.items() if value not in own)
    assert sum(info["rows"] for info in segments.values()) == version.meta["train_rows"]
    rows = pd.DataFrame({c: [v] * 2 for c, v in zip(version.meta["features"], [0.0] * 8 + ["c0", "c1", "c1"])})
    some = sorted(own)[0]
    rows["cat_0"] = [some, "never-seen"]
    probabilities = model.predict_proba(rows)
    assert probabilities[0] == pytest.approx(model.models[some].predict_proba(rows.iloc[:1])[0])
    assert probabilities[1] == pytest.approx(model.fallback.predict_proba(rows.iloc[1:])[0])


def test_another_estimator_without_the_default_settings(ray_session, in_tmp):
    tree = ["model=sklearn", "~model.estimator.max_iter", "model.estimator._target_=sklearn.tree.DecisionTreeClassifier",
            "+model.estimator.max_depth=3"]
    launchbay.run(["job=train", *SMALL, *tree])
    model = Registry(".launchbay/registry").get("demo").load_model()
    assert type(model.steps[-1][1]).__name__ == "DecisionTreeClassifier" and model.steps[-1][1].max_depth == 3


def test_training_errors_are_one_line(ray_session, in_tmp):
    with pytest.raises(LaunchbayError, match=r"train: fitting the sklearn model failed: InvalidParameterError: The 'C' parameter"):
        launchbay.run(["job=train", *SMALL, "+model.estimator.C=-1"])
    with pytest.raises(LaunchbayError, match=r"train.partition_by: 'store_id' is not a feature column"):
        launchbay.run(["job=train", *SMALL, "train.partition_by=store_id"])
    with pytest.raises(LaunchbayError, match=r"train.folds must be between 2"):
        launchbay.run(["job=train", *SMALL, "+train.search.estimator.C=[0.1,1.0]", "train.folds=1"])
