"""The jobs end to end on the session's embedded Ray, through the Python API."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import launchbay
from launchbay.errors import LaunchbayError

SMALL = ["data.rows=6000", "batch.rows=4000", "data.chunk_rows=1500", "batch.chunk_rows=1500"]


@pytest.fixture(scope="module")
def pipeline(ray_session, tmp_path_factory):
    """One pipeline run in a fresh directory, with the jsonl alert channel on."""
    home = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        summary = launchbay.run(["job=pipeline", *SMALL, "+alerts.jsonl.path=alerts.jsonl"])
    return home, summary


def test_summary_json_is_written(pipeline):
    home, summary = pipeline
    run_dir = home / summary["run_dir"]
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["run_id"] == summary["run_id"] and on_disk["job"] == "pipeline"
    assert on_disk["wall_s"] > 0 and "fit" in on_disk["timings_s"]


def test_model_is_registered_with_profile(pipeline):
    home, summary = pipeline
    from launchbay.registry import Registry

    version = Registry(home / ".launchbay/registry").get("demo", 1)  # v2 is the challenger
    assert version.version == summary["train"]["model"]["version"] == 1
    assert version.meta["metrics"]["roc_auc"] > 0.7
    assert set(version.load_profile().features) >= {"num_0", "cat_0", "score"}


def test_every_batch_row_scored_once(pipeline):
    home, summary = pipeline
    table = pq.read_table(home / summary["scores"]["path"])
    assert table.num_rows == summary["scores"]["rows"] == 4000
    ids = table.column("row_id").to_pylist()
    assert sorted(ids) == list(range(4000))
    assert set(table.column_names) == {"row_id", "prediction", "score", "model_version"}


def test_injected_drift_is_found(pipeline):
    _, summary = pipeline
    drifted = set(summary["drift"]["drifted_features"])
    assert {"num_0", "num_1", "cat_0"} <= drifted
    assert not drifted & {"num_2", "num_4", "num_5", "cat_1", "cat_2"}


def test_report_and_alert_are_written(pipeline):
    home, summary = pipeline
    run_dir = home / summary["run_dir"]
    report = (run_dir / "report.html").read_text()
    assert "<svg" in report and "num_0" in report
    alert = json.loads((run_dir / "alerts.jsonl").read_text().splitlines()[0])
    assert "num_0" in alert["drifted_features"]


def test_lifecycle_hooks_of_third_party_plugin_were_called(pipeline):
    from launchbay_testplugin import EVENTS

    assert ("started", "pipeline") in EVENTS and ("finished", "pipeline") in EVENTS
    assert ("registered", "demo:1") in EVENTS and ("promoted", "demo:champion:1") in EVENTS


def test_scoring_a_batch_without_model_columns_fails_cleanly(pipeline, monkeypatch):
    home, _ = pipeline
    monkeypatch.chdir(home)
    before = set(home.rglob("*"))
    with pytest.raises(LaunchbayError, match=r"batch: columns \['num_0'.*missing"):
        launchbay.run(["job=score", "data@batch=constant"])
    new = set(home.rglob("*")) - before
    assert new and not [p for p in new if "scores" in p.name]


def test_third_party_source_feeds_a_job(launchbay_run):
    from launchbay.registry import Registry

    summary = launchbay_run("job=train", "data=constant", "data.rows=200", "model.estimator.max_iter=50")
    assert summary["model"]["version"] == 1
    assert Registry(launchbay_run.home / ".launchbay/registry").get("demo").meta["features"] == ["x"]


def test_unknown_model_in_registry(ray_session, in_tmp):
    with pytest.raises(LaunchbayError, match=r"registry: \S+/.launchbay/registry does not exist"):
        launchbay.run(["job=score", "job.model_name=ghost"])
    (in_tmp / ".launchbay" / "registry").mkdir(parents=True)
    with pytest.raises(LaunchbayError, match="registry: no model 'ghost' in .* \\(have: none\\)"):
        launchbay.run(["job=score", "job.model_name=ghost"])
