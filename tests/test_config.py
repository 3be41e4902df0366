"""Config composition through Hydra, as the CLI and the API see it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from in_process import launchbay_main

from launchbay.app import check_composes
from launchbay.errors import LaunchbayError

# every closed choice of the config, and its valid values in order
CLOSED_CHOICES = {
    "score.strategy": "auto, fragments, tasks, actors",
    "runtime.mode": "local, cluster",
    "monitor.mode": "exact, sketch, auto",
    "monitor.device": "auto, cpu, gpu",
    "approval.trigger": "drift, performance, always, never",
    "approval.train_on": "batch, data",
    "contract.policy": "fail, quarantine",
}


def launchbay(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """``launchbay ARGS`` in a process of its own, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd)


def test_defaults_compose(launchbay_config):
    cfg = launchbay_config()
    assert cfg.job.name == "pipeline"
    assert cfg.data.name == "synthetic" and cfg.batch.name == "synthetic"
    assert cfg.batch.drift.mean_shift > 0 and cfg.data.drift.mean_shift == 0
    assert cfg.model.name == "sklearn"
    assert cfg.model.estimator._target_ == "sklearn.linear_model.LogisticRegression"
    assert cfg.runtime.mode == "local" and cfg.sink.name == "parquet"
    assert cfg.score.strategy == "auto" and cfg.score.drift


def test_overrides_and_presets(launchbay_config):
    cfg = launchbay_config("model=gbm", "data.rows=100000", "job=train", "runtime=cluster", "runtime.address=ray://head:10001")
    assert cfg.model.estimator._target_ == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert cfg.data.rows == 100000 and cfg.job.name == "train"
    assert cfg.runtime.address == "ray://head:10001"


def test_parquet_source_needs_a_path(launchbay_config):
    cfg = launchbay_config("data=parquet")
    assert cfg.data.name == "parquet"
    with pytest.raises(Exception, match="path"):
        cfg.data.path  # noqa: B018


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.rows=abc", "data.rows"),
        ("data=nope", "data/nope"),
        ("job=nope", "job/nope"),
        ("runtime.object_store_memory_mb=big", "runtime.object_store_memory_mb"),
        ("data.nonexistent=1", "nonexistent"),
        ("score.concurrency=many", "score.concurrency"),
        ("score=nope", "score/nope"),
    ],
)
def test_bad_overrides_are_one_line(override, expected):
    with pytest.raises(LaunchbayError) as info:
        check_composes([override])
    message = str(info.value)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize("key", sorted(CLOSED_CHOICES))
def test_a_closed_choice_is_checked_at_compose_time(key):
    with pytest.raises(LaunchbayError) as info:
        check_composes([f"{key}=bogus"])
    assert str(info.value) == f"config: {key}: Invalid value 'bogus', expected one of [{CLOSED_CHOICES[key]}]"


def test_cli_wrong_choice_lists_the_valid_ones(tmp_path):
    out = launchbay_main("run", "score.strategy=bogus", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "launchbay: error: config: score.strategy: Invalid value 'bogus', expected one of [auto, fragments, tasks, actors]"
    )


def test_unknown_source_lists_available_ones():
    with pytest.raises(LaunchbayError, match=r"available.*csv.*parquet.*synthetic"):
        check_composes(["data=nope"])


def test_cli_cfg_job_prints_composed_config(tmp_path):
    out = launchbay_main("run", "--cfg", "job", "model=gbm", "data.rows=123", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "HistGradientBoostingClassifier" in out.stdout and "rows: 123" in out.stdout


def test_cli_bad_value_is_one_line_error():
    out = launchbay("run", "data.rows=abc")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("launchbay: error:") and "data.rows" in lines[0]


def test_user_config_dir_extends_the_tree(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "forest.yaml").write_text(
        "defaults:\n  - sklearn\n  - _self_\nestimator:\n  _target_: sklearn.ensemble.RandomForestClassifier\n  n_estimators: 7\n"
    )
    out = launchbay_main("run", "--cfg", "job", "-cd", str(tmp_path), "model=forest", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "RandomForestClassifier" in out.stdout and "n_estimators: 7" in out.stdout


def test_conf_and_templates_ship_inside_the_wheel(tmp_path):
    import zipfile
    from pathlib import Path

    root = Path(__file__).parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(root)],
        check=True,
    )
    (wheel,) = tmp_path.glob("launchbay-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in ("config.yaml", "job/pipeline.yaml", "model/gbm.yaml", "runtime/cluster.yaml", "monitor/default.yaml"):
        assert f"launchbay/conf/{path}" in names
    for path in ("plugin/pyproject.toml.tmpl", "card/card.md.j2", "card/card.html.j2"):
        assert f"launchbay/templates/{path}" in names
