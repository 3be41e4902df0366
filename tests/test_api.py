"""The public API pinned: each public module's ``__all__``, the hooks' arguments and the records'
fields equal the lists written here and in docs/api.md; the names deprecated since 0.1.0 still
work as they did, warn what replaces them, and nothing of launchbay's own uses them."""

from __future__ import annotations

import dataclasses
import importlib
import re
import textwrap
import tomllib
import warnings
from pathlib import Path

import pytest

import launchbay
from launchbay import components, hookspecs
from launchbay.deprecation import REMOVED_IN
from launchbay.plugins import PluginManager, PluginsConfig, current_manager, new_manager, use_manager

ROOT = Path(__file__).parents[1]
API_DOC = ROOT / "docs" / "api.md"

PUBLIC = {
    "launchbay": ["hookimpl", "run", "__version__"],
    "launchbay.drift": [
        "MonitorConfig", "compare", "build_reference", "sketch", "merge", "DatasetProfile", "FeatureProfile", "sketch_dataset", "DriftResult", "MetricRow",
    ],
    "launchbay.plugins": [
        "BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "KINDS", "LIFECYCLE_HOOKS", "QUERY_HOOKS", "REGISTRATION_HOOKS", "REQUIRES_ENV", "HookFailure", "Plugin",
        "PluginError", "PluginManager", "PluginsConfig", "current_manager", "hinted", "manager_for", "new_manager", "plugin_settings", "require_packages",
        "use_manager", "warn_once",
    ],
    "launchbay.testing": ["RunFailed", "assert_composes", "assert_registered", "compose", "plugin_manager"],
    "launchbay.testing.plugin": ["launchbay_config", "launchbay_plugins", "launchbay_ray", "launchbay_run", "launchbay_synthetic"],
    "launchbay.hookspecs": ["hookimpl", "hookspec", *[
        "launchbay_data_sources", "launchbay_data_sinks", "launchbay_model_families", "launchbay_drift_metrics", "launchbay_alert_channels",
        "launchbay_job_started", "launchbay_job_finished", "launchbay_job_failed", "launchbay_model_registered", "launchbay_model_promoted",
        "launchbay_batch_scored", "launchbay_drift_detected", "launchbay_model_attributions",
    ]],
    "launchbay.components": ["Alert", "AlertChannel", "Component", "DataSink", "DataSource", "DriftMetric", "MetricValue", "ModelFamily", "NoConfig"],
}

HOOKS = {
    "launchbay_data_sources": [],
    "launchbay_data_sinks": [],
    "launchbay_model_families": [],
    "launchbay_drift_metrics": [],
    "launchbay_alert_channels": [],
    "launchbay_job_started": ["job", "run_id", "config"],
    "launchbay_job_finished": ["job", "run_id", "summary"],
    "launchbay_job_failed": ["job", "run_id", "error"],
    "launchbay_model_registered": ["model", "version", "metrics", "uri"],
    "launchbay_model_promoted": ["model", "alias", "version", "reason"],
    "launchbay_batch_scored": ["run_id", "rows", "output"],
    "launchbay_drift_detected": ["alert"],
    "launchbay_model_attributions": ["family", "model", "frame"],
}

# In order: a record's positional arguments.
RECORDS = {
    "Component": ["name"],
    "DataSource": ["name", "read", "config", "description", "fragments"],
    "DataSink": ["name", "write", "config", "description", "write_part", "commit"],
    "ModelFamily": ["name", "build", "config", "description", "num_gpus"],
    "DriftMetric": ["name", "compute", "applies_to", "threshold", "drift_when", "description", "min_rows"],
    "AlertChannel": ["name", "send", "config", "description"],
    "MetricValue": ["value", "p_value", "undefined"],
    "Alert": ["run_id", "run_dir", "model", "model_version", "drifted_features", "share_drifted", "report_path", "summary", "performance", "candidate"],
    "NoConfig": [],
}

# Deprecated name (as its warning and docs/api.md name it) -> what replaces it (the start of the
# warning's "use ..."), the text of launchbay's own that would be a use of it, and the files that define it.
DEPRECATED = {
    "launchbay.plugins.get_manager()": ("launchbay.plugins.current_manager()", r"\bget_manager\b", ["plugins/deprecated.py", "plugins/__init__.py"]),
    "launchbay.plugins.get_manager.cache_clear()": ("launchbay.plugins.new_manager()", r"get_manager\.cache_clear\b", ["plugins/deprecated.py"]),
    "launchbay.plugins.load_config_plugins()": (
        "launchbay.plugins.manager_for(PluginsConfig(modules=[...]))", r"\bload_config_plugins\b", ["plugins/deprecated.py", "plugins/__init__.py"],
    ),
    "launchbay.plugins.named_config()": (
        "PluginManager.store_configs()", r"launchbay\.plugins import[^\n]*\bnamed_config\b|plugins\.named_config\b", ["plugins/deprecated.py"],
    ),
    "launchbay.plugins.PluginManager.load_entry_points()": ("launchbay.plugins.new_manager()", r"\.load_entry_points\(", ["plugins/manager.py"]),
    "launchbay.components.ComponentKind": ("str, one of launchbay.plugins.KINDS", r"\bComponentKind\b", ["components.py"]),
}


def documented() -> dict[str, dict[str, list[str] | None]]:
    """docs/api.md's sections: heading -> each listed name -> its arguments (None where it lists none)."""
    sections: dict[str, dict[str, list[str] | None]] = {}
    heading = ""
    for line in API_DOC.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip("` ")
            sections[heading] = {}
        elif heading and (item := re.match(r"- `([\w.]+)(?:\(([^)]*)\))?", line)):
            name, args = item.groups()
            sections[heading][name] = None if args is None else [arg.strip() for arg in args.split(",") if arg.strip()]
    return sections


def deprecation_of(call) -> str:
    """The message of the one DeprecationWarning that ``call()`` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1, [str(w.message) for w in deprecations]
    assert deprecations[0].filename == __file__  # told on behalf of the caller
    return str(deprecations[0].message)


@pytest.mark.parametrize("module", PUBLIC)
def test_all_is_the_pinned_surface(module):
    loaded = importlib.import_module(module)
    assert list(loaded.__all__) == PUBLIC[module]
    for name in PUBLIC[module]:
        getattr(loaded, name)


def test_hooks_take_the_pinned_arguments():
    specs = PluginManager().hook
    assert sorted(name for name in vars(hookspecs) if name.startswith("launchbay_")) == sorted(HOOKS)
    assert {name: list(getattr(specs, name).spec.argnames) for name in HOOKS} == HOOKS


def test_records_have_the_pinned_fields():
    assert {name: [f.name for f in dataclasses.fields(getattr(components, name))] for name in RECORDS} == RECORDS


def test_docs_list_exactly_the_pinned_surface():
    sections = documented()
    for module, names in PUBLIC.items():
        assert sorted(sections[module]) == sorted(names), module
    assert {name: sections["launchbay.hookspecs"][name] for name in HOOKS} == HOOKS
    assert {name: sections["launchbay.components"][name] for name in RECORDS} == RECORDS
    assert sorted(sections["Deprecated"]) == sorted(name.removesuffix("()") for name in DEPRECATED)
    assert f"removed in {REMOVED_IN}" in API_DOC.read_text()


def test_deprecations_end_in_the_next_minor_release():
    major, minor, _ = (int(part) for part in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"].split("."))
    assert REMOVED_IN == f"{major}.{minor + 1}.0"
    assert launchbay.__version__.startswith(f"{major}.{minor}.")


@pytest.mark.parametrize("name", DEPRECATED)
def test_deprecated_name_warns_with_its_replacement(name):
    calls = {
        "launchbay.plugins.get_manager()": lambda: importlib.import_module("launchbay.plugins").get_manager(),
        "launchbay.plugins.get_manager.cache_clear()": lambda: importlib.import_module("launchbay.plugins").get_manager.cache_clear(),
        "launchbay.plugins.load_config_plugins()": lambda: importlib.import_module("launchbay.plugins").load_config_plugins([]),
        "launchbay.plugins.named_config()": lambda: importlib.import_module("launchbay.plugins").named_config(components.NoConfig, "none"),
        "launchbay.plugins.PluginManager.load_entry_points()": lambda: new_manager(autoload=False).load_entry_points(),
        "launchbay.components.ComponentKind": lambda: components.ComponentKind,
    }
    replacement = DEPRECATED[name][0]
    assert deprecation_of(calls[name]).startswith(f"{name} is deprecated and will be removed in launchbay {REMOVED_IN}: use {replacement}")


def test_get_manager_and_cache_clear_work_as_in_0_1(test_plugin):
    """A plugin's conftest of 0.1.0: ``get_manager.cache_clear()`` once its plugin is installed,
    then ``get_manager()`` finds it; a cleared manager is built afresh, and kept until the next clear."""
    from launchbay.plugins import get_manager

    with pytest.deprecated_call():
        before = get_manager()
        get_manager.cache_clear()
        fresh = get_manager()
        assert fresh is not before and get_manager() is fresh is current_manager()
        assert fresh.provider("data", "constant") == "testplugin"
        run_own = new_manager(autoload=False)
        with use_manager(run_own):
            assert get_manager() is run_own


def test_load_config_plugins_works_as_in_0_1(tmp_path, monkeypatch):
    """The manager outside a run with the module loaded, its source composing as ``data=<name>``."""
    from hydra.core.config_store import ConfigStore

    from launchbay.plugins import load_config_plugins

    (tmp_path / "api_probe_source.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass

        import launchbay
        from launchbay.components import DataSource

        @dataclass
        class ProbeConfig:
            rows: int = 3

        @launchbay.hookimpl
        def launchbay_data_sources():
            return [DataSource("api_probe", read=lambda cfg: None, config=ProbeConfig)]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.deprecated_call():
        manager = load_config_plugins(["api_probe_source"])
    assert current_manager() is manager and manager.provider("data", "api_probe") == "api_probe_source"
    assert "api_probe.yaml" in ConfigStore.instance().repo["data"]


def test_named_config_and_component_kind_work_as_in_0_1():
    from launchbay.plugins import named_config

    with pytest.deprecated_call():
        named = named_config(PluginsConfig, "mine")
        assert named().name == "mine" and named().autoload is True
        assert components.ComponentKind.__args__ == ("data", "sink", "model", "metric", "alert")


def test_load_entry_points_adds_the_installed_plugins_once(test_plugin):
    manager = new_manager(autoload=False)
    assert "testplugin" not in manager.plugins
    with pytest.deprecated_call():
        manager.load_entry_points()
        manager.load_entry_points()
    assert manager.provider("data", "constant") == "testplugin"
    assert manager.problems() == new_manager().problems()  # settling twice repeats no left-out name


def test_launchbay_uses_no_deprecated_name():
    """launchbay's own code, its first-party plugins and the scaffold's templates use the names that replace the deprecated ones."""
    package = ROOT / "src" / "launchbay"
    files = [*package.rglob("*.py"), *package.rglob("*.tmpl"), *(ROOT / "plugins").rglob("*.py"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]
    for name, (_, use, defined_in) in DEPRECATED.items():
        users = [str(path.relative_to(ROOT)) for path in files if path != API_DOC and re.search(use, path.read_text())]
        assert sorted(users) == sorted(f"src/launchbay/{path}" for path in defined_in), name
