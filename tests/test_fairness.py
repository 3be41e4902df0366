"""Fairness by group against fairlearn: every rate and gap of ``launchbay.fairness`` equals
``MetricFrame`` and its difference functions on the same rows, counted in one piece or merged
from many; then the same through the scoring pass and training on real Ray."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from in_process import launchbay_main

from launchbay.errors import LaunchbayError
from launchbay.fairness.counts import GroupCounts, Groups
from launchbay.fairness.metrics import summarize, widened
from launchbay.performance.sketch import Target

fairlearn = pytest.importorskip("fairlearn.metrics")


def fairlearn_figures(y: np.ndarray, predicted: np.ndarray, groups: np.ndarray, positive) -> dict:
    """fairlearn's rates per group and gaps, over every group."""
    from sklearn.metrics import accuracy_score

    m = fairlearn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rates = {
            "tpr": lambda t, p: m.true_positive_rate(t, p, pos_label=positive),
            "fpr": lambda t, p: m.false_positive_rate(t, p, pos_label=positive),
            "accuracy": accuracy_score,
        }
        frame = m.MetricFrame(metrics=rates, y_true=y, y_pred=predicted, sensitive_features=groups)
        selected = (predicted == positive).astype(int)
        return {
            "by_group": frame.by_group.to_dict("index"),
            "demographic_parity_difference": m.demographic_parity_difference(selected, selected, sensitive_features=groups),
            "demographic_parity_ratio": m.demographic_parity_ratio(selected, selected, sensitive_features=groups),
            "equalized_odds_difference": max(frame.difference()["tpr"], frame.difference()["fpr"]),
            "fairlearn_equalized_odds": m.equalized_odds_difference(
                (y == positive).astype(int), selected, sensitive_features=groups
            ),
            "selection": m.MetricFrame(metrics=m.selection_rate, y_true=selected, y_pred=selected, sensitive_features=groups).by_group.to_dict(),
        }


def counted(table: pa.Table, target: Target, pieces: int) -> GroupCounts:
    """The counts of ``table`` gathered in ``pieces`` pieces and merged."""
    spec = Groups(("group",), target)
    cuts = np.linspace(0, table.num_rows, pieces + 1).astype(int)
    parts = [spec.gather(table.slice(a, b - a), table.column("prediction").slice(a, b - a)) for a, b in zip(cuts[:-1], cuts[1:])]
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 400), seed=st.integers(0, 2**31), groups=st.integers(1, 6), pieces=st.integers(1, 7),
       labelled=st.sampled_from([1.0, 0.6, 0.0]), skew=st.floats(0.1, 5.0), strings=st.booleans())
def test_rates_and_gaps_equal_fairlearn(n, seed, groups, pieces, labelled, skew, strings):
    """Random groups of random sizes (``skew``: a Dirichlet's concentration), selection rates and labels, some unlabelled."""
    rng = np.random.default_rng(seed)
    classes = ("no", "yes") if strings else (0, 1)
    code = rng.choice(groups, n, p=rng.dirichlet(np.full(groups, skew)))
    group = np.array([f"g{i}" for i in range(groups)])[code]
    y = np.array(classes, dtype=object)[rng.integers(0, 2, n)]
    predicted = np.array(classes, dtype=object)[(rng.random(n) < rng.uniform(0.05, 0.95, groups)[code]).astype(int)]
    known = rng.random(n) < labelled
    label = pa.array([v if k else None for v, k in zip(y.tolist(), known)], type=pa.string() if strings else pa.int64())
    table = pa.table({"group": group, "label": label, "prediction": pa.array(predicted.tolist())})
    section = summarize(counted(table, Target("binary", "label", classes), pieces), min_rows=1)
    found = section["columns"]["group"]
    expected_all = fairlearn_figures(y, predicted, group, classes[1])
    assert {g["group"]: g["selection_rate"] for g in found["groups"]} == pytest.approx(expected_all["selection"], abs=1e-12)
    assert found["demographic_parity_difference"] == (
        pytest.approx(expected_all["demographic_parity_difference"], abs=1e-12) if len(set(group)) > 1 else None
    )
    ratio = expected_all["demographic_parity_ratio"]
    assert found["demographic_parity_ratio"] == (pytest.approx(ratio, abs=1e-12) if len(set(group)) > 1 and ratio == ratio else None)
    assert sum(g["rows"] for g in found["groups"]) == n and section["labelled"] == int(known.sum())
    if not known.any():
        assert found["equalized_odds_difference"] is None and all(g["tpr"] is None for g in found["groups"])
    if known.sum() < 2:  # fairlearn cannot take a single row
        return
    expected = fairlearn_figures(y[known], predicted[known], group[known], classes[1])
    labelled_groups = [g for g in found["groups"] if g["labelled"]]
    for g in labelled_groups:
        for name in ("tpr", "fpr", "accuracy"):
            assert g[name] == pytest.approx(expected["by_group"][g["group"]][name], abs=1e-12), (g["group"], name)
    if len(labelled_groups) > 1:
        assert found["equalized_odds_difference"] == pytest.approx(expected["equalized_odds_difference"], abs=1e-12)
        assert found["equalized_odds_difference"] == pytest.approx(expected["fairlearn_equalized_odds"], abs=1e-12)
    else:
        assert found["equalized_odds_difference"] is None


def test_small_groups_are_shown_not_judged():
    """Gaps come from the groups of min_rows rows only: equal to fairlearn's on those groups' rows."""
    rng = np.random.default_rng(3)
    group = np.array(["a"] * 200 + ["b"] * 150 + ["tiny"] * 5)
    y = rng.integers(0, 2, len(group))
    predicted = np.r_[rng.random(200) < 0.6, rng.random(150) < 0.3, np.ones(5, bool)].astype(int)
    table = pa.table({"group": group, "label": y, "prediction": predicted})
    section = summarize(counted(table, Target("binary", "label", (0, 1)), 3), min_rows=30)
    big = group != "tiny"
    expected = fairlearn_figures(y[big], predicted[big], group[big], 1)
    found = section["columns"]["group"]
    assert found["demographic_parity_difference"] == pytest.approx(expected["demographic_parity_difference"], abs=1e-12)
    assert found["equalized_odds_difference"] == pytest.approx(expected["fairlearn_equalized_odds"], abs=1e-12)
    assert [g["group"] for g in found["groups"] if not g["judged"]] == ["tiny"]
    assert section["too_small"] == ["group=tiny: 5 rows"]


def test_null_group_and_unknown_label():
    table = pa.table({"group": pa.array(["a", None, "a", None]), "label": pa.array([1, 0, 7, None]), "prediction": pa.array([1, 1, 0, 0])})
    found = summarize(counted(table, Target("binary", "label", (0, 1)), 1), min_rows=1)["columns"]["group"]
    by = {g["group"]: g for g in found["groups"]}
    assert by["null"]["rows"] == 2 and by["null"]["labelled"] == 1 and by["null"]["fpr"] == 1.0
    assert by["a"]["labelled"] == 1 and by["a"]["tpr"] == 1.0  # the label 7 is none of the classes: unlabelled


def test_a_column_of_ids_is_refused_in_one_line():
    table = pa.table({"user": np.arange(500), "label": np.zeros(500, int), "prediction": np.zeros(500, int)})
    with pytest.raises(LaunchbayError, match=r"fairness.groups: column 'user' has 500 distinct values .*max_groups=100"):
        Groups(("user",), Target("binary", "label", (0, 1))).gather(table, table.column("prediction"))


def test_widened_gap_is_a_reason_and_a_narrower_one_is_not():
    def section(gap: float | None) -> dict:
        return {"columns": {"g": {"demographic_parity_difference": gap, "equalized_odds_difference": None}}}

    assert widened(section(0.05), section(0.2), 0.1) == [
        "demographic_parity_difference by g is 0.2000 (champion 0.0500), past approval.max_fairness_gap=0.1"
    ]
    assert widened(section(0.3), section(0.2), 0.1) == []  # past the limit, but narrower than the champion's
    assert widened(section(0.05), section(0.08), 0.1) == []
    assert widened(None, section(0.2), 0.1)[0].endswith("(champion undefined), past approval.max_fairness_gap=0.1")


def write_batch(folder: Path, files: int, rows: int, seed: int) -> pa.Table:
    """Synthetic rows with a ``group`` column, as ``files`` parquet files; returns them all."""
    import pyarrow.parquet as pq

    from launchbay.data.synthetic import SyntheticConfig, generate

    folder.mkdir()
    table = generate(SyntheticConfig(rows=rows, chunk_rows=rows, groups=5, seed=seed), 0)
    for i, cut in enumerate(np.array_split(np.arange(rows), files)):
        pq.write_table(table.take(cut), folder / f"part-{i}.parquet")
    return table


def fairlearn_of(found: dict, y: np.ndarray, predicted: np.ndarray, group: np.ndarray) -> None:
    """Every rate and gap of one column's ``found`` section equals fairlearn's on the same rows."""
    expected = fairlearn_figures(y, predicted, group, 1)
    for g in found["groups"]:
        assert g["selection_rate"] == pytest.approx(expected["selection"][g["group"]], abs=1e-12)
        for name in ("tpr", "fpr", "accuracy"):
            assert g[name] == pytest.approx(expected["by_group"][g["group"]][name], abs=1e-12), (g["group"], name)
    for name in ("demographic_parity_difference", "demographic_parity_ratio"):
        assert found[name] == pytest.approx(expected[name], abs=1e-12)
    assert found["equalized_odds_difference"] == pytest.approx(expected["fairlearn_equalized_odds"], abs=1e-12)


@pytest.fixture(scope="module")
def trained(ray_session, tmp_path_factory):
    """A model trained with fairness.groups=[group]: the group column is in the data, not a feature."""
    home = tmp_path_factory.mktemp("fairness")
    out = launchbay_main("run", "job=train", "data.rows=3000", "data.groups=5", "fairness.groups=[group]", cwd=home)
    assert out.returncode == 0, out.stderr
    return home


def test_training_keeps_groups_out_of_the_features_and_measures_the_holdout(trained):
    from launchbay.registry import Registry

    version = Registry(trained / ".launchbay" / "registry").get("demo", "latest")
    assert "group" not in version.meta["features"] and version.load_contract().groups == ["group"]
    section = version.meta["fairness"]
    assert section["rows"] == version.meta["holdout_rows"] == section["labelled"]
    assert set(section["columns"]) == {"group"} and section["columns"]["group"]["demographic_parity_difference"] > 0


@pytest.mark.parametrize("strategy", ["fragments", "tasks"])
def test_the_scoring_pass_equals_fairlearn_on_the_scored_rows(trained, tmp_path, strategy):
    """Six files scored on Ray (one task per file, or Ray Data blocks), the counts merged; the model's groups
    come from its contract (fairness.groups is not given again)."""
    import pyarrow.parquet as pq

    batch = write_batch(tmp_path / "batch", files=6, rows=3000, seed=7)
    out = launchbay_main("run", "job=score", "data@batch=parquet", f"batch.path={tmp_path / 'batch'}", f"score.strategy={strategy}",
                         f"score.output={tmp_path / 'scores'}", "fairness.min_rows=1", cwd=trained)
    assert out.returncode == 0, out.stderr
    assert "Fairness by group" in out.stderr  # the console's tables
    summary = max((trained / "runs").glob("*/*-score/summary.json"))
    section = json.loads(summary.read_text())["fairness"]
    scores = pq.read_table(tmp_path / "scores").select(["row_id", "prediction"]).join(batch.select(["row_id", "group", "label"]), "row_id")
    fairlearn_of(section["columns"]["group"], scores.column("label").to_numpy(), scores.column("prediction").to_numpy(),
                 scores.column("group").to_numpy(zero_copy_only=False))
    assert section["rows"] == 3000 and "Fairness by group" in (summary.parent / "report.html").read_text()


def test_a_missing_group_column_is_one_line_and_nothing_is_written(ray_session, trained, tmp_path):
    missing = launchbay_main("run", "job=train", "data.rows=500", "fairness.groups=[region]", cwd=tmp_path)
    assert missing.returncode == 1 and "fairness.groups: columns ['region'] are not in the training data" in missing.stderr
    batch = tmp_path / "batch"
    write_batch(batch, files=1, rows=200, seed=1)
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(batch).drop_columns(["group"]), batch / "part-0.parquet")
    out = launchbay_main("run", "job=score", "data@batch=parquet", f"batch.path={batch}", f"score.output={tmp_path / 'none'}", cwd=trained)
    assert out.returncode == 1 and "fairness.groups: columns ['group'] are not in the batch" in out.stderr
    assert not (tmp_path / "none").exists()


def test_a_challenger_that_widens_a_gap_is_refused_and_the_reason_audited(ray_session, tmp_path):
    """The champion learns without num_0, which tells the groups apart; the challenger learns from it and
    selects the groups less evenly on the same holdout, so it is refused though its roc_auc is higher."""
    from launchbay.registry import Registry

    common = ["data.rows=4000", "batch.rows=4000", "data.groups=5", "batch.groups=5", "fairness.groups=[group]"]
    assert launchbay_main("run", "job=pipeline", *common, "monitor.exclude=[num_0]", "approval.trigger=never", cwd=tmp_path).returncode == 0
    out = launchbay_main("run", "job=pipeline", *common, "approval.trigger=always", "approval.margin=-1", "approval.max_fairness_gap=0.02",
                         "approval.train_on=data", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    registry = Registry(tmp_path / ".launchbay" / "registry")
    [decision] = [d for d in registry.decisions("demo") if d.get("challenger_version") == 2]
    champion, challenger = (decision["fairness"][side]["columns"]["group"] for side in ("champion", "challenger"))
    gap = "demographic_parity_difference"
    assert challenger[gap] > max(champion[gap], 0.02) and decision["challenger"] > decision["champion"]
    assert not decision["promote"] and registry.aliases("demo") == {"champion": 1}
    refusal = registry.audit("demo").entries()[-1]
    assert (refusal["action"], refusal["version"]) == ("refuse", 2)
    assert f"{gap} by group is {challenger[gap]:.4f} (champion {champion[gap]:.4f}), past approval.max_fairness_gap=0.02" in refusal["reason"]
    assert "kept v1 as champion" in out.stderr and launchbay_main("models", "audit", "demo", "--verify", cwd=tmp_path).returncode == 0
