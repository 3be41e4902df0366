"""What ``launchbay submit`` sends, worked out before anything reaches a cluster; the checks a
submitted job makes before it starts; the results a run publishes and a user fetches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from in_process import launchbay_main

import launchbay
from launchbay.errors import LaunchbayError
from launchbay.results import fetch
from launchbay.submission import plan

SHARED = "/mnt/shared/launchbay"


def submission(overrides: list[str], working: Path, storage: str | None = SHARED, install_plugins: bool = False):
    return plan(overrides, submission_id="lb-test", working_dir=str(working), storage=storage,
                install_plugins=install_plugins, pip=[])


def given(overrides: list[str], key: str) -> str:
    (value,) = [o.split("=", 1)[1] for o in overrides if o.startswith(f"{key}=")]
    return value


def test_storage_holds_the_registry_the_scores_and_the_results(tmp_path):
    sent = submission(["job=pipeline"], tmp_path)
    assert given(sent.overrides, "registry.path") == f"{SHARED}/registry"
    assert given(sent.overrides, "score.output") == f"{SHARED}/scores/lb-test"
    assert given(sent.overrides, "job.results") == sent.results == f"{SHARED}/results/lb-test"
    assert sent.metadata()["launchbay.results"] == sent.results
    assert sent.entrypoint().endswith("runtime=cluster runtime.address=auto")
    assert sent.runtime_env["working_dir"] == str(tmp_path) and "py_modules" not in sent.runtime_env


def test_storage_leaves_what_the_user_set_and_keeps_a_uri_query(tmp_path):
    uri = "s3://bucket/prefix?endpoint_override=127.0.0.1:9000&scheme=http"
    sent = submission(["job=pipeline", "registry.path=s3://other/registry"], tmp_path, storage=uri)
    assert given(sent.overrides, "registry.path") == "s3://other/registry"
    assert given(sent.overrides, "score.output") == "'s3://bucket/prefix/scores/lb-test?endpoint_override=127.0.0.1:9000&scheme=http'"
    assert sent.results == "s3://bucket/prefix/results/lb-test?endpoint_override=127.0.0.1:9000&scheme=http"  # as composed


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["job=train"], "registry.path=.launchbay/registry"),
        (["job=pipeline", "registry.path=/mnt/registry"], "score.output=<run dir>/scores"),
        (["job=score", "registry.path=/mnt/registry", "score.output=scores"], "score.output=scores"),
        (["job=train", "registry.path=/mnt/registry", "job.results=results"], "job.results=results"),
    ],
)
def test_places_in_the_jobs_temporary_working_dir_are_refused(tmp_path, overrides, key):
    with pytest.raises(LaunchbayError, match=rf"^{key} would lie in the job's temporary working dir on the cluster.*--storage"):
        submission(overrides, tmp_path, storage=None)


def test_a_config_dir_travels_inside_the_working_dir_only(tmp_path, monkeypatch):
    conf = tmp_path / "work" / "myconf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "mine.yaml").write_text("defaults:\n  - logreg\n  - _self_\n")
    monkeypatch.chdir(tmp_path)
    sent = submission(["--config-dir", str(conf), "job=train", "model=mine"], tmp_path / "work")
    assert sent.overrides[:2] == ["--config-dir", "myconf"]
    with pytest.raises(LaunchbayError, match=r"^--config-dir .*myconf lies outside --working-dir .*elsewhere"):
        (tmp_path / "elsewhere").mkdir()
        submission([f"--config-dir={conf}", "job=train"], tmp_path / "elsewhere")


def test_selected_plugin_packages_are_checked_or_installed(tmp_path):
    checked = submission(["job=train", "data=constant"], tmp_path)
    assert checked.packages == ["launchbay-testplugin==0.0.7"]
    assert checked.runtime_env["env_vars"] == {"LAUNCHBAY_REQUIRES": "launchbay-testplugin==0.0.7"}
    installed = submission(["job=train", "data=constant"], tmp_path, install_plugins=True)
    assert installed.runtime_env["pip"] == ["launchbay-testplugin==0.0.7"] and "env_vars" not in installed.runtime_env
    assert submission(["job=train"], tmp_path).packages == []  # built-ins ship with launchbay


def test_a_plugin_module_outside_the_working_dir_travels_as_a_package(tmp_path, monkeypatch):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lb_outside.py").write_text("from launchbay import hookimpl\n")
    monkeypatch.syspath_prepend(str(extra))
    (tmp_path / "work").mkdir()
    sent = submission(["job=train", "plugins=[lb_outside]"], tmp_path / "work")
    (staged,) = sent.runtime_env["py_modules"]
    assert Path(staged).name == "lb_outside" and (Path(staged) / "__init__.py").read_text() == "from launchbay import hookimpl\n"
    sent.discard()
    assert not Path(staged).exists()


def test_a_submitted_job_names_a_missing_plugin_package_in_one_line(tmp_path):
    env = {**os.environ, "LAUNCHBAY_REQUIRES": "launchbay-testplugin==0.0.7 launchbay-nowhere==1.2"}
    out = subprocess.run([sys.executable, "-m", "launchbay", "run", "job=train"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("launchbay: error: plugin package launchbay-nowhere is not installed where the job runs")
    assert "launchbay-nowhere==1.2" in out.stderr and "--install-plugins" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_commands_without_a_cluster_are_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"LAUNCHBAY_HOME": str(tmp_path)}
    for args, message in [
        (["submit", "--", "job=train"], "no cluster address: pass --address"),
        (["jobs", "wait", "lb-1"], "no cluster address"),
        (["cluster", "status"], "no local cluster: start one with launchbay cluster up --local"),
        (["cluster", "down"], "no local cluster is recorded"),
        (["cluster", "up", "--local", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["run", "job=train", "runtime=cluster"], "runtime.address is empty and no local cluster runs"),
        (["jobs", "list", "--address", "http://127.0.0.1:9", "--header", "Authorization"], "--header Authorization: expected NAME=VALUE"),
    ]:
        if args[:2] in (["cluster", "down"], ["cluster", "up"], ["jobs", "list"]):  # a family's second case: in this process
            out = launchbay_main(*args, cwd=tmp_path, LAUNCHBAY_HOME=str(tmp_path))
        else:
            out = subprocess.run([sys.executable, "-m", "launchbay", *args], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert out.returncode == 1 and out.stderr.count("\n") == 1 and message in out.stderr, (args, out.stderr)


def test_a_run_publishes_its_results_and_a_user_fetches_them(ray_session, in_tmp):
    results = in_tmp / "shared" / "results" / "lb-1"
    summary = launchbay.run(["job=train", "data.rows=600", f"job.results={results}"])
    published = {p.name for p in results.iterdir()}
    assert {"summary.json", "_SUCCESS"} <= published
    assert json.loads((results / "summary.json").read_text())["run_id"] == summary["run_id"]
    fetched = fetch(str(results), str(in_tmp / "laptop" / "lb-1"))
    assert [p.name for p in fetched] == sorted(p for p in published if not p.startswith("_"))
    assert json.loads((in_tmp / "laptop" / "lb-1" / "summary.json").read_text()) == json.loads(json.dumps(summary, default=str))

    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "notes.txt").write_text("my own")
    with pytest.raises(LaunchbayError, match=r"^job.results: .*mine holds files launchbay did not write"):
        launchbay.run(["job=train", "data.rows=600", f"job.results={in_tmp / 'mine'}"])
    with pytest.raises(LaunchbayError, match=r"^--to: .*mine holds files launchbay did not write"):
        fetch(str(results), str(in_tmp / "mine"))
    assert (in_tmp / "mine" / "notes.txt").read_text() == "my own"
