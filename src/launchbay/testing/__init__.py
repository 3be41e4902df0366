"""The plugin authors' testing kit: helpers here, pytest fixtures in ``launchbay.testing.plugin``.

The fixtures come with launchbay as a pytest plugin (entry point ``pytest11``), so every
test session where launchbay is installed has them: ``launchbay_ray``, ``launchbay_config``,
``launchbay_plugins``, ``launchbay_synthetic`` and ``launchbay_run``. Importing the kit is
cheap: Ray, Hydra and pandas load inside the fixtures and helpers that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchbay.errors import LaunchbayError, one_line

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from launchbay.plugins import PluginManager

__all__ = ["RunFailed", "assert_composes", "assert_registered", "compose", "plugin_manager"]

# Hooks a lifecycle plugin implements, for ``assert_registered("lifecycle", <hook>)``.
LIFECYCLE = "lifecycle"


class RunFailed(LaunchbayError):
    """A job run by ``launchbay_run`` failed; the message is the line ``launchbay run`` prints."""


def compose(*overrides: str) -> DictConfig:
    """The config ``launchbay run <overrides>`` runs, plugins of ``plugins=[...]`` loaded and every
    setting checked; a ``LaunchbayError`` with the line ``launchbay run`` would print if it does not compose."""
    from omegaconf import open_dict

    from launchbay.app import compose_args, prepare
    from launchbay.context import validate
    from launchbay.plugins import load_config_plugins

    prepare(list(overrides))
    cfg = compose_args(list(overrides))
    with open_dict(cfg):
        del cfg["hydra"]
    validate(cfg, load_config_plugins(list(cfg.plugins)))
    return cfg


def assert_composes(*overrides: str) -> DictConfig:
    """Assert that ``launchbay run <overrides>`` composes and passes its checks; returns the config."""
    __tracebackhide__ = True
    try:
        return compose(*overrides)
    except LaunchbayError as exc:
        raise AssertionError(f"launchbay run {' '.join(overrides)} does not compose: {one_line(exc)}") from None


def plugin_manager(*names: str, autoload: bool = False) -> PluginManager:
    """A fresh plugin manager: the built-ins, the plugins ``names`` (entry-point names or module
    paths) and, with ``autoload``, every installed entry point. Its configs are in Hydra's store."""
    from launchbay.plugins import BUILTIN_PLUGINS, ENTRY_POINT_GROUP, PluginManager

    manager = PluginManager()
    for module in BUILTIN_PLUGINS:
        manager.load_module(module)
    if autoload:
        manager.load_entry_points()
    for name in names:
        if manager.get_plugin(name) is None and not manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name):
            manager.load_module(name)
    manager.store_configs()
    return manager


def assert_registered(kind: str, name: str, plugin: str | None = None, manager: PluginManager | None = None) -> None:
    """Assert that ``manager`` (default: the one ``launchbay run`` uses) has component ``name`` of
    ``kind`` (data, sink, model, metric, alert), provided by ``plugin`` when given.

    ``kind="lifecycle"``: ``name`` is a lifecycle hook (``launchbay_job_finished``) that
    ``plugin`` (or any plugin) implements.
    """
    __tracebackhide__ = True
    from launchbay.plugins import KINDS, get_manager

    manager = manager or get_manager()
    plugins = ", ".join(sorted(str(n) for n, _ in manager.list_name_plugin()))
    if kind == LIFECYCLE:
        caller = getattr(manager.hook, name, None)
        if caller is None:
            raise AssertionError(f"no hook '{name}' in launchbay's hookspecs")
        implementers = sorted(impl.plugin_name for impl in caller.get_hookimpls())
        if plugin is None and not implementers:
            raise AssertionError(f"no plugin implements {name} (plugins: {plugins})")
        if plugin is not None and plugin not in implementers:
            raise AssertionError(f"'{plugin}' does not implement {name} (implemented by: {', '.join(implementers) or 'none'}; plugins: {plugins})")
        return
    if kind not in KINDS:
        raise AssertionError(f"unknown kind '{kind}' (kinds: {', '.join([*KINDS, LIFECYCLE])})")
    catalogue = manager.catalogue[kind]
    if name not in catalogue:
        have = ", ".join(sorted(catalogue)) or "none"
        raise AssertionError(f"no {kind} '{name}' registered ({kind}s: {have}; plugins: {plugins})")
    provider = catalogue[name][1]
    if plugin is not None and provider != plugin:
        raise AssertionError(f"{kind} '{name}' is provided by '{provider}', not by '{plugin}'")
