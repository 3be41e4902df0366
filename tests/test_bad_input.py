"""Bad input, tried as a hostile user would: every case exits non-zero with one line that
names the culprit, and leaves every file as it was (nothing written, nothing destroyed)."""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import launchbay
from launchbay.cli import main
from launchbay.data.synthetic import SyntheticConfig, generate


@pytest.fixture(scope="module")
def workspace(ray_session, tmp_path_factory) -> Path:
    """A working directory with a registered model, a batch folder, a user's file and a user's folder."""
    home = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        launchbay.run(["job=train", "data.rows=2000"])
    (home / "batch").mkdir()
    pq.write_table(generate(SyntheticConfig(rows=1000), 0), home / "batch" / "part.parquet")
    (home / "notes.txt").write_text("the user's own notes\n")
    (home / "mine").mkdir()
    (home / "mine" / "a.txt").write_text("the user's own file\n")
    (home / "report.html").write_text("<html>the user's own page</html>\n")
    return home


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` but the run directories (``runs/``)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "runs"
    }


def run_files(root: Path) -> set[str]:
    """Files in run directories other than Hydra's own (its config and its log)."""
    return {
        str(p.relative_to(root))
        for p in (root / "runs").rglob("*")
        if p.is_file() and ".hydra" not in p.parts and p.suffix != ".log"
    }


def refused(workspace: Path, monkeypatch, argv: list[str], culprit: str, code: int = 1) -> str:
    """Run the command line ``argv`` in ``workspace``; check that it failed in one line naming
    ``culprit`` and changed nothing; return the line."""
    monkeypatch.chdir(workspace)
    before, written_before = snapshot(workspace), run_files(workspace)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main(argv)
    lines = err.getvalue().strip().splitlines()
    assert exited.value.code == code, lines
    assert len(lines) == 1 and lines[0].startswith("launchbay: error: ") and "Traceback" not in lines[0], lines
    assert culprit in lines[0], lines[0]
    assert snapshot(workspace) == before
    assert run_files(workspace) == written_before  # a refused run writes no summary, scores or report
    return lines[0]


SCORE = ["run", "job=score", "data@batch=parquet", "batch.path=batch"]

SETTINGS = [
    ("job.holdout=0", "job.holdout must be a share in (0, 1)"),
    ("job.holdout=1.5", "job.holdout must be a share in (0, 1)"),
    ("job.holdout=-0.1", "job.holdout"),
    ("monitor.drift_share=2", "monitor.drift_share must be a share in (0, 1]"),
    ("monitor.drift_share=-1", "monitor.drift_share"),
    ("monitor.drift_share=0", "monitor.drift_share"),
    ("monitor.bins=0", "monitor.bins must be between 2"),
    ("monitor.bins=1", "monitor.bins"),
    ("monitor.bins=5000", "monitor.bins"),
    ("monitor.fine_bins=1", "monitor."),
    ("monitor.max_categories=0", "monitor.max_categories"),
    ("monitor.psi_epsilon=0", "monitor.psi_epsilon"),
    ("monitor.exact_max_rows=-5", "monitor.exact_max_rows"),
    ("+monitor.thresholds.psi=-1", "monitor.thresholds.psi"),
    ("monitor.mode=fast", "monitor.mode"),
    ("monitor.device=tpu", "monitor.device"),
    ("monitor.metrics=[psi,bogus]", "monitor.metrics: unknown metric 'bogus'"),
    ("+monitor.features.num_0=[nope]", "monitor.features.num_0: unknown metric 'nope'"),
    ("score.batch_size=-1", "score.batch_size must be at least 1"),
    ("score.batch_size=0", "score.batch_size"),
    ("score.num_cpus=0", "score.num_cpus"),
    ("score.num_gpus=-1", "score.num_gpus"),
    ("score.concurrency=0", "score.concurrency"),
    ("score.strategy=bogus", "score.strategy"),
    ("train.folds=1", "train.folds"),
    ("train.metric=f1", "train.metric"),
    ("train.min_partition_rows=0", "train.min_partition_rows"),
    ("approval.metric=f1", "approval.metric"),
    ("approval.margin=.nan", "approval.margin"),
    ("approval.trigger=sometimes", "approval.trigger"),
    ("approval.train_on=both", "approval.train_on"),
    ("contract.policy=drop", "contract.policy"),
    ("contract.enforce=[shape]", "contract.enforce"),
    ("contract.range_margin=-1", "contract.range_margin"),
    ("runtime.mode=remote", "runtime.mode"),
    ("runtime.num_cpus=0", "runtime.num_cpus"),
    ("runtime.object_store_memory_mb=1", "runtime.object_store_memory_mb"),
    ("runtime.object_store_memory_mb=big", "runtime.object_store_memory_mb"),
    ("data.rows=abc", "data.rows"),
    ("data.rows=0", "rows must be positive"),
    ("data=nope", "data/nope"),
    ("model=nope", "model/nope"),
]


@pytest.mark.parametrize(("override", "culprit"), SETTINGS, ids=[case[0] for case in SETTINGS])
def test_a_bad_setting_is_refused_before_any_work(workspace, monkeypatch, override, culprit):
    refused(workspace, monkeypatch, ["run", "job=pipeline", override], culprit)


OUTPUTS = [
    (".", "overlaps batch.path"),
    ("batch", "overlaps batch.path"),
    ("batch/sub", "overlaps batch.path"),
    (".launchbay/registry", "overlaps registry.path"),
    (".launchbay/registry/demo", "overlaps registry.path"),
    ("notes.txt", "is a file"),
    ("mine", "holds files launchbay did not write"),
    ("..", "overlaps batch.path"),
    ("runs", "holds the run directory"),
]


@pytest.mark.parametrize(("output", "culprit"), OUTPUTS, ids=[case[0] for case in OUTPUTS])
def test_an_output_launchbay_may_not_write_is_refused(workspace, monkeypatch, output, culprit):
    line = refused(workspace, monkeypatch, [*SCORE, f"score.output={output}"], culprit)
    assert line.startswith("launchbay: error: score.output: ")


def test_an_output_of_another_tool_next_to_a_manifest_is_refused(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    out = tmp_path / "scores"
    main([*SCORE, f"score.output={out}"])
    (out / "theirs.csv").write_text("a file another tool put in the output\n")
    refused(workspace, monkeypatch, [*SCORE, f"score.output={out}"], "holds files launchbay did not write")
    assert (out / "theirs.csv").exists()


LOCATIONS = [
    (["run", "job=train", "registry.path=."], "registry.path: "),
    (["run", "job=train", "data=parquet", "data.path=batch", "registry.path=batch/registry"], "overlaps data.path"),
    (["run", "job=train", "hydra.run.dir=mine"], "hydra.run.dir: "),
    (["drift", "batch", "batch", "--report", "notes.txt"], "--report: "),
    (["drift", "batch", "batch", "--report", "report.html"], "was not written by launchbay"),
    (["drift", "batch", "batch", "--report", "mine"], "is a folder"),
    (["drift", "batch", "batch", "--json", "notes.txt"], "--json: "),
]


@pytest.mark.parametrize(("argv", "culprit"), LOCATIONS, ids=[" ".join(case[0][1:]) for case in LOCATIONS])
def test_a_registry_run_directory_or_report_over_user_files_is_refused(workspace, monkeypatch, argv, culprit):
    refused(workspace, monkeypatch, argv, culprit)


def test_reports_and_json_launchbay_wrote_are_replaced(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    report, summary = tmp_path / "drift.html", tmp_path / "drift.json"
    for _ in range(2):
        main(["drift", "batch", "batch", "--exclude", "row_id", "--report", str(report), "--json", str(summary)])
    assert "generated by launchbay" in report.read_text() and '"about": "generated by launchbay"' in summary.read_text()
