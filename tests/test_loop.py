"""The drift -> challenger -> promote loop of job=pipeline, and rollback."""

from __future__ import annotations

import pytest

import launchbay
from launchbay.errors import LaunchbayError
from launchbay.registry import Registry
from launchbay.training.approval import decide, trigger

SMALL = ["data.rows=3000", "batch.rows=2000", "data.chunk_rows=1000", "batch.chunk_rows=1000"]


def test_promote_rule_both_ways():
    champion, challenger = {"roc_auc": 0.80, "log_loss": 0.40}, {"roc_auc": 0.81, "log_loss": 0.41}
    assert decide(champion, challenger, "roc_auc", 0.005, 100).promote
    assert not decide(champion, challenger, "roc_auc", 0.02, 100).promote
    lower = decide(champion, challenger, "log_loss", 0.0, 100)
    assert not lower.promote and "lower is better" in lower.reasons[0]
    with pytest.raises(LaunchbayError, match="approval.metric: 'r2' is not measured"):
        decide(champion, challenger, "r2", 0.0, 100)


def test_trigger():
    assert trigger("drift", {"drifted_features": ["a"]}) == "drift in a"
    assert trigger("drift", {"drifted_features": []}) is None and trigger("never", {"drifted_features": ["a"]}) is None
    assert trigger("always", None).startswith("on demand")


def test_performance_trigger():
    dropped = {"reference": {"accuracy": 0.82, "roc_auc": 0.9}, "realized": {"accuracy": 0.7}, "estimated": {"roc_auc": 0.8},
               "dropped": ["accuracy", "roc_auc"]}
    assert trigger("performance", None, dropped) == "performance dropped: accuracy 0.8200 -> 0.7000, roc_auc 0.9000 -> 0.8000"
    assert trigger("performance", {"drifted_features": ["a"]}, {**dropped, "dropped": []}) is None
    assert trigger("drift", None, dropped) is None and trigger("never", None, dropped) is None


@pytest.fixture(scope="module")
def loop(ray_session, tmp_path_factory):
    """Two pipeline runs on a drifted batch: the first challenger (on drift) wins easily; the
    second (on demand: the new champion learnt from this very batch, so it sees no drift) cannot."""
    home = tmp_path_factory.mktemp("loop")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        first = launchbay.run(["job=pipeline", *SMALL, "approval.margin=-1"])
        second = launchbay.run(["job=pipeline", *SMALL, "approval.margin=1", "approval.trigger=always", "job.report=false"])
    return home, first, second, Registry(home / ".launchbay/registry")


def test_drift_trains_a_challenger_that_wins(loop):
    _, first, _, registry = loop
    assert first["train"]["model"]["version"] == 1 and first["model"]["version"] == 1
    decision = first["challenger"]
    assert decision["trigger"].startswith("drift in") and decision["promote"]
    assert (decision["champion_version"], decision["challenger_version"]) == (1, 2)
    assert set(decision["metrics"]["champion"]) == set(decision["metrics"]["challenger"]) >= {"roc_auc"}
    assert registry.get("demo", 2).meta["data"]["source"] == "synthetic"  # the labelled batch


def test_a_challenger_short_of_the_margin_is_rejected(loop):
    _, _, second, registry = loop
    assert "train" not in second and second["model"]["version"] == 2  # scored with the champion
    assert not second["drift"]["drifted_features"] and second["challenger"]["trigger"].startswith("on demand")
    assert not second["challenger"]["promote"] and second["challenger"]["challenger_version"] == 3
    assert registry.aliases("demo") == {"champion": 2}
    decisions = registry.decisions("demo")
    assert [d["promote"] for d in decisions] == [True, True, False]
    assert "did not win by the margin" in decisions[-1]["reasons"][1]


def test_rollback_restores_the_previous_champion(loop):
    home, *_, registry = loop
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        from launchbay.cli import main

        main(["models", "rollback", "demo", "--reason", "bad week"])
    assert registry.aliases("demo") == {"champion": 1}
    assert registry.history("demo", "champion")[-1]["reason"] == "bad week"
