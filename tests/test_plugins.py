"""Plugins through real entry points and real modules: discovery, a manager per run, broken
plugins left out, disabling, lifecycle hooks that fail, the hook contract."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from in_process import launchbay_main
from site_install import pip_install

import launchbay
from launchbay import hookspecs
from launchbay.components import AlertChannel, DataSource, DriftMetric, ModelFamily
from launchbay.errors import LaunchbayError
from launchbay.plugins import (
    BUILTIN_PLUGINS,
    LIFECYCLE_HOOKS,
    QUERY_HOOKS,
    REGISTRATION_HOOKS,
    PluginError,
    PluginsConfig,
    current_manager,
    manager_for,
    new_manager,
)

BROKEN_PKG = Path(__file__).parent / "broken_pkg"
PACKAGE = "launchbay-brokenplugins==0.3.0"
TRAIN = ["job=train", "data.rows=300"]

# A data source, and lifecycle hooks that record what they hear to events.jsonl in the working
# directory; each implementation takes fewer arguments than its spec names.
SOURCE = """
from dataclasses import dataclass

from launchbay import hookimpl
from launchbay.components import DataSource


@dataclass
class RowsConfig:
    rows: int = 200
    shift: float = 0.0  # added to x: drift


def read(cfg):
    import ray.data

    return ray.data.from_items([{"row_id": i, "x": i % 17 + cfg.shift, "z": float(i % 5), "label": i % 2} for i in range(cfg.rows)])


@hookimpl
def launchbay_data_sources():
    return [DataSource("ephemeral", read, RowsConfig)]
"""

OBSERVER = """
import json

from launchbay import hookimpl


def record(*event):
    with open("events.jsonl", "a") as f:
        f.write(json.dumps(event) + "\\n")


@hookimpl
def launchbay_job_started(job):
    record("started", job)


@hookimpl
def launchbay_job_failed(error):
    record("failed", str(error))


@hookimpl
def launchbay_model_registered(version):
    record("registered", version)


@hookimpl
def launchbay_job_finished(summary):
    record("finished", summary["job"])
"""


def failing(*hooks: str) -> str:
    """A plugin module whose ``hooks`` raise RuntimeError('<hook> broke')."""
    return "from launchbay import hookimpl\n" + "".join(
        f"\n\n@hookimpl\ndef {hook}():\n    raise RuntimeError('{hook.removeprefix('launchbay_')} broke')\n" for hook in hooks
    )


@pytest.fixture
def modules(in_tmp, monkeypatch):
    """Write plugin modules into the working directory, importable by name (Python keeps a
    module once imported: a name is one source in the whole session)."""
    monkeypatch.syspath_prepend(str(in_tmp))

    def write(**sources: str) -> Path:
        for name, source in sources.items():
            (in_tmp / f"{name}.py").write_text(textwrap.dedent(source))
        return in_tmp

    return write


def events(home: Path) -> list[list]:
    path = home / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    """``launchbay-brokenplugins`` (one plugin per way of being broken) pip-installed into a directory
    that only the tests that ask for it put on the path."""
    return pip_install(tmp_path_factory.mktemp("broken-site"), BROKEN_PKG)


@pytest.fixture
def broken(broken_site, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(broken_site))
    return broken_site


def cli(*args: str, cwd: Path, path: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """``launchbay ARGS`` as a user runs it, with ``path`` (a site dir) in front of PYTHONPATH."""
    pythonpath = os.pathsep.join(filter(None, [str(path) if path else None, os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": pythonpath, **env}
    )


def table_rows(text: str) -> dict[str, str]:
    """A rich table's rows by their first cell, each cell's wrapped lines joined."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0]:
            rows[cells[0]] = cells
        else:
            last = rows[list(rows)[-1]]
            rows[list(rows)[-1]] = [f"{a} {b}".strip() for a, b in zip(last, cells)]
    return {name: " | ".join(cells) for name, cells in rows.items()}


def error_line(out: subprocess.CompletedProcess) -> str:
    """The one error line of a failed command (warnings about other plugins aside)."""
    lines = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("launchbay: warning:") and "(raylet)" not in line]
    assert out.returncode == 1 and len(lines) == 1 and lines[0].startswith("launchbay: error: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


# --- discovery -------------------------------------------------------------------------


def test_third_party_plugin_found_through_entry_point():
    manager = new_manager()
    assert manager.provider("data", "constant") == "testplugin"
    assert manager.plugin_version("testplugin") == "0.0.7"
    assert manager.distribution("testplugin") == "launchbay-testplugin==0.0.7"
    assert manager.component("data", "constant").config.__name__ == "ConstantConfig"
    assert manager.lifecycle_hooks("testplugin") == [
        "launchbay_job_started", "launchbay_job_finished", "launchbay_job_failed", "launchbay_model_registered", "launchbay_model_promoted",
    ]


def test_builtins_register_through_the_same_hooks():
    manager = new_manager()
    assert set(manager.components("data")) >= {"synthetic", "parquet", "csv"}
    assert manager.provider("data", "synthetic") == "launchbay.data"
    assert manager.provider("model", "sklearn") == "launchbay.models"
    assert "psi" in manager.components("metric")
    assert [manager.plugins[name].origin for name in BUILTIN_PLUGINS] == ["built-in"] * len(BUILTIN_PLUGINS)


def test_plugin_config_lands_in_the_config_store(launchbay_config):
    cfg = launchbay_config("data@batch=constant", "batch.rows=5")
    assert cfg.batch.name == "constant" and cfg.batch.rows == 5 and cfg.batch.value == 1.0


def test_config_store_records_which_plugin_provides_each_config(launchbay_config):
    from hydra.core.config_store import ConfigStore

    launchbay_config()
    store = ConfigStore.instance()
    assert store.load("data/constant.yaml").provider == "testplugin"
    assert store.load("data/synthetic.yaml").provider == "launchbay.data"
    assert store.load("launchbay_schema.yaml").provider == "launchbay"
    assert "alert" not in store.repo  # alert channels are switched on by +alerts.<name>.<setting>=, not a group


def test_unknown_name_lists_available():
    with pytest.raises(PluginError, match=r"unknown metric 'nope' \(available: .*psi"):
        new_manager().component("metric", "nope")


def test_records_check_their_name_and_config():
    with pytest.raises(LaunchbayError, match=r"DataSource name 'my source' is not an identifier"):
        DataSource("my source", read=print)
    with pytest.raises(LaunchbayError, match=r"DriftMetric name '' is not an identifier"):
        DriftMetric("", compute=print, applies_to="any", threshold=1.0)
    with pytest.raises(LaunchbayError, match=r"AlertChannel 'pager': config must be a dataclass type, got \{'url': ''\}"):
        AlertChannel("pager", print, {"url": ""})
    with pytest.raises(LaunchbayError, match=r"ModelFamily 'tree': config must be a dataclass type"):
        ModelFamily("tree", build=print, config=int)


def test_a_module_or_an_entry_point_name_loads_without_autoload(modules):
    modules(my_source=SOURCE)
    manager = new_manager(["my_source", "webhook"], autoload=False)
    assert manager.provider("data", "ephemeral") == "my_source" and manager.provider("alert", "webhook") == "webhook"
    assert "constant" not in manager.components("data")  # testplugin is installed, but not loaded
    assert set(manager.plugins) == {*BUILTIN_PLUGINS, "my_source", "webhook"}


def test_a_config_hydra_cannot_take_or_an_exit_on_import_breaks_only_its_plugin(modules):
    modules(
        frozen_source="""
            from dataclasses import dataclass

            from launchbay import hookimpl
            from launchbay.components import DataSource


            @dataclass(frozen=True)
            class Frozen:
                path: str = "x"


            @hookimpl
            def launchbay_data_sources():
                return [DataSource("frozen", lambda settings: None, Frozen)]
        """,
        exits_on_import="import sys\n\nsys.exit('no')\n",
    )
    manager = new_manager(["frozen_source", "exits_on_import"], autoload=False)
    frozen, exits = manager.plugins["frozen_source"], manager.plugins["exits_on_import"]
    assert frozen.status == "broken" and frozen.reason.startswith("launchbay_data_sources returned 'frozen' with a config (Frozen) that Hydra cannot compose: ")
    assert exits.status == "broken" and exits.reason == "cannot be loaded: SystemExit: no"
    assert "frozen" not in manager.components("data") and "parquet" in manager.components("data")
    manager.store_configs()  # the rest still goes to Hydra's ConfigStore


def test_an_unimportable_module_named_by_a_run_fails_it_in_one_line():
    with pytest.raises(PluginError, match=r"^plugins.modules: plugin 'no_such_module' is broken: cannot be loaded: ModuleNotFoundError: "):
        manager_for(PluginsConfig(modules=["no_such_module"]))


def test_plugins_config_takes_the_shorthand_and_names_the_old_form(tmp_path):
    from launchbay.app import compose_args

    cfg = compose_args(["job=train", "plugins=[launchbay_webhook]", "plugins.disable=[testplugin]"])
    assert (cfg.plugins.modules, cfg.plugins.disable, cfg.plugins.autoload) == (["launchbay_webhook"], ["testplugin"], True)
    (tmp_path / "conf" / "job").mkdir(parents=True)
    (tmp_path / "conf" / "job" / "old.yaml").write_text("# @package _global_\njob:\n  name: train\nplugins: [my_module]\n")
    assert error_line(cli("run", "-cd", "conf", "job=old", cwd=tmp_path)) == (
        "launchbay: error: config: plugins: a list of modules is the old form; write plugins: {modules: [...]} (plugins=[...] overrides still work)"
    )


# --- broken plugins --------------------------------------------------------------------


def test_each_broken_plugin_is_left_out_with_its_reason(broken):
    manager = new_manager()
    reasons = {name: plugin.reason for name, plugin in manager.plugins.items() if plugin.status == "broken"}
    assert reasons == {
        "unimportable": "cannot be loaded: ModuleNotFoundError: No module named 'launchbay_no_such_dependency'",
        "misspelt": "unknown hook launchbay_drift_metricz (did you mean launchbay_drift_metrics?)",
        "raising": "launchbay_data_sources raised ValueError: no warehouse configured",
        "bare": "launchbay_drift_metrics returned a bare DriftMetric 'mean_gap': return a list, [DriftMetric(...)]",
        "unmarked": "launchbay_data_sources is not marked with @launchbay.hookimpl, so it would never be called",
        "wrong_args": "launchbay_job_started(job, colour): Argument(s) {'colour'} are declared in the hookimpl but can not be found in the hookspec",
    }
    assert all(manager.get_plugin(name) is None for name in reasons)  # none of their hooks is called
    assert manager.plugins["raising"].label == f"plugin 'raising' ({PACKAGE})"
    # the rest work: the built-ins, the installed plugins, and the usurper's own source
    assert {"constant", "usurper_rows", "parquet"} <= set(manager.components("data"))
    assert "mean_gap" not in manager.components("metric")


def test_registration_hooks_that_return_the_wrong_thing_break_their_plugin(modules):
    head = "from launchbay import hookimpl\nfrom launchbay.components import DataSource\n\n\n@hookimpl\n"
    modules(
        wrong_kind=head + "def launchbay_drift_metrics():\n    return [DataSource('x', read=print)]\n",
        not_a_list=head + "def launchbay_data_sources():\n    return {'x': DataSource('x', read=print)}\n",
        twice=head + "def launchbay_data_sources():\n    return [DataSource('x', read=print), DataSource('x', read=print)]\n",
    )
    manager = new_manager(["wrong_kind", "not_a_list", "twice"], autoload=False)
    assert {name: manager.plugins[name].reason for name in ("wrong_kind", "not_a_list", "twice")} == {
        "wrong_kind": "launchbay_drift_metrics returned a DataSource in its list, expected DriftMetric",
        "not_a_list": "launchbay_data_sources returned dict, not a list of DataSource",
        "twice": "launchbay_data_sources returned two records named 'x'",
    }
    assert "x" not in manager.components("data")


def test_a_component_of_a_plugin_broken_in_another_hook_says_so(modules):
    modules(half=SOURCE + "\n\n@hookimpl\ndef launchbay_drift_metrics():\n    raise ValueError('no metrics today')\n")
    manager = new_manager(["half"], autoload=False)
    with pytest.raises(PluginError) as raised:
        manager.component("data", "ephemeral")
    assert str(raised.value) == "data 'ephemeral' comes from plugin 'half', which is broken: launchbay_drift_metrics raised ValueError: no metrics today"


def test_a_name_two_plugins_claim_is_left_out_of_both_and_built_ins_keep_theirs(broken):
    manager = new_manager()
    assert "twin" not in manager.components("data")
    assert manager.plugins["twin_a"].status == manager.plugins["twin_b"].status == "ok"
    assert manager.plugins["twin_a"].left_out == ["data 'twin' (claimed by twin_b too)"]
    with pytest.raises(PluginError) as raised:
        manager.component("data", "twin")
    assert str(raised.value) == (
        f"data 'twin' is claimed by both plugin 'twin_a' ({PACKAGE}) and plugin 'twin_b' ({PACKAGE}), so neither provides it: "
        "disable one (plugins.disable=[twin_b] or LAUNCHBAY_DISABLE_PLUGINS=twin_b)"
    )
    assert manager.provider("sink", "parquet") == "launchbay.data"
    assert manager.plugins["usurper"].left_out == ["sink 'parquet' (built in)"]


def test_disabling_by_argument_environment_and_config(broken, monkeypatch):
    assert new_manager(disable=["twin_a"]).provider("data", "twin") == "twin_b"
    monkeypatch.setenv("LAUNCHBAY_DISABLE_PLUGINS", "twin_b, raising")
    manager = manager_for(PluginsConfig(disable=["unimportable"]))
    assert manager.provider("data", "twin") == "twin_a"
    assert {name for name, p in manager.plugins.items() if p.status == "disabled"} == {"twin_b", "raising", "unimportable"}
    assert current_manager().provider("data", "twin") == "twin_a"  # outside a run too
    with pytest.raises(PluginError, match=r"^plugins.disable: plugin 'launchbay.data' is built in and cannot be disabled$"):
        manager_for(PluginsConfig(disable=["launchbay.data"]))


def test_autoload_off_loads_only_built_ins_and_named_modules(broken, monkeypatch):
    monkeypatch.setenv("LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert set(manager_for().plugins) == set(BUILTIN_PLUGINS)
    assert set(manager_for(PluginsConfig(modules=["twin_a"])).plugins) == {*BUILTIN_PLUGINS, "twin_a"}
    monkeypatch.delenv("LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD")
    assert set(manager_for(PluginsConfig(autoload=False)).plugins) == set(BUILTIN_PLUGINS)


def test_plugins_list_shows_broken_disabled_and_hooks_and_fails_only_when_strict(broken_site, tmp_path):
    listed = launchbay_main("plugins", "list", cwd=tmp_path, path=broken_site, LAUNCHBAY_DISABLE_PLUGINS="twin_b")
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    rows = table_rows(listed.stdout)
    assert "broken: launchbay_data_sources raised ValueError: no warehouse configured" in rows["raising"]
    assert "disabled" in rows["twin_b"] and PACKAGE in rows["twin_b"]
    assert "ok" in rows["testplugin"] and "job_started" in rows["testplugin"] and "data: constant" in rows["testplugin"]
    as_json = {p["name"]: p for p in json.loads(launchbay_main("plugins", "list", "--json", cwd=tmp_path, path=broken_site).stdout)}
    assert as_json["misspelt"]["status"] == "broken" and as_json["misspelt"]["package"] == PACKAGE
    assert as_json["usurper"]["provides"] == {"data": ["usurper_rows"]} and as_json["usurper"]["left_out"] == ["sink 'parquet' (built in)"]
    assert as_json["testplugin"]["hooks"][0] == "launchbay_job_started"
    strict = cli("plugins", "list", "--strict", cwd=tmp_path, path=broken_site)
    assert error_line(strict) == (
        "launchbay: error: plugins list --strict: 9 plugin(s) broken or left out of a name: "
        "bare, misspelt, raising, twin_a, twin_b, unimportable, unmarked, usurper, wrong_args"
    )
    assert launchbay_main("plugins", "list", "--strict", cwd=tmp_path).returncode == 0


def test_a_job_that_selects_a_broken_or_clashing_plugin_fails_in_one_line(broken_site, tmp_path):
    twin = cli("run", "job=train", "data=twin", cwd=tmp_path, path=broken_site)
    assert error_line(twin) == (
        f"launchbay: error: config: data 'twin' is claimed by both plugin 'twin_a' ({PACKAGE}) and plugin 'twin_b' ({PACKAGE}), "
        "so neither provides it: disable one (plugins.disable=[twin_b] or LAUNCHBAY_DISABLE_PLUGINS=twin_b)"
    )
    warnings = [line for line in twin.stderr.splitlines() if line.startswith("launchbay: warning:")]
    raising = "launchbay_data_sources raised ValueError: no warehouse configured"
    assert f"launchbay: warning: plugin 'raising' ({PACKAGE}) is broken and left out: {raising}" in warnings
    assert len(warnings) == len(set(warnings)) == 9  # each once, though the run built its managers twice
    only_raising = cli("run", "job=train", "data=warehouse", cwd=tmp_path, path=broken_site, LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD="1")
    assert error_line(only_raising).startswith("launchbay: error: config: Could not find 'data/warehouse' (available: ")
    named = cli("run", "job=train", "data=warehouse", "plugins=[raising]", cwd=tmp_path, path=broken_site, LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD="1")
    assert error_line(named) == (
        f"launchbay: error: plugins.modules: plugin 'raising' ({PACKAGE}) is broken: launchbay_data_sources raised ValueError: no warehouse configured"
    )
    others = "bare,misspelt,unimportable,unmarked,wrong_args"
    alert = cli("run", "job=train", "+alerts.pager.url=x", cwd=tmp_path, path=broken_site, LAUNCHBAY_DISABLE_PLUGINS=others)
    assert error_line(alert) == (
        "launchbay: error: alerts.pager: unknown alert 'pager' (available: console, jsonl, webhook); "
        f"broken: plugin 'raising' ({PACKAGE}): launchbay_data_sources raised ValueError: no warehouse configured; "
        "disabled: bare, misspelt, unimportable, unmarked, wrong_args"
    )
    disabled = cli("run", "--cfg", "job", "data=twin", "plugins.disable=[twin_a]", cwd=tmp_path, path=broken_site)
    assert disabled.returncode == 0 and "name: twin" in disabled.stdout, disabled.stderr


def test_a_job_that_does_not_use_broken_plugins_runs_and_a_failing_observer_is_a_warning(broken_site, tmp_path):
    (tmp_path / "finish_fails.py").write_text(failing("launchbay_job_finished"))
    out = cli("run", *TRAIN, "plugins=[finish_fails]", cwd=tmp_path, path=broken_site)
    assert out.returncode == 0, out.stderr
    hook = "plugin 'finish_fails' failed in launchbay_job_finished: RuntimeError: job_finished broke; the run's outputs stand"
    assert f"warning: {hook}" in out.stderr and "finished with 2 warning(s)" in out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("launchbay: warning:")]
    assert len(warnings) == len(set(warnings)) == 9
    promoted = f"plugin 'loud' ({PACKAGE}) failed in launchbay_model_promoted: RuntimeError: cannot tell anyone that champion is v1"
    [summary] = tmp_path.glob("runs/*/*/summary.json")
    assert json.loads(summary.read_text())["warnings"] == [f"{promoted}; the run's outputs stand", hook]
    assert (tmp_path / ".launchbay/registry/demo/1").is_dir()
    by_hand = launchbay_main("models", "promote", "demo", "1", "--alias", "stable", cwd=tmp_path, path=broken_site)
    assert by_hand.returncode == 0, by_hand.stderr
    assert f"launchbay: warning: {promoted.replace('champion', 'stable')}; stable is v1 all the same" in by_hand.stderr.splitlines()


# --- a manager per run ---------------------------------------------------------------------


def test_runs_do_not_leak_plugins_into_each_other_and_observers_fail_as_warnings(ray_session, modules):
    from launchbay_testplugin import EVENTS

    home = modules(ephemeral_source=SOURCE, observer=OBSERVER, observer_fails=failing("launchbay_model_registered", "launchbay_job_finished"))
    before = len(EVENTS)
    summary = launchbay.run([*TRAIN, "data=ephemeral", "plugins=[ephemeral_source,observer,observer_fails]"])
    expected = [
        "plugin 'observer_fails' failed in launchbay_model_registered: RuntimeError: model_registered broke; the run's outputs stand",
        "plugin 'observer_fails' failed in launchbay_job_finished: RuntimeError: job_finished broke; the run's outputs stand",
    ]
    assert summary["warnings"] == expected
    assert json.loads(Path(summary["run_dir"], "summary.json").read_text())["warnings"] == expected
    assert summary["model"]["version"] == 1
    # implementations that take fewer arguments than the spec are called with those they name
    assert events(home) == [["started", "train"], ["registered", 1], ["finished", "train"]]
    assert EVENTS[before:] == [("started", "train"), ("registered", "demo:1"), ("promoted", "demo:champion:1"), ("finished", "train")]
    with pytest.raises(LaunchbayError, match=r"^config: Could not find 'data/ephemeral' \(available: "):
        launchbay.run([*TRAIN, "data=ephemeral"])  # the previous run's config of that source is gone
    assert "ephemeral" not in current_manager().components("data") and current_manager().get_plugin("observer") is None


def test_a_failing_job_started_fails_the_run_before_any_work_and_job_failed_hears_of_it(modules):
    home = modules(observer=OBSERVER, start_fails=failing("launchbay_job_started"))
    with pytest.raises(LaunchbayError) as raised:
        launchbay.run([*TRAIN, "plugins=[observer,start_fails]"])
    line = "plugin 'start_fails' failed in launchbay_job_started: RuntimeError: job_started broke"
    assert str(raised.value).startswith(line)
    assert events(home) == [["started", "train"], ["failed", str(raised.value)]]
    assert not (home / ".launchbay").exists()


def test_job_failed_hears_of_a_failing_job_and_its_own_failure_is_a_warning(ray_session, modules, capfd):
    home = modules(observer=OBSERVER, failed_fails=failing("launchbay_job_failed"))
    with pytest.raises(LaunchbayError, match=r"^registry: ") as raised:
        launchbay.run(["job=score", "plugins=[observer,failed_fails]"])  # no model to score with
    assert events(home) == [["started", "score"], ["failed", str(raised.value)]]
    assert "warning: plugin 'failed_fails' failed in launchbay_job_failed: RuntimeError: job_failed broke" in capfd.readouterr().err


def test_a_source_that_raises_is_one_line_naming_the_node_and_the_component(ray_session, modules):
    modules(flaky=SOURCE.replace("    import ray.data\n", "    raise FileNotFoundError(2, 'No such file', '/data/missing.csv')\n"))
    with pytest.raises(LaunchbayError) as raised:
        launchbay.run([*TRAIN, "data=ephemeral", "plugins=[flaky]"])
    assert str(raised.value) == "data (source 'ephemeral' of plugin flaky): FileNotFoundError: [Errno 2] No such file: '/data/missing.csv'"


def test_scoring_observers_fail_as_warnings_and_a_raising_sink_is_one_line(ray_session, modules):
    sink = (
        "from launchbay import hookimpl\nfrom launchbay.components import DataSink\n\n\n"
        "def write(ds, path, cfg, filesystem):\n    raise OSError(28, 'No space left on device')\n\n\n"
        "@hookimpl\ndef launchbay_data_sinks():\n    return [DataSink('full', write)]\n"
    )
    modules(ephemeral_source=SOURCE, full_disk=sink, score_observer_fails=failing("launchbay_batch_scored", "launchbay_drift_detected"))
    launchbay.run([*TRAIN, "data=ephemeral", "plugins=[ephemeral_source]"])
    scored = launchbay.run(["job=score", "data@batch=ephemeral", "batch.shift=40", "plugins=[ephemeral_source,score_observer_fails]"])
    assert scored["scores"]["rows"] == 200 and scored["drift"]["drifted_features"]
    assert scored["warnings"] == [
        f"plugin 'score_observer_fails' failed in launchbay_{hook}: RuntimeError: {hook} broke; the run's outputs stand"
        for hook in ("batch_scored", "drift_detected")
    ]
    with pytest.raises(LaunchbayError) as raised:
        launchbay.run(["job=score", "data@batch=ephemeral", "sink=full", "score.drift=false", "plugins=[ephemeral_source,full_disk]"])
    assert str(raised.value).endswith("sink (sink 'full' of plugin full_disk): OSError: [Errno 28] No space left on device")


def test_a_source_of_one_row_blocks_is_scored_in_bundles(ray_session, modules):
    """``from_items`` gives each of these 200 rows a block of its own; the scoring pass bundles
    blocks, so the ids it counts as repeated within a piece span blocks (each id is here twice)."""
    tiny = SOURCE.replace('"row_id": i,', '"row_id": i % 100,').replace('DataSource("ephemeral"', 'DataSource("tiny_blocks"')
    modules(ephemeral_source=SOURCE, tiny_blocks_source=tiny)
    launchbay.run([*TRAIN, "data=ephemeral", "plugins=[ephemeral_source]"])
    scored = launchbay.run(["job=score", "data@batch=tiny_blocks", "score.drift=false", "plugins=[tiny_blocks_source]"])
    assert scored["scores"]["rows"] == 200 and scored["scores"]["repeated_ids"] == 100


# --- the hook contract -------------------------------------------------------------------


def test_run_help_lists_no_alert_group(tmp_path):
    shown = launchbay_main("run", "--help", cwd=tmp_path)
    groups = shown.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    # installed plugins add their options (make test installs plugins/*: sink: duckdb, parquet)
    assert shown.returncode == 0 and re.search(r"^data: .*constant.*synthetic$", groups, re.M) and re.search(r"^sink: (.*, )?parquet\b", groups, re.M)
    assert "alert" not in groups


def test_every_hook_says_since_when_and_is_a_registration_lifecycle_or_query_hook():
    specs = [name for name, fn in vars(hookspecs).items() if name.startswith("launchbay_") and callable(fn)]
    assert sorted(specs) == sorted([*REGISTRATION_HOOKS, *LIFECYCLE_HOOKS, *QUERY_HOOKS])
    since = dict.fromkeys(specs, "0.1") | {"launchbay_model_attributions": "0.2"}
    for name in specs:
        assert re.search(rf"Since {re.escape(since[name])}\.", inspect.getdoc(getattr(hookspecs, name)) or ""), name


def test_the_readme_example_plugin_installs_and_runs(ray_session, in_tmp, monkeypatch):
    """plugins/README.md's smallest plugin, extracted, pip-installed and used as its README says."""
    readme = (Path(__file__).parents[1] / "plugins" / "README.md").read_text()
    toml, python = (re.search(rf"```{lang}\n(.*?)```", readme, re.S).group(1) for lang in ("toml", "python"))
    package = in_tmp / "launchbay-mysource"
    (package / "src" / "launchbay_mysource").mkdir(parents=True)
    (package / "pyproject.toml").write_text(toml)
    (package / "src" / "launchbay_mysource" / "__init__.py").write_text(python)
    site = in_tmp / "site"
    pip_install(site, package)
    monkeypatch.syspath_prepend(str(site))
    (in_tmp / "events.jsonl").write_text("".join(json.dumps({"row_id": i, "amount": i % 7 * 1.5, "label": i % 2}) + "\n" for i in range(300)))
    summary = launchbay.run(["job=train", "data=mysource", "data.path=events.jsonl", "data.limit=250"])
    from launchbay.registry import Registry

    meta = Registry(".launchbay/registry").get("demo", summary["model"]["version"]).meta
    assert meta["data"] == {**meta["data"], "source": "mysource", "rows": 250} and meta["model_plugin"] == {"launchbay.models": launchbay.__version__}
    with pytest.raises(LaunchbayError, match=r"^config: data.limit: Value 'seven' of type 'str' could not be converted to Integer"):
        launchbay.run(["job=train", "data=mysource", "data.limit=seven"])
