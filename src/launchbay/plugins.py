"""The plugin manager: built-ins, ``launchbay`` entry points and ``plugins=[...]`` from config.

Components are collected from the registration hooks once, checked for clashes, and
their dataclass configs stored in Hydra's ConfigStore (``data/<name>``, ``model/<name>``,
``sink/<name>``, ``alert/<name>``), so third-party components compose like built-ins.
"""

from __future__ import annotations

import dataclasses
import importlib
from functools import cache
from importlib import metadata
from typing import Literal, cast, overload

import pluggy

from launchbay import hookspecs
from launchbay.components import AlertChannel, Component, Configured, DataSink, DataSource, DriftMetric, ModelFamily
from launchbay.errors import LaunchbayError

ENTRY_POINT_GROUP = "launchbay"
# The plugin packages a submitted job needs (set by ``launchbay submit``, checked by ``launchbay run``).
REQUIRES_ENV = "LAUNCHBAY_REQUIRES"

BUILTIN_PLUGINS = (
    "launchbay.data",
    "launchbay.models",
    "launchbay.drift.metrics",
    "launchbay.alerts",
)

# kind -> (registration hook, record type, Hydra config group or None)
KINDS: dict[str, tuple[str, type[Component], str | None]] = {
    "data": ("launchbay_data_sources", DataSource, "data"),
    "sink": ("launchbay_data_sinks", DataSink, "sink"),
    "model": ("launchbay_model_families", ModelFamily, "model"),
    "metric": ("launchbay_drift_metrics", DriftMetric, None),
    "alert": ("launchbay_alert_channels", AlertChannel, "alert"),
}


class PluginError(LaunchbayError):
    """A plugin is broken, clashes with another, or a name in the config is unknown."""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus a component catalogue, one per kind."""

    def __init__(self) -> None:
        super().__init__("launchbay")
        self.add_hookspecs(hookspecs)
        self._catalogue: dict[str, dict[str, tuple[Component, str]]] | None = None
        self._versions: dict[str, str] = {}
        self._distributions: dict[str, str] = {}

    def load_module(self, dotted: str) -> None:
        """Register a module by dotted name (built-ins and ``plugins=[...]``)."""
        if self.get_plugin(dotted) is not None:
            return
        try:
            module = importlib.import_module(dotted)
        except ImportError as exc:
            raise PluginError(f"plugin module '{dotted}' cannot be imported: {exc}") from exc
        self.register(module, name=dotted)
        self._catalogue = None

    def load_entry_points(self) -> None:
        """Register every plugin published under the ``launchbay`` entry-point group."""
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self.get_plugin(ep.name) is not None or self.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                dist = ep.dist.name if ep.dist else ep.value
                raise PluginError(f"plugin '{ep.name}' ({dist}) failed to load: {exc}") from exc
            self.register(plugin, name=ep.name)
            self._versions[ep.name] = ep.dist.version if ep.dist else "unknown"
            if ep.dist:
                self._distributions[ep.name] = ep.dist.name
        self._catalogue = None

    @property
    def catalogue(self) -> dict[str, dict[str, tuple[Component, str]]]:
        """kind -> name -> (component, name of the plugin that provides it)."""
        if self._catalogue is None:
            self._catalogue = {kind: self._collect(kind) for kind in KINDS}
        return self._catalogue

    def _collect(self, kind: str) -> dict[str, tuple[Component, str]]:
        hook_name, record_type, _ = KINDS[kind]
        found: dict[str, tuple[Component, str]] = {}
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            try:
                records = impl.function() or []
            except Exception as exc:
                raise PluginError(f"plugin '{impl.plugin_name}' failed in {hook_name}: {exc}") from exc
            for record in records:
                if not isinstance(record, record_type):
                    raise PluginError(
                        f"plugin '{impl.plugin_name}' returned {type(record).__name__} from {hook_name}, "
                        f"expected {record_type.__name__}"
                    )
                if record.name in found:
                    raise PluginError(
                        f"{kind} '{record.name}' is provided by both '{found[record.name][1]}' "
                        f"and '{impl.plugin_name}'; uninstall or block one of them"
                    )
                found[record.name] = (record, impl.plugin_name)
        return found

    def components(self, kind: str) -> dict[str, Component]:
        """All components of a kind, by name."""
        return {name: record for name, (record, _) in self.catalogue[kind].items()}

    @overload
    def component(self, kind: Literal["data"], name: str) -> DataSource: ...
    @overload
    def component(self, kind: Literal["sink"], name: str) -> DataSink: ...
    @overload
    def component(self, kind: Literal["model"], name: str) -> ModelFamily: ...
    @overload
    def component(self, kind: Literal["metric"], name: str) -> DriftMetric: ...
    @overload
    def component(self, kind: Literal["alert"], name: str) -> AlertChannel: ...

    def component(self, kind: str, name: str) -> Component:
        """The component ``name`` of ``kind``, or a one-line error listing what exists."""
        try:
            return self.catalogue[kind][name][0]
        except KeyError:
            available = ", ".join(sorted(self.catalogue[kind])) or "none"
            raise PluginError(f"unknown {kind} '{name}' (available: {available})") from None

    def provider(self, kind: str, name: str) -> str:
        """Name of the plugin that provides a component."""
        return self.catalogue[kind][name][1]

    def plugin_version(self, plugin_name: str) -> str:
        """Version of the distribution that ships a plugin (launchbay's own for built-ins)."""
        return self._versions.get(plugin_name) or metadata.version("launchbay")

    def distribution(self, plugin_name: str) -> str | None:
        """The installed package (``name==version``) that ships an entry-point plugin; None for
        built-ins and ``plugins=[...]`` modules."""
        name = self._distributions.get(plugin_name)
        return f"{name}=={self._versions[plugin_name]}" if name else None

    def store_configs(self) -> None:
        """Put every component's config in Hydra's ConfigStore under its group."""
        from hydra.core.config_store import ConfigStore

        store = ConfigStore.instance()
        for kind, (_, _, group) in KINDS.items():
            if group is None:
                continue
            for name, (record, provider) in self.catalogue[kind].items():
                config = cast(Configured, record).config
                store.store(group=group, name=name, node=named_config(config, name), provider=provider)


def named_config(config: type, name: str) -> type:
    """A dataclass that extends a component's config with the ``name`` that selects it."""
    return dataclasses.make_dataclass(
        config.__name__, [("name", str, dataclasses.field(default=name))], bases=(config,)
    )


@cache
def get_manager() -> PluginManager:
    """The process-wide plugin manager with built-ins and entry points loaded."""
    manager = PluginManager()
    for module in BUILTIN_PLUGINS:
        manager.load_module(module)
    manager.load_entry_points()
    manager.store_configs()
    return manager


def load_config_plugins(modules: list[str]) -> PluginManager:
    """Register the modules named by ``plugins=[...]`` in a run's config."""
    manager = get_manager()
    for module in modules:
        manager.load_module(module)
    manager.store_configs()
    return manager


def require_packages(requirements: str) -> None:
    """A one-line error naming the first plugin package of ``requirements`` (``name==version``,
    space-separated: what ``launchbay submit`` found the job's config needs) not installed here."""
    for requirement in requirements.split():
        name = requirement.partition("==")[0]
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            raise PluginError(
                f"plugin package {name} is not installed where the job runs: add {requirement} to the cluster's image, "
                "or resubmit with launchbay submit --install-plugins (pip-installs it for the job)"
            ) from None
