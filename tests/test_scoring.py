"""Batch scoring: every row once, the model's own predictions, both execution paths,
atomic and idempotent outputs, drift from the same pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import launchbay
from launchbay.data.synthetic import DriftSpec, SyntheticConfig, generate
from launchbay.errors import LaunchbayError
from launchbay.registry import Registry


@pytest.fixture(scope="module")
def workspace(ray_session, tmp_path_factory):
    """A registry with one trained model, and a parquet batch of 5,000 drifted rows in 3 files."""
    home = tmp_path_factory.mktemp("scoring")
    spec = DriftSpec(mean_shift=0.8, new_categories=1)
    batch = generate(SyntheticConfig(rows=5000, chunk_rows=5000, seed=3, drift=spec), 0)
    (home / "batch").mkdir()
    for i, start in enumerate((0, 1700, 3400)):
        pq.write_table(batch.slice(start, 1700), home / "batch" / f"part-{i}.parquet")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        launchbay.run(["job=train", "data.rows=4000"])
    return home, batch


def score(home, monkeypatch, *overrides):
    monkeypatch.chdir(home)
    return launchbay.run(["job=score", "data@batch=parquet", f"batch.path={home / 'batch'}", *overrides])


def test_every_row_once_with_the_models_own_predictions(workspace, monkeypatch):
    home, batch = workspace
    summary = score(home, monkeypatch)
    out = pq.read_table(summary["scores"]["path"]).sort_by("row_id")
    assert out.num_rows == summary["scores"]["rows"] == 5000
    assert out.column("row_id").to_pylist() == batch.column("row_id").to_pylist()
    version = Registry(home / ".launchbay/registry").get("demo")
    frame = batch.select(version.meta["features"]).to_pandas()
    model = version.load_model()
    np.testing.assert_array_equal(out.column("prediction").to_numpy(), model.predict(frame))
    np.testing.assert_allclose(out.column("score").to_numpy(), model.predict_proba(frame)[:, 1])
    assert set(out.column("model_version").to_pylist()) == {version.version}


@pytest.mark.parametrize("strategy", ["fragments", "tasks", "actors"])
def test_every_execution_path_gives_the_same_scores_and_drift(workspace, monkeypatch, strategy):
    home, _ = workspace
    default = score(home, monkeypatch)  # auto: fragments (one plain task per file)
    other = score(home, monkeypatch, f"score.strategy={strategy}", "score.batch_size=1000", "score.concurrency=1")
    expected = pq.read_table(default["scores"]["path"]).sort_by("row_id")
    assert pq.read_table(other["scores"]["path"]).sort_by("row_id").equals(expected)
    values = [[m["value"] for m in run["drift"]["metrics"]] for run in (default, other)]
    assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_fused_drift_equals_a_separate_drift_check(workspace, monkeypatch):
    home, batch = workspace
    from launchbay.drift import compare
    from launchbay.models.predict import predict_columns

    fused = score(home, monkeypatch)["drift"]
    version = Registry(home / ".launchbay/registry").get("demo")
    features = batch.select(version.meta["features"]).to_pandas()
    current = features.assign(**predict_columns(version.load_model(), features))
    separate = compare(version.load_profile(), current).ranked(version.meta["importance"]).to_dict()  # as the run ranks it
    assert fused["drifted_features"] == separate["drifted_features"] and "num_0" in fused["drifted_features"]
    for a, b in zip(fused["metrics"], separate["metrics"]):
        assert (a["feature"], a["metric"], a["importance"]) == (b["feature"], b["metric"], b["importance"])
        assert a["value"] == pytest.approx(b["value"], rel=1e-9, abs=1e-12)


def test_rerun_into_the_same_output_replaces_it(workspace, monkeypatch):
    home, _ = workspace
    target = home / "nightly"
    for _ in range(2):
        summary = score(home, monkeypatch, f"score.output={target}", "score.drift=false")
    assert pq.read_table(target).num_rows == 5000 and "drift" not in summary
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".nightly")) == []


def test_rows_without_ids_get_unique_ones(workspace, monkeypatch, tmp_path):
    home, batch = workspace
    pq.write_table(batch.drop_columns(["row_id"]), tmp_path / "noid.parquet")
    monkeypatch.chdir(home)
    summary = launchbay.run(["job=score", "data@batch=parquet", f"batch.path={tmp_path / 'noid.parquet'}"])
    ids = pq.read_table(summary["scores"]["path"]).column("row_id").to_numpy()
    assert len(ids) == 5000 and len(np.unique(ids)) == 5000


def test_a_batch_the_model_cannot_read_fails_whole(workspace, monkeypatch, tmp_path):
    home, batch = workspace
    bad = batch.set_column(batch.schema.get_field_index("num_2"), "num_2", pa.array(["x"] * batch.num_rows))
    (tmp_path / "in").mkdir()
    pq.write_table(bad, tmp_path / "in" / "b.parquet")
    monkeypatch.chdir(home)
    target = tmp_path / "out"  # beside the input: an output inside it is refused before any work
    with pytest.raises(LaunchbayError) as info:
        launchbay.run(["job=score", "data@batch=parquet", f"batch.path={tmp_path / 'in'}", f"score.output={target}"])
    assert "\n" not in str(info.value) and "scoring failed" in str(info.value)
    assert not target.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("job", ["score", "drift"])
def test_an_empty_batch_is_one_line_and_writes_nothing(workspace, monkeypatch, tmp_path, job):
    home, batch = workspace
    (tmp_path / "in").mkdir()
    pq.write_table(batch.slice(0, 0), tmp_path / "in" / "empty.parquet")
    monkeypatch.chdir(home)
    with pytest.raises(LaunchbayError, match=r"^batch: the parquet source gave no rows to score; nothing"):
        launchbay.run([f"job={job}", "data@batch=parquet", f"batch.path={tmp_path / 'in'}", f"score.output={tmp_path / 'out'}"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_files_that_disagree_on_types_are_named(workspace, monkeypatch, tmp_path):
    home, batch = workspace
    bad = batch.set_column(batch.schema.get_field_index("num_2"), "num_2", pa.array(["x"] * batch.num_rows))
    pq.write_table(batch, tmp_path / "a.parquet")
    pq.write_table(bad, tmp_path / "b.parquet")
    monkeypatch.chdir(home)
    with pytest.raises(LaunchbayError, match=r"^batch: path: column 'num_2' is double in \S+/a.parquet but string in \S+/b.parquet"):
        launchbay.run(["job=score", "data@batch=parquet", f"batch.path={tmp_path}"])


@pytest.mark.parametrize("preset", ["score.num_gpus=1", "score=gpu"])
def test_asking_for_gpus_the_cluster_lacks_is_one_line(workspace, monkeypatch, preset):
    home, _ = workspace
    with pytest.raises(LaunchbayError, match=r"asks for 1 GPU\(s\) but a node of the Ray cluster has at most 0"):
        score(home, monkeypatch, preset)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("score.strategy=fast", r"score.strategy: Invalid value 'fast', expected one of \[auto, fragments, tasks, actors\]"),
        ("score.concurrency=0", "score.concurrency must be at least 1"),
    ],
)
def test_bad_score_settings_are_one_line_and_write_nothing(workspace, monkeypatch, tmp_path, override, expected):
    home, _ = workspace
    with pytest.raises(LaunchbayError, match=expected):
        score(home, monkeypatch, override, f"score.output={tmp_path / 'out'}")
    assert not list(tmp_path.iterdir())


def test_drift_job_checks_without_writing_scores(workspace, monkeypatch):
    home, _ = workspace
    monkeypatch.chdir(home)
    summary = launchbay.run(["job=drift", "data@batch=parquet", f"batch.path={home / 'batch'}"])
    assert "num_0" in summary["drift"]["drifted_features"] and summary["drift"]["current_rows"] == 5000
    run_dir = Path(summary["run_dir"])
    assert (run_dir / "report.html").exists() and not (run_dir / "scores").exists()
