"""The ``launchbay`` command as a user runs it: its own process, its own embedded Ray (the commands that only read
what the run wrote run in this process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from in_process import launchbay_main


def launchbay(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_commands(tmp_path):
    out = launchbay("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("run", "plugins", "models"):
        assert command in out.stdout


# A Hydra callback, as a user configures one (hydra.callbacks): it records what it hears.
CALLBACK = """
from hydra.experimental.callback import Callback


class Seen(Callback):
    def on_run_start(self, config, **kwargs):
        self.note("run_start", config.hydra.job.name)

    def on_job_start(self, config, **kwargs):
        self.note("job_start", config.hydra.runtime.output_dir)

    def on_run_end(self, config, job_return, **kwargs):
        self.note("run_end", job_return.return_value["run_id"])

    def note(self, *event):
        with open("seen.txt", "a") as f:
            f.write(" ".join(event) + "\\n")
"""


def test_pipeline_from_the_command_line(tmp_path):
    (tmp_path / "seen_callback.py").write_text(CALLBACK)
    out = launchbay("run", "job=pipeline", "data.rows=3000", "batch.rows=2000", "+hydra.callbacks.seen._target_=seen_callback.Seen", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (summary_path,) = tmp_path.glob("runs/*/*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["scores"]["rows"] == 2000 and "num_0" in summary["drift"]["drifted_features"]
    # the run is Hydra's single run: its files, its log, its callbacks, in the directory it checked
    assert {p.name for p in (summary_path.parent / ".hydra").iterdir()} == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    assert (summary_path.parent / "run.log").exists()
    assert (tmp_path / "seen.txt").read_text().splitlines() == [
        "run_start run",
        f"job_start {summary['run_dir']}",
        f"run_end {summary['run_id']}",
    ]
    assert "Drift: " in out.stderr and "report: " in out.stderr
    assert "streaming_executor" not in out.stderr + out.stdout, "Ray's log noise reached the terminal"
    listed = launchbay_main("models", "list", cwd=tmp_path)
    assert "demo" in listed.stdout and "roc_auc" in listed.stdout
    runs = launchbay_main("runs", "list", cwd=tmp_path)
    assert summary["run_id"] in runs.stdout and "num_0" in runs.stdout and "2,000" in runs.stdout
    shown = launchbay_main("runs", "show", summary["run_id"], cwd=tmp_path)
    assert json.loads(shown.stdout)["run_id"] == summary["run_id"]
    missing = launchbay("runs", "show", "nope", cwd=tmp_path)
    assert missing.returncode == 1 and "no run 'nope'" in missing.stderr


def test_a_config_that_asks_for_a_sweep_gets_one(tmp_path):
    """``hydra.mode=MULTIRUN`` sweeps as ``--multirun`` does (the job fails at once: no such job)."""
    out = launchbay_main("run", "hydra.mode=MULTIRUN", "job.name=nosuch", cwd=tmp_path)
    assert out.returncode == 1 and "no job 'nosuch'" in out.stderr
    assert [p.parent.name for p in tmp_path.glob("runs/multirun/*/*/.hydra")] == ["0-nosuch"]
    assert not list(tmp_path.glob("runs/*/*/.hydra"))  # no single run beside the sweep


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_multirun_sweep_runs_every_job(tmp_path):
    out = launchbay("run", "--multirun", "job=train", "data.rows=1500", "model=logreg,gbm", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    summaries = sorted(tmp_path.glob("runs/multirun/*/*/summary.json"))
    assert len(summaries) == 2
    versions = sorted(json.loads(p.read_text())["model"]["version"] for p in summaries)
    assert versions == [1, 2]
