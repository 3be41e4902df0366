"""What a version relies on: permutation importance stored at registration, a plugin's attributions in its place,
and drift ranked by it in the summary, the terminal table, the report and the trend (one real pipeline run)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import launchbay
from launchbay import history
from launchbay.drift import compare
from launchbay.plugins import PluginError, new_manager
from launchbay.registry import Registry
from launchbay.report import trend
from launchbay.training.importance import MAX_ROWS, REPEATS, checked, sample

# Columns in this order: the drifted features' column order (weak, strong) is not their importance order.
FEATURES = ["noise", "weak", "strong"]


def rows(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A label that follows ``strong`` most and ``weak`` a little, never ``noise``; ``shift`` moves weak and strong."""
    rng = np.random.default_rng(seed)
    noise, weak, strong = rng.standard_normal((3, n))
    label = (2.5 * strong + 0.8 * weak + rng.logistic(size=n) > 0).astype(np.int64)
    return pd.DataFrame({"row_id": np.arange(n), "noise": noise, "weak": weak + shift, "strong": strong + shift, "label": label})


@pytest.fixture(scope="module")
def pipeline(ray_session, tmp_path_factory):
    """One pipeline run: train v1 on 3,000 rows, score 2,000 rows whose weak and strong features drift."""
    home = tmp_path_factory.mktemp("importance")
    train, batch = home / "train.parquet", home / "batch.parquet"
    rows(3000, seed=0).to_parquet(train)
    rows(2000, seed=1, shift=1.0).to_parquet(batch)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        summary = launchbay.run(["job=pipeline", "data=parquet", f"data.path={train}", "data@batch=parquet", f"batch.path={batch}",
                                 "approval.trigger=never"])
    version = Registry(str(home / ".launchbay/registry")).get("demo", 1)
    return home, summary, version, train


def holdout(train: Path, share: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """The holdout rows training split off (``training.fit.train_model``)."""
    frame = pd.read_parquet(train)
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order[int(len(frame) * (1 - share)):]]


def test_stored_importance_is_permutation_importance_on_the_holdout(pipeline):
    from sklearn.inspection import permutation_importance

    _, _, version, train = pipeline
    rows_out = holdout(train)
    direct = permutation_importance(version.load_model(), rows_out[FEATURES], rows_out["label"], scoring="roc_auc", n_repeats=REPEATS, random_state=0)
    expected = sorted(
        ({"feature": f, "mean": float(m), "std": float(s)} for f, m, s in zip(FEATURES, direct.importances_mean, direct.importances_std)),
        key=lambda row: -row["mean"],
    )
    assert version.meta["importance"] == {"method": "permutation", "metric": "roc_auc", "repeats": 5, "seed": 0, "rows": 600, "features": expected}


def test_a_feature_the_label_does_not_follow_ranks_below_those_it_does(pipeline):
    ranked = [row["feature"] for row in pipeline[2].meta["importance"]["features"]]
    assert ranked == ["strong", "weak", "noise"]
    assert abs(pipeline[2].meta["importance"]["features"][-1]["mean"]) < 0.01


def shares(version) -> dict[str, float]:
    means = {row["feature"]: row["mean"] for row in version.meta["importance"]["features"]}
    return {name: mean / sum(m for m in means.values() if m > 0) for name, mean in means.items()}


def test_drift_ranks_the_drifted_features_by_importance(pipeline):
    home, summary, version, _ = pipeline
    drift = summary["drift"]
    assert drift["drifted_features"][:2] == ["strong", "weak"] and "noise" not in drift["drifted_features"]
    features = list(dict.fromkeys(row["feature"] for row in drift["metrics"]))
    assert features[:2] == ["strong", "weak"] and features[-1] == "noise"  # the model's outputs (drifted, no importance) between
    assert {row["feature"]: row["importance"] for row in drift["metrics"]} == {**shares(version), "prediction": None, "score": None}

    report = Path(drift["report"]).read_text()
    assert "<th>importance</th>" in report
    cells = re.findall(r"<tr class=\"drifted\"><td>(\w+)</td>.*?<td class=\"num\">([\d.]*%?)</td></tr>", report)
    assert [name for name, _ in cells][:2] == ["strong", "weak"] and cells[0][1] == f"{shares(version)['strong']:.1%}"

    found = trend.build(history.runs(home / "runs"), "demo", 20)
    assert [s.name.split(" · ")[0] for s in found.features] == features
    assert found.features[0].importance == pytest.approx(shares(version)["strong"])
    console = Console(record=True, width=200)
    console.print(trend.table(found))
    assert "importance" in console.export_text()


def test_the_terminal_table_lists_drifted_features_by_importance(pipeline):
    _, _, version, train = pipeline
    reference, current = pd.read_parquet(train)[FEATURES], rows(2000, seed=1, shift=1.0)[FEATURES]
    plain, ranked = compare(reference, current), compare(reference, current).ranked(version.meta["importance"])
    assert plain.drifted_features == ["weak", "strong"] and plain.ranked(None) is plain
    assert ranked.drifted_features == ["strong", "weak"] and ranked.features == ["strong", "weak", "noise"]
    console = Console(record=True, width=200)
    console.print(ranked.render())
    text = console.export_text()
    lines = [line for line in text.splitlines() if line.startswith("│")]  # the body: a row per feature and metric, then the multivariate one
    assert re.search(r"┃ drifted ┃ +importance ┃", text) and [line.split("│")[1].strip() for line in lines] == ["strong", "weak", "noise", "(3 numeric)"]
    assert lines[0].rstrip("│ ").endswith(f"{shares(version)['strong']:.1%}")


ATTRIBUTIONS = """
    from launchbay import hookimpl

    SEEN = []


    @hookimpl
    def launchbay_model_attributions(family, model, frame):
        SEEN.append((family, list(frame.columns), len(frame)))
        if family != "sklearn":
            return None
        return {"method": "constant", "features": [{"feature": c, "mean": float(i), "std": 0.0} for i, c in enumerate(frame.columns)]}
"""


def test_a_plugins_attributions_replace_permutation_importance(launchbay_run, tmp_path, monkeypatch):
    (tmp_path / "attributions_plugin.py").write_text(textwrap.dedent(ATTRIBUTIONS))
    monkeypatch.syspath_prepend(str(tmp_path))
    train = tmp_path / "train.parquet"
    rows(1000, seed=0).to_parquet(train)
    launchbay_run("job=train", "data=parquet", f"data.path={train}", "plugins=[attributions_plugin]")
    import attributions_plugin

    assert attributions_plugin.SEEN == [("sklearn", FEATURES, 200)]
    meta = Registry(str(launchbay_run.home / ".launchbay/registry")).get("demo", 1).meta
    assert meta["importance"] == {"method": "constant", "rows": 200, "features": [
        {"feature": "strong", "mean": 2.0, "std": 0.0}, {"feature": "weak", "mean": 1.0, "std": 0.0}, {"feature": "noise", "mean": 0.0, "std": 0.0}]}


def test_a_plugin_that_raises_or_answers_wrong_is_one_line_naming_it(tmp_path, monkeypatch):
    (tmp_path / "raising_attributions.py").write_text(textwrap.dedent("""
        from launchbay import hookimpl


        @hookimpl
        def launchbay_model_attributions(family):
            raise RuntimeError("no explainer here")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = new_manager(["raising_attributions"], autoload=False)
    with pytest.raises(PluginError, match=r"^plugin 'raising_attributions' failed in launchbay_model_attributions: RuntimeError: no explainer here$"):
        manager.first_answer("launchbay_model_attributions", family="sklearn", model=None, frame=None)
    who = "plugin 'p' answered launchbay_model_attributions with"
    with pytest.raises(PluginError, match=r"^plugin 'p' answered .* \{'feature': 'nope', .* among its features: expected finite 'mean' and 'std'"):
        checked({"method": "m", "features": [{"feature": "nope", "mean": 1.0, "std": 0.0}]}, ["a"], who)
    with pytest.raises(PluginError, match=r"with \[1, 2\], expected \{'method': str"):
        checked([1, 2], ["a"], who)
    assert checked({"method": "m", "features": [{"feature": "a", "mean": 1, "std": 0}]}, ["a"], who) == ("m", [{"feature": "a", "mean": 1.0, "std": 0.0}])


def test_at_most_max_rows_of_the_holdout_are_explained():
    assert list(sample(300, seed=0)) == list(range(300))
    drawn = sample(3 * MAX_ROWS, seed=0)
    assert len(drawn) == MAX_ROWS == len(set(drawn)) and list(drawn) == sorted(drawn) and np.array_equal(drawn, sample(3 * MAX_ROWS, seed=0))
