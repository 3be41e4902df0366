"""Plugin discovery through real entry points, clashes, unknown names, broken plugins."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from launchbay import hookimpl
from launchbay.components import AlertChannel, DataSource, DriftMetric, ModelFamily
from launchbay.errors import LaunchbayError
from launchbay.plugins import BUILTIN_PLUGINS, PluginError, PluginManager, get_manager


def fresh_manager(*plugins: object) -> PluginManager:
    manager = PluginManager()
    for module in BUILTIN_PLUGINS:
        manager.load_module(module)
    for i, plugin in enumerate(plugins):
        manager.register(plugin, name=f"extra{i}")
    return manager


def plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_third_party_plugin_found_through_entry_point():
    manager = get_manager()
    assert manager.provider("data", "constant") == "testplugin"
    assert manager.plugin_version("testplugin") == "0.0.7"
    assert manager.component("data", "constant").config.__name__ == "ConstantConfig"


def test_builtins_register_through_the_same_hooks():
    manager = get_manager()
    assert set(manager.components("data")) >= {"synthetic", "parquet", "csv"}
    assert manager.provider("data", "synthetic") == "launchbay.data"
    assert manager.provider("model", "sklearn") == "launchbay.models"
    assert "psi" in manager.components("metric")


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


def test_name_claimed_twice_names_both_plugins():
    clash = plugin(launchbay_data_sources=lambda: [DataSource("parquet", read=lambda cfg: None)])
    with pytest.raises(PluginError, match=r"data 'parquet' is provided by both 'launchbay.data' and 'extra0'"):
        fresh_manager(clash).components("data")


def test_unknown_name_lists_available():
    with pytest.raises(PluginError, match=r"unknown metric 'nope' \(available: .*psi"):
        get_manager().component("metric", "nope")


def test_broken_plugin_names_itself():
    def broken():
        raise ValueError("boom")

    with pytest.raises(PluginError, match=r"plugin 'extra0' failed in launchbay_drift_metrics: boom"):
        fresh_manager(plugin(launchbay_drift_metrics=broken)).components("metric")


def test_wrong_record_type_is_rejected():
    wrong = plugin(launchbay_drift_metrics=lambda: [DataSource("x", read=print)])
    with pytest.raises(PluginError, match="expected DriftMetric"):
        fresh_manager(wrong).components("metric")


def test_records_check_their_name_and_config():
    with pytest.raises(LaunchbayError, match=r"DataSource name 'my source' is not an identifier"):
        DataSource("my source", read=print)
    with pytest.raises(LaunchbayError, match=r"DriftMetric name '' is not an identifier"):
        DriftMetric("", compute=print, applies_to="any", threshold=1.0)
    with pytest.raises(LaunchbayError, match=r"AlertChannel 'pager': config must be a dataclass type, got \{'url': ''\}"):
        AlertChannel("pager", print, {"url": ""})
    with pytest.raises(LaunchbayError, match=r"ModelFamily 'tree': config must be a dataclass type"):
        ModelFamily("tree", build=print, config=int)


def test_unimportable_config_plugin_is_one_line():
    with pytest.raises(PluginError, match="plugin module 'no_such_module' cannot be imported"):
        fresh_manager().load_module("no_such_module")


def test_third_party_metric_is_usable():
    metric = DriftMetric("always", compute=lambda ref, cur: None, applies_to="any", threshold=1.0)
    manager = fresh_manager(plugin(launchbay_drift_metrics=lambda: [metric]))
    assert manager.component("metric", "always") is metric


def test_cli_plugins_list_shows_plugins_versions_components():
    out = subprocess.run([sys.executable, "-m", "launchbay", "plugins", "list"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for text in ("launchbay.data", "testplugin", "0.0.7", "constant", "webhook", "synthetic"):
        assert text in out.stdout
