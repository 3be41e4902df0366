"""Bad input, tried as a hostile user would: every case exits non-zero with one line that
names the culprit, and leaves every file as it was (nothing written, nothing destroyed)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import yaml
from in_process import launchbay_main
from scipy.stats import wasserstein_distance

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
    rows = generate(SyntheticConfig(rows=8000, chunk_rows=8000), 0)
    pcsv.write_csv(rows, home / "broken.csv")
    lines = (home / "broken.csv").read_text().splitlines()
    lines[7000] += ",1"  # one field too many, past the first block the driver checks
    (home / "broken.csv").write_text("\n".join(lines) + "\n")
    (home / "header.csv").write_text(lines[0] + "\n")
    (home / "inf").mkdir()
    num_1 = rows.column("num_1").to_numpy().copy()
    num_1[::3] = np.inf
    pq.write_table(rows.set_column(rows.schema.get_field_index("num_1"), "num_1", pa.array(num_1)), home / "inf" / "part.parquet")
    (home / "repeated").mkdir()
    batch = generate(SyntheticConfig(rows=1000), 0)
    row_id = batch.schema.get_field_index("row_id")
    pq.write_table(batch.set_column(row_id, "row_id", pa.array(np.zeros(batch.num_rows, np.int64))), home / "repeated" / "part.parquet")
    (home / "huge").mkdir()
    num_2 = batch.column("num_2").to_numpy().copy()
    num_2[::2] = 1.7e308
    num_2[1::4] = -1e300
    pq.write_table(batch.set_column(batch.schema.get_field_index("num_2"), "num_2", pa.array(num_2)), home / "huge" / "part.parquet")
    (home / "all-missing").mkdir()
    num_0 = rows.schema.get_field_index("num_0")
    pq.write_table(rows.set_column(num_0, "num_0", pa.nulls(rows.num_rows, pa.float64())), home / "all-missing" / "part.parquet")
    (home / "one-row").mkdir()
    pq.write_table(batch.slice(0, 1), home / "one-row" / "part.parquet")
    (home / "unlabelled").mkdir()
    pq.write_table(batch.drop(["label"]), home / "unlabelled" / "part.parquet")
    (home / "torn" / "demo" / "1").mkdir(parents=True)
    (home / "torn" / "demo" / "1" / "meta.json").write_text('{"version": 1, "files": ')
    (home / "corrupt").mkdir()
    page = pq.read_metadata(home / "batch" / "part.parquet").row_group(0).column(batch.schema.get_field_index("num_4")).data_page_offset
    data = bytearray((home / "batch" / "part.parquet").read_bytes())
    data[page : page + 16] = b"\x0f" * 16  # a page header in the middle of the file, its footer intact
    (home / "corrupt" / "part.parquet").write_bytes(bytes(data))
    num_3 = batch.schema.get_field_index("num_3")
    words = batch.set_column(num_3, "num_3", pa.array([f"x{i}" for i in range(batch.num_rows)]))
    for folder, write, suffix in (("mixed", pq.write_table, "parquet"), ("mixed-csv", pcsv.write_csv, "csv")):
        (home / folder).mkdir()
        write(batch, home / folder / f"a.{suffix}")
        write(words, home / folder / f"b.{suffix}")
    lines[7000] = ",".join(f"x{i}" if i == num_3 else field for i, field in enumerate(lines[7000].split(",")[:-1]))
    (home / "deep.csv").write_text("\n".join(lines) + "\n")  # a string in a column of numbers, past the first block
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
    """Run the command line ``argv`` in ``workspace``; check that it failed in one line that
    matches ``culprit`` (a pattern) and changed nothing; return the line."""
    monkeypatch.chdir(workspace)
    before, written_before = snapshot(workspace), run_files(workspace)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main(argv)
    lines = err.getvalue().strip().splitlines()
    assert exited.value.code == code, lines
    assert len(lines) == 1 and lines[0].startswith("launchbay: error: ") and "Traceback" not in lines[0], lines
    assert re.search(culprit, lines[0]) and lines[0].isprintable(), lines[0]
    assert snapshot(workspace) == before
    assert run_files(workspace) == written_before  # a refused run writes no summary, scores or report
    return lines[0]


PIPELINE = "run job=pipeline"
SCORE = "run job=score data@batch=parquet batch.path=batch"

# what the one line says of the ±inf values of the "inf" batch
INF = r"the values in column 'num_1': ±inf in [\d,]+ of [\d,]+ rows"
FINITE = r"contract.enforce=\[type,finite\] contract.policy=quarantine"

# every column of the synthetic batch but row_id: its numeric and its categorical features
NUMERIC = ",".join(f"num_{i}" for i in range(8))
FEATURES = f"{NUMERIC},{','.join(f'cat_{i}' for i in range(3))},label"
# what the one line says of a column that is a number in one file of a folder and a string in another
MIXED = r"path: column 'num_3' is double in \S+/{0}/a.{1} but string in \S+/{0}/b.{1}; the files of one input must agree"
# what it says of an output under the user's file
UNDER_FILE = r"{0}: \S+/notes.txt is a file, so \S+/notes.txt/{1} cannot be made$"

# command line -> a pattern of the one line it must fail with
CASES = {
    f"{PIPELINE} job.holdout=0": r"job.holdout must be a share in \(0, 1\)",
    f"{PIPELINE} job.holdout=1.5": r"job.holdout must be a share in \(0, 1\)",
    f"{PIPELINE} job.holdout=-0.1": r"job.holdout",
    f"{PIPELINE} monitor.drift_share=2": r"monitor.drift_share must be a share in \(0, 1\]",
    f"{PIPELINE} monitor.drift_share=-1": r"monitor.drift_share",
    f"{PIPELINE} monitor.drift_share=0": r"monitor.drift_share",
    f"{PIPELINE} monitor.bins=0": r"monitor.bins must be between 2",
    f"{PIPELINE} monitor.bins=1": r"monitor.bins",
    f"{PIPELINE} monitor.bins=5000": r"monitor.bins",
    f"{PIPELINE} monitor.fine_bins=1": r"monitor.",
    f"{PIPELINE} monitor.max_categories=0": r"monitor.max_categories",
    f"{PIPELINE} monitor.psi_epsilon=0": r"monitor.psi_epsilon",
    f"{PIPELINE} monitor.exact_max_rows=-5": r"monitor.exact_max_rows",
    f"{PIPELINE} +monitor.thresholds.psi=-1": r"monitor.thresholds.psi",
    f"{PIPELINE} monitor.mode=fast": r"monitor.mode",
    f"{PIPELINE} monitor.device=tpu": r"monitor.device",
    f"{PIPELINE} monitor.metrics=[psi,bogus]": r"monitor.metrics: unknown metric 'bogus'",
    f"{PIPELINE} +monitor.features.num_0=[nope]": r"monitor.features.num_0: unknown metric 'nope'",
    f"{PIPELINE} score.batch_size=-1": r"score.batch_size must be at least 1",
    f"{PIPELINE} score.batch_size=0": r"score.batch_size",
    f"{PIPELINE} score.num_cpus=0": r"score.num_cpus",
    f"{PIPELINE} score.num_gpus=-1": r"score.num_gpus",
    f"{PIPELINE} score.concurrency=0": r"score.concurrency",
    f"{PIPELINE} score.memory_mb=0": r"score.memory_mb must be at least 1 \(or null: none reserved\), got 0$",
    f"{PIPELINE} train.num_cpus=0": r"train.num_cpus must be positive, got 0.0$",
    f"{PIPELINE} train.num_gpus=-1": r"train.num_gpus must be 0 or more, got -1.0$",
    f"{PIPELINE} train.memory_mb=-64": r"train.memory_mb must be at least 1",
    f"{PIPELINE} monitor.num_cpus=-1": r"monitor.num_cpus must be positive",
    f"{PIPELINE} monitor.num_gpus=-0.5": r"monitor.num_gpus must be 0 or more",
    f"{PIPELINE} monitor.memory_mb=0": r"monitor.memory_mb must be at least 1",
    "run job=train train.num_cpus=3": r"training a sklearn model \(per fit, fold or segment\) asks for 3 CPU\(s\) but a node of the Ray cluster has at most 2$",
    "run job=train train.memory_mb=100000000": r"training a sklearn model .* asks for 100,000,000 MB of memory but a node of the Ray .* at most [\d,]+$",
    f"{SCORE} score.memory_mb=100000000": r"scoring with demo v\d+ \(per task or actor\) asks for 100,000,000 MB of memory but a node of the Ray",
    f"{SCORE} score.num_cpus=2.5": r"scoring with demo v\d+ \(per task or actor\) asks for 2.5 CPU\(s\) but a node of the Ray cluster has at most 2$",
    f"{SCORE} monitor.device=gpu": r"error: monitor.device=gpu but no CUDA GPU is available: use monitor.device=auto or cpu$",
    "run job=train monitor.device=gpu": r"error: monitor.device=gpu but no CUDA GPU is available: use monitor.device=auto or cpu$",
    f"{PIPELINE} score.strategy=bogus": r"score.strategy",
    f"{PIPELINE} train.folds=1": r"train.folds",
    f"{PIPELINE} train.metric=f2": r"train.metric",
    f"{PIPELINE} train.min_partition_rows=0": r"train.min_partition_rows",
    f"{PIPELINE} approval.metric=f2": r"approval.metric",
    f"{PIPELINE} approval.margin=.nan": r"approval.margin",
    f"{PIPELINE} approval.trigger=sometimes": r"approval.trigger",
    f"{PIPELINE} approval.train_on=both": r"approval.train_on",
    f"{PIPELINE} contract.policy=drop": r"contract.policy",
    f"{PIPELINE} contract.enforce=[shape]": r"contract.enforce",
    f"{PIPELINE} contract.range_margin=-1": r"contract.range_margin",
    f"{PIPELINE} runtime.mode=remote": r"runtime.mode",
    f"{PIPELINE} runtime.num_cpus=0": r"runtime.num_cpus",
    f"{PIPELINE} runtime.object_store_memory_mb=1": r"runtime.object_store_memory_mb",
    f"{PIPELINE} runtime.object_store_memory_mb=big": r"runtime.object_store_memory_mb",
    f"{PIPELINE} data.rows=abc": r"data.rows",
    f"{PIPELINE} data.rows=0": r"rows must be positive",
    f"{PIPELINE} data=nope": r"data/nope",
    f"{PIPELINE} model=nope": r"model/nope",
    f"{SCORE} score.output=.": r"score.output: \S+ overlaps batch.path",
    f"{SCORE} score.output=batch": r"score.output: \S+ overlaps batch.path",
    f"{SCORE} score.output=batch/sub": r"score.output: \S+ overlaps batch.path",
    f"{SCORE} score.output=.launchbay/registry": r"score.output: \S+ overlaps registry.path",
    f"{SCORE} score.output=.launchbay/registry/demo": r"score.output: \S+ overlaps registry.path",
    f"{SCORE} score.output=notes.txt": r"score.output: \S+ is a file",
    f"{SCORE} score.output=mine": r"score.output: \S+ holds files launchbay did not write",
    f"{SCORE} score.output=..": r"score.output: \S+ overlaps batch.path",
    f"{SCORE} score.output=runs": r"score.output: \S+ holds the run directory",
    "run job=train registry.path=.": r"registry.path: \S+ holds the working directory",
    "run job=train data=parquet data.path=batch registry.path=batch/registry": r"registry.path: \S+ overlaps data.path",
    "run job=train hydra.run.dir=mine": r"hydra.run.dir: \S+ already holds a.txt",
    "drift batch batch --report notes.txt": r"--report: \S+ exists and was not written by launchbay",
    "drift batch batch --report report.html": r"--report: \S+ exists and was not written by launchbay",
    "drift batch batch --report mine": r"--report: \S+ is a folder",
    "drift batch batch --json notes.txt": r"--json: \S+ exists and was not written by launchbay",
    "run job=train data=csv data.path=broken.csv": r"broken.csv: CSV parse error: Row #7001",
    "run job=score data@batch=csv batch.path=broken.csv score.output=fresh": r"nothing was written to \S+fresh: \S+broken.csv: CSV parse error: Row #",
    "run job=train data=csv data.path=header.csv": r"header.csv\) has no rows",
    "run job=train registry.path=notes.txt": r"registry.path: \S+ is a file",
    f"{SCORE} registry.path=torn job.model_version=1": r"torn/demo/1/meta.json is not valid JSON",
    "run job=pipeline job.name=nope": r"job.name: no job 'nope'",
    "run job=pipeline registry.path=new-registry score.output=notes.txt": r"score.output: \S+ is a file",  # before training
    "run job=score data@batch=parquet batch.path=all-missing score.output=fresh":
        r"feature 'num_0' has no values in the current data \(all missing\); nothing was written to \S+fresh",
    "models show demo 99": r"registry: ",
    "models list --registry torn": r"no version in \S+/torn is readable: \S+/torn/demo/1/meta.json is not valid JSON: .*line 1 column 25",
    # non-finite values that reach the model name their column, the rows and the setting that handles them
    "run job=score data@batch=parquet batch.path=inf score.output=fresh":
        rf"nothing was written to \S+fresh: batch: model demo v\d+ cannot take {INF} .*{FINITE}",
    "run job=score data@batch=parquet batch.path=inf score.output=fresh score.strategy=tasks":
        rf"batch: model demo v\d+ cannot take {INF} \(ValueError\).*{FINITE}",
    "run job=pipeline data@batch=parquet batch.path=inf score.output=fresh":
        rf"nothing was written to \S+fresh: batch: model demo v\d+ cannot take {INF} ",
    "run job=train data=parquet data.path=inf": rf"^launchbay: error: data: the model cannot fit {INF} of the training data: .*contract.path=FILE",
    "run job=train data=parquet data.path=inf model=gbm": rf"data: the model cannot fit {INF} of the training data",
    # batches too small to judge: the rows there are and the fewest needed
    "run job=train data.rows=1 data.chunk_rows=1": r"the training data has 1 row\(s\); training needs at least 2 \(job.holdout=0.2 leaves 0 to train",
    "run job=train data.rows=5 data.chunk_rows=5 job.holdout=0.9": r"has 5 row\(s\); training needs at least 11 \(job.holdout=0.9 leaves 0 ",
    "run job=train data.rows=50 data.chunk_rows=50 job.holdout=0.99": r"has 50 row\(s\); training needs at least 100 \(job.holdout=0.99 leaves 0 ",
    # repeated ids: contract.unique_ids=true refuses them (without it, a warning: WARNED)
    "run job=score data@batch=parquet batch.path=repeated score.output=fresh contract.unique_ids=true":
        r"batch: 999 rows repeat an earlier row's row_id \(contract.unique_ids=true\); nothing was written to \S+fresh$",
    "run job=pipeline data@batch=parquet batch.path=repeated score.output=fresh contract.unique_ids=true": r"batch: 999 rows repeat an earlier row's row_id",
    # what the user asked for is not there: a registry, a column to monitor, a metric that fits
    "models list --registry nope": r"^launchbay: error: registry: \S+/nope does not exist \(--registry or registry.path names",
    "models show demo --registry nope": r"registry: \S+/nope does not exist",
    "models history demo --registry nope": r"registry: \S+/nope does not exist",
    "models promote demo 1 --registry nope": r"registry: \S+/nope does not exist",
    f"{SCORE} registry.path=nope score.output=fresh": r"registry: \S+/nope does not exist",
    f"drift batch batch --exclude row_id,{FEATURES}": r"no column is left to monitor: the exclusions \(row_id, num_0, .*label\) cover every column",
    f"drift batch batch --exclude row_id,label,{NUMERIC} --metrics ks,wasserstein":
        r"monitor.metrics \(ks, wasserstein\) fit none of the features, which are categorical$",
    # (the model's outputs are monitored too; a stored profile has every column)
    f"{PIPELINE} monitor.exclude=[row_id,{FEATURES}] registry.path=fresh-registry score.output=fresh": r"data: no feature columns left after removing",
    f"{SCORE} monitor.exclude=[row_id,{FEATURES},prediction,score] score.output=fresh": r"no column is left to monitor",
    f"drift batch batch --exclude row_id,{FEATURES} --metrics psi": r"no column is left to monitor",
    # error lines name the culprit, in printable text
    "drift batch corrupt": r"error: \S+/corrupt/part.parquet: cannot read as parquet: .*don't know what type: \\x0f",
    "run job=train data=parquet data.path=corrupt": r"reading the training data failed: \S+/corrupt/part.parquet: .*don't know what type: \\x0f",
    "run job=score data@batch=parquet batch.path=corrupt score.output=fresh": r"nothing was written to \S+fresh: \S+/corrupt/part.parquet: .*\\x0f",
    "run job=score data@batch=parquet batch.path=corrupt score.output=fresh score.strategy=tasks": r"\S+/corrupt/part.parquet: .*\\x0f",
    "run job=train data=parquet data.path=mixed": "data: " + MIXED.format("mixed", "parquet"),
    "run job=score data@batch=parquet batch.path=mixed score.output=fresh": "batch: " + MIXED.format("mixed", "parquet"),
    "drift batch mixed": MIXED.format("mixed", "parquet"),
    "run job=train data=csv data.path=mixed-csv": "data: " + MIXED.format("mixed-csv", "csv"),
    "run job=score data@batch=csv batch.path=mixed-csv score.output=fresh": "batch: " + MIXED.format("mixed-csv", "csv"),
    "drift mixed-csv mixed-csv": MIXED.format("mixed-csv", "csv"),
    "run job=train data=csv data.path=deep.csv": r"deep.csv: In CSV column #4 \('num_3'\): Row #7001: CSV conversion error to double: invalid value 'x4'",
    "drift batch batch --report notes.txt/r.html": UNDER_FILE.format("--report", "r.html"),
    "drift batch batch --json notes.txt/r.json": UNDER_FILE.format("--json", "r.json"),
    "monitor demo --out notes.txt/trend.html": UNDER_FILE.format("--out", "trend.html"),
    f"{SCORE} score.output=notes.txt/scores": UNDER_FILE.format("score.output", "scores"),
    "run job=train registry.path=notes.txt/registry": UNDER_FILE.format("registry.path", "registry"),
    "run job=train hydra.run.dir=notes.txt/run": UNDER_FILE.format("hydra.run.dir", "run"),
    "models show demo --registry torn": r"registry: \S+/torn/demo/1/meta.json is not valid JSON: .*line 1 column 25",
}


@pytest.mark.parametrize("command", CASES)
def test_bad_input_is_one_line_and_changes_nothing(workspace, monkeypatch, command):
    refused(workspace, monkeypatch, command.split(), CASES[command])


def test_an_output_of_another_tool_next_to_a_manifest_is_refused(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    out = tmp_path / "scores"
    main([*SCORE.split(), f"score.output={out}"])
    (out / "theirs.csv").write_text("a file another tool put in the output\n")
    refused(workspace, monkeypatch, [*SCORE.split(), f"score.output={out}"], "holds files launchbay did not write")
    assert (out / "theirs.csv").exists()


def test_reports_and_json_launchbay_wrote_are_replaced(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    report, summary = tmp_path / "drift.html", tmp_path / "drift.json"
    for _ in range(2):
        main(["drift", "batch", "batch", "--exclude", "row_id", "--report", str(report), "--json", str(summary)])
    assert "generated by launchbay" in report.read_text() and '"about": "generated by launchbay"' in summary.read_text()


def summaries(root: Path) -> set[Path]:
    return set((root / "runs").rglob("summary.json"))


def warned(workspace: Path, monkeypatch, argv: list[str], warning: str) -> dict:
    """Run ``argv`` in ``workspace``; check that it succeeded with exactly one warning line, matching
    ``warning`` (a pattern), and changed none of the user's files; return the run's ``summary.json``."""
    monkeypatch.chdir(workspace)
    before, summaries_before = snapshot(workspace), summaries(workspace)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exited:
            assert exited.code in (0, None), err.getvalue()
    lines = [line for line in err.getvalue().splitlines() if re.match(r"^(launchbay: )?warning: ", line)]
    assert len(lines) == 1 and "Traceback" not in err.getvalue(), lines
    assert re.search(warning, lines[0]), lines[0]
    assert {k: v for k, v in snapshot(workspace).items() if not k.startswith("fresh")} == {
        k: v for k, v in before.items() if not k.startswith("fresh")
    }
    (written,) = summaries(workspace) - summaries_before
    summary = json.loads(written.read_text())
    assert summary["warnings"] == [lines[0].partition("warning: ")[2]]
    return summary


REPEATED = r"^warning: 999 of 1,000 rows repeat an earlier row's row_id within their piece of the batch \(parquet\); set contract.unique_ids=true to refuse"

# command line -> a pattern of the one warning line it must succeed with, and the summary.json field and value it must record
WARNED = {
    # repeated ids within a piece: one warning line and the count in summary.json
    "run job=score data@batch=parquet batch.path=repeated score.output=fresh-1": (REPEATED, ("scores", "repeated_ids"), 999),
    "run job=score data@batch=parquet batch.path=repeated score.output=fresh-2 score.strategy=tasks": (REPEATED, ("scores", "repeated_ids"), 999),
    "run job=pipeline data@batch=parquet batch.path=repeated score.output=fresh-3 approval.trigger=never": (REPEATED, ("scores", "repeated_ids"), 999),
    # what the user asked for is not there: a challenger from a batch without labels
    "run job=pipeline data@batch=parquet batch.path=unlabelled score.output=fresh-4 approval.trigger=always": (
        r"^warning: no challenger was trained \(on demand \(approval.trigger=always\)\): job.label: column 'label' is not in the batch",
        ("challenger", "error"),
        r"^job.label: column 'label' is not in the batch \(approval.train_on=batch needs labelled rows\)",
    ),
}


@pytest.mark.parametrize("command", WARNED)
def test_doubtful_input_is_one_warning_and_a_summary_field(workspace, monkeypatch, command):
    pattern, (section, field), value = WARNED[command]
    summary = warned(workspace, monkeypatch, command.split(), pattern)
    assert re.search(value, summary[section][field]) if isinstance(value, str) else summary[section][field] == value


@pytest.mark.parametrize("metrics", ["wasserstein", "wasserstein,wasserstein_norm,ks,psi"])
def test_values_near_the_float_range_are_computed_or_undefined(workspace, monkeypatch, tmp_path, metrics):
    """Half of num_2 at 1.7e308, a quarter at -1e300: the drift command reports scipy's distance or an undefined row with its reason."""
    monkeypatch.chdir(workspace)
    main(["drift", "batch", "huge", "--exclude", "row_id", "--metrics", metrics, "--report", str(tmp_path / "r.html"), "--json", str(tmp_path / "d.json")])
    rows = [row for row in json.loads((tmp_path / "d.json").read_text())["metrics"] if row["feature"] == "num_2"]
    assert {row["metric"] for row in rows} == set(metrics.split(","))
    reference, current = (pq.read_table(workspace / folder / "part.parquet").column("num_2").to_numpy() for folder in ("batch", "huge"))
    for row in rows:
        assert row["undefined"] or row["value"] is not None and np.isfinite(row["value"]), row
        if row["metric"] == "wasserstein" and not row["undefined"]:
            assert row["value"] == pytest.approx(wasserstein_distance(reference, current), rel=1e-9)


def test_a_batch_too_small_to_judge_has_no_verdict(workspace, monkeypatch, tmp_path):
    """One row: every metric's row is undefined with the rows there are and the fewest it judges from, and so is the verdict."""
    monkeypatch.chdir(workspace)
    main(["drift", "batch", "one-row", "--exclude", "row_id,label", "--report", str(tmp_path / "r.html"), "--json", str(tmp_path / "d.json")])
    drift = json.loads((tmp_path / "d.json").read_text())
    assert drift["verdict"] == "undefined" and drift["drifted_features"] == []
    assert {row["metric"] for row in drift["metrics"]} == {"ks", "chi2"}
    reason = r"the current batch has 1 row\(s\); (ks|chi2) judges from (8|30) \(monitor.min_rows.\1\)"
    assert all(re.fullmatch(reason, row["undefined"]) for row in drift["metrics"])
    before = summaries(workspace)
    main(["run", "job=score", "data@batch=parquet", "batch.path=one-row", "score.output=fresh-small"])
    (written,) = summaries(workspace) - before
    assert json.loads(written.read_text())["drift"]["verdict"] == "undefined"


# the small things a user meets: the config Hydra shows (--cfg, --help) has its secrets masked
# and lists only the groups a command takes; a reader of stdout that goes away (| head) ends the command quietly

HOOK_SECRETS = ("+alerts.webhook.url='https://hooks.example/T0/HOOKPATHSECRET'", "+alerts.webhook.headers.Authorization='Bearer BEARERSECRET'")


@pytest.mark.parametrize("flags", [["--cfg", "job"], ["--cfg", "all"], ["--cfg", "job", "--resolve"], ["--help"]])
def test_the_config_hydra_shows_has_its_secrets_masked(tmp_path, flags):
    out = launchbay_main("run", *flags, *HOOK_SECRETS, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "SECRET" not in out.stdout and "webhook:" in out.stdout
    assert "url: https://hooks.example/***" in out.stdout and "Authorization: '***'" in out.stdout
    if flags[0] == "--cfg":
        assert yaml.safe_load(out.stdout)["job"]["name"] == "pipeline"  # still the YAML Hydra prints


def test_a_package_of_the_config_is_masked_whole_when_it_is_a_secret(tmp_path):
    out = launchbay_main("run", "--cfg", "job", "--package", "alerts.webhook.headers.Authorization", *HOOK_SECRETS, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == "***\n", out
    out = launchbay_main("run", "--cfg", "job", "--package", "alerts.webhook", *HOOK_SECRETS, cwd=tmp_path)
    assert out.stdout.splitlines() == ["# @package alerts.webhook", "url: https://hooks.example/***", "headers:", "  Authorization: '***'"]


def config_groups(help_text: str) -> set[str]:
    groups = help_text.partition("== Configuration groups ==")[2].partition("== Config ==")[0]
    return {line.partition(":")[0] for line in groups.splitlines()[2:] if ": " in line}


def test_each_command_lists_the_config_groups_it_takes(tmp_path):
    run, bench = (launchbay_main(*command, "--help", cwd=tmp_path) for command in (["run"], ["bench", "cost"]))
    assert run.returncode == bench.returncode == 0, (run.stderr, bench.stderr)
    assert {"data", "model", "job", "sink", "runtime", "cost"} <= config_groups(run.stdout)  # cost=<price table> prices a run
    assert "trace" not in config_groups(run.stdout)
    assert config_groups(bench.stdout) == {"cost", "trace"}


@pytest.mark.parametrize("argv", [["plugins", "list"], ["run", "--help"], ["run", "--cfg", "job"], ["bench", "cost", "--help"], ["runs", "list"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, argv):
    """stdout is a pipe whose reader has gone (as under ``| head`` once head has its lines): no error, no traceback."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        out = subprocess.run([sys.executable, "-m", "launchbay", *argv], stdout=writer, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    finally:
        os.close(writer)
    assert out.stderr == "" and out.returncode == 1
