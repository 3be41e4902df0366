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
    """The config ``launchbay run <overrides>`` composes (without Hydra's own node); a
    ``LaunchbayError`` with the line ``launchbay run`` would print if it does not compose."""
    from omegaconf import open_dict

    from launchbay.app import compose_args

    cfg = compose_args(list(overrides))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def assert_composes(*overrides: str) -> DictConfig:
    """Assert that ``launchbay run <overrides>`` composes and that its settings pass the checks a run
    makes before any work (types, ranges, components and metrics named); returns the config."""
    __tracebackhide__ = True
    from launchbay.context import validate
    from launchbay.plugins import manager_for, plugin_settings

    try:
        cfg = compose(*overrides)
        validate(cfg, manager_for(plugin_settings(cfg.plugins)))
    except LaunchbayError as exc:
        raise AssertionError(f"launchbay run {' '.join(overrides)} does not compose: {one_line(exc)}") from None
    return cfg


def plugin_manager(*names: str, autoload: bool = False) -> PluginManager:
    """A fresh plugin manager: the built-ins, the plugins ``names`` (entry-point names or module
    paths) and, with ``autoload``, every installed entry point; a ``PluginError`` if a named one is broken."""
    from launchbay.plugins import new_manager

    manager = new_manager(names, autoload=autoload)
    manager.require(names, "launchbay_plugins")
    return manager


def assert_registered(kind: str, name: str, plugin: str | None = None, manager: PluginManager | None = None) -> None:
    """Assert that ``manager`` (default: the one ``launchbay run`` would use) has component ``name``
    of ``kind`` (data, sink, model, metric, alert), provided by ``plugin`` when given.

    ``kind="lifecycle"``: ``name`` is a lifecycle hook (``launchbay_job_finished``) that
    ``plugin`` (or, without it, any plugin) implements.
    """
    __tracebackhide__ = True
    from launchbay.plugins import KINDS, LIFECYCLE_HOOKS, current_manager

    manager = manager or current_manager()
    if plugin is not None and (state := plugin_state(manager, plugin)):
        raise AssertionError(f"{kind} '{name}': {state}")
    if kind == LIFECYCLE:
        if name not in LIFECYCLE_HOOKS:
            raise AssertionError(f"'{name}' is not a lifecycle hook (hooks: {', '.join(LIFECYCLE_HOOKS)})")
        implementers = [p for p in manager.plugins if name in manager.lifecycle_hooks(p)]
        if plugin is None and not implementers:
            raise AssertionError(f"no plugin implements {name} (plugins: {', '.join(manager.plugins)})")
        if plugin is not None and plugin not in implementers:
            raise AssertionError(f"plugin '{plugin}' does not implement {name} (it implements: {', '.join(manager.lifecycle_hooks(plugin)) or 'none'})")
        return
    if kind not in KINDS:
        raise AssertionError(f"unknown kind '{kind}' (kinds: {', '.join([*KINDS, LIFECYCLE])})")
    if name not in manager.catalogue[kind]:
        raise AssertionError(manager.missing(kind, name))
    provider = manager.provider(kind, name)
    if plugin is not None and provider != plugin:
        raise AssertionError(f"{kind} '{name}' is provided by plugin '{provider}', not by '{plugin}'")


def plugin_state(manager: PluginManager, name: str) -> str | None:
    """Why plugin ``name`` is not working in ``manager`` (not loaded, broken, disabled), or None."""
    found = manager.plugins.get(name)
    if found is None:
        return f"plugin '{name}' is not loaded (plugins: {', '.join(manager.plugins)})"
    if found.status != "ok":
        return f"{found.label} is {found.status}" + (f": {found.reason}" if found.reason else "")
    return None
