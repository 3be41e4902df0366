"""What the command line prints besides a job's own output: the config Hydra shows (``--cfg``,
``--help``) with secrets masked and only the groups a command takes, and a quiet end when the
reader of stdout goes away (``launchbay ... | head``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from in_process import launchbay_main

SECRETS = ("+alerts.webhook.url='https://hooks.example/T0/HOOKPATHSECRET'", "+alerts.webhook.headers.Authorization='Bearer BEARERSECRET'")


@pytest.mark.parametrize("flags", [["--cfg", "job"], ["--cfg", "all"], ["--cfg", "job", "--resolve"], ["--help"]])
def test_the_config_hydra_shows_has_its_secrets_masked(tmp_path, flags):
    out = launchbay_main("run", *flags, *SECRETS, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "SECRET" not in out.stdout and "webhook:" in out.stdout
    assert "url: https://hooks.example/***" in out.stdout and "Authorization: '***'" in out.stdout
    if flags[0] == "--cfg":
        assert yaml.safe_load(out.stdout)["job"]["name"] == "pipeline"  # still the YAML Hydra prints


def test_a_package_of_the_config_is_masked_whole_when_it_is_a_secret(tmp_path):
    out = launchbay_main("run", "--cfg", "job", "--package", "alerts.webhook.headers.Authorization", *SECRETS, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == "***\n", out
    out = launchbay_main("run", "--cfg", "job", "--package", "alerts.webhook", *SECRETS, cwd=tmp_path)
    assert out.stdout.splitlines() == ["# @package alerts.webhook", "url: https://hooks.example/***", "headers:", "  Authorization: '***'"]


def config_groups(help_text: str) -> set[str]:
    groups = help_text.partition("== Configuration groups ==")[2].partition("== Config ==")[0]
    return {line.partition(":")[0] for line in groups.splitlines()[2:] if ": " in line}


def test_each_command_lists_the_config_groups_it_takes(tmp_path):
    run, bench = (launchbay_main(*command, "--help", cwd=tmp_path) for command in (["run"], ["bench", "cost"]))
    assert run.returncode == bench.returncode == 0, (run.stderr, bench.stderr)
    assert {"data", "model", "job", "sink", "runtime"} <= config_groups(run.stdout)
    assert not {"cost", "trace"} & config_groups(run.stdout)
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
