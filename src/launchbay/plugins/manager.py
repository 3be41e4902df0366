"""The plugin manager: what each plugin is (ok, broken, disabled) and provides.

A plugin that cannot be loaded, names an unknown hook, or whose registration hook raises or
returns the wrong thing is *broken*: it is left out, named in one warning line, and only a run
that needs it fails. A name claimed by two plugins is left out of both (a built-in keeps its
own names). Lifecycle hooks are called one plugin at a time (``notify``), so a failing one is
one line naming its plugin and hook.

A manager's component configs go to Hydra's ConfigStore (``data/<name>``, ``model/<name>``,
``sink/<name>``) in place of the previous manager's, so third-party components compose like
built-ins and a later run without the plugin does not compose them.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal, cast, overload

import pluggy

from launchbay import hookspecs
from launchbay.components import AlertChannel, Component, Configured, DataSink, DataSource, DriftMetric, ModelFamily
from launchbay.deprecation import warn_deprecated
from launchbay.errors import DEBUG_HINT, LaunchbayError, debugging, one_line

ENTRY_POINT_GROUP = "launchbay"
# As pytest's ``-p no:NAME`` and ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``.
DISABLE_ENV = "LAUNCHBAY_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD"

BUILTIN_PLUGINS = (
    "launchbay.data",
    "launchbay.models",
    "launchbay.drift.metrics",
    "launchbay.alerts",
)

# kind -> (registration hook, record type, Hydra config group or None). Alert channels have
# no group: they are switched on by ``+alerts.<name>.<setting>=...``, several at once.
KINDS: dict[str, tuple[str, type[Component], str | None]] = {
    "data": ("launchbay_data_sources", DataSource, "data"),
    "sink": ("launchbay_data_sinks", DataSink, "sink"),
    "model": ("launchbay_model_families", ModelFamily, "model"),
    "metric": ("launchbay_drift_metrics", DriftMetric, None),
    "alert": ("launchbay_alert_channels", AlertChannel, None),
}
REGISTRATION_HOOKS = tuple(hook for hook, _, _ in KINDS.values())
# Hooks launchbay asks for an answer, the first plugin's (``first_answer``).
QUERY_HOOKS = ("launchbay_model_attributions",)
LIFECYCLE_HOOKS = tuple(
    name for name in vars(hookspecs) if name.startswith("launchbay_") and name not in REGISTRATION_HOOKS and name not in QUERY_HOOKS
)

# (group, name) of the nodes plugin managers put in Hydra's ConfigStore (process-wide, as the store is).
_STORED: set[tuple[str, str]] = set()


class PluginError(LaunchbayError):
    """A plugin is broken, clashes with another, or a name in the config is unknown."""


class WrongReturn(Exception):
    """A registration hook returned something else than a list of its records."""


@dataclass
class Plugin:
    """One plugin as ``launchbay plugins list`` shows it."""

    name: str
    version: str
    origin: Literal["built-in", "entry point", "module"]
    package: str | None = None  # ``name==version`` of the distribution that ships an entry point
    status: Literal["ok", "broken", "disabled"] = "ok"
    reason: str = ""  # why it is broken
    left_out: list[str] = field(default_factory=list)  # its names that another plugin claims too

    @property
    def label(self) -> str:
        """``plugin 'name' (package==version)``: how messages name it."""
        return f"plugin '{self.name}'" + (f" ({self.package})" if self.package else "")


@dataclass(frozen=True)
class HookFailure:
    """A lifecycle hook that raised: which plugin, which hook, what."""

    plugin: Plugin
    hook: str
    error: Exception

    def __str__(self) -> str:
        return f"{self.plugin.label} failed in {self.hook}: {one_line(self.error)}"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus what each plugin is and provides: ``plugins`` (every plugin seen,
    ok, broken or disabled) and a component catalogue per kind. Built by ``new_manager``."""

    def __init__(self) -> None:
        super().__init__("launchbay")
        self.add_hookspecs(hookspecs)
        self.plugins: dict[str, Plugin] = {}
        self.catalogue: dict[str, dict[str, tuple[Component, str]]] = {kind: {} for kind in KINDS}
        self._missing: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}  # kind -> name -> why nobody provides it

    # --- loading ---------------------------------------------------------------------

    def add(self, plugin: Plugin, load: Callable[[], object]) -> None:
        """Register what ``load()`` returns as ``plugin``; a failure makes it broken, not an error."""
        if plugin.name in self.plugins:
            known = self.plugins[plugin.name]
            if known.package != plugin.package:
                self._break(plugin.name, f"two packages publish a plugin named '{plugin.name}': {known.package} and {plugin.package}")
            return
        self.plugins[plugin.name] = plugin
        if self.is_blocked(plugin.name):
            plugin.status = "disabled"
            return
        try:
            loaded = load()
            if not self.is_registered(loaded):  # a module both installed and named in plugins.modules loads once
                self.register(loaded, name=plugin.name)
        except pluggy.PluginValidationError as exc:  # a hook asking for arguments its spec does not have
            definition, *_, problem = str(exc).splitlines()[1:]
            self._break(plugin.name, f"{definition.removeprefix('hookimpl definition: ')}: {problem}", exc)
            return
        except (Exception, SystemExit) as exc:  # an import error, or a module that exits on import
            self._break(plugin.name, f"cannot be loaded: {one_line(exc)}", exc)
            return
        if self.get_plugin(plugin.name) is None:  # already registered under another name
            del self.plugins[plugin.name]
            return
        if unmarked := [name for name in hookspecs_names() if callable(getattr(loaded, name, None)) and not self.parse_hookimpl_opts(loaded, name)]:
            self._break(plugin.name, f"{unmarked[0]} is not marked with @launchbay.hookimpl, so it would never be called")

    def load_module(self, dotted: str, origin: Literal["built-in", "module"] = "module") -> None:
        """Register a module by dotted name (built-ins and ``plugins.modules``)."""

        def load() -> object:
            module = importlib.import_module(dotted)
            version = launchbay_version() if origin == "built-in" else getattr(module, "__version__", "unknown")
            self.plugins[dotted].version = str(version)
            return module

        self.add(Plugin(dotted, "unknown", origin), load)

    def load_entry_point(self, ep: metadata.EntryPoint) -> None:
        """Register a plugin published under the ``launchbay`` entry-point group."""
        dist = ep.dist
        version = dist.version if dist else "unknown"
        self.add(Plugin(ep.name, version, "entry point", f"{dist.name}=={version}" if dist else None), ep.load)

    def load_entry_points(self) -> None:
        """Register every plugin of the ``launchbay`` entry-point group not loaded yet, and settle again."""
        warn_deprecated("launchbay.plugins.PluginManager.load_entry_points()", "launchbay.plugins.new_manager(), which loads every installed entry point")
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            self.load_entry_point(ep)
        self.settle()

    def settle(self) -> None:
        """Once everything is loaded: break the plugins with unknown hooks, collect the components
        of the rest and leave out the names two plugins claim. Settling again starts the catalogue afresh."""
        self._check_hook_names()
        self.catalogue = {kind: {} for kind in KINDS}
        self._missing = {kind: {} for kind in KINDS}
        for plugin in self.plugins.values():
            plugin.left_out.clear()
        claims: dict[str, dict[str, list[tuple[Component, str]]]] = {kind: {} for kind in KINDS}
        for kind, (hook_name, record_type, _) in KINDS.items():
            for impl in getattr(self.hook, hook_name).get_hookimpls():
                try:
                    records = returned_records(impl.function(), hook_name, record_type)
                except WrongReturn as exc:
                    self._break(impl.plugin_name, f"{hook_name} {exc}")
                    continue
                except Exception as exc:
                    self._break(impl.plugin_name, f"{hook_name} raised {one_line(exc)}", exc)
                    continue
                if KINDS[kind][2] is not None and (problem := next(filter(None, map(config_problem, records)), None)):
                    self._break(impl.plugin_name, f"{hook_name} returned {problem}")
                    continue
                for record in records:
                    claims[kind].setdefault(record.name, []).append((record, impl.plugin_name))
        for kind, by_name in claims.items():
            for name, claimants in by_name.items():
                self._settle_name(kind, name, claimants)

    def _settle_name(self, kind: str, name: str, claimants: list[tuple[Component, str]]) -> None:
        live = [(record, plugin) for record, plugin in claimants if self.plugins[plugin].status == "ok"]
        if not live:
            broken = self.plugins[claimants[0][1]]
            self._missing[kind][name] = f"{kind} '{name}' comes from {broken.label}, which is broken: {broken.reason}"
            return
        kept = [claim for claim in live if self.plugins[claim[1]].origin == "built-in"] or live
        if len(kept) == 1:
            self.catalogue[kind][name] = kept[0]
            for _, plugin in live:
                if plugin != kept[0][1]:
                    self.plugins[plugin].left_out.append(f"{kind} '{name}' (built in)")
            return
        names = [self.plugins[plugin].label for _, plugin in kept]
        others = ", ".join(plugin for _, plugin in kept[1:])
        for _, plugin in kept:
            self.plugins[plugin].left_out.append(f"{kind} '{name}' (claimed by {' and '.join(p for _, p in kept if p != plugin)} too)")
        self._missing[kind][name] = (
            f"{kind} '{name}' is claimed by both {' and '.join(names)}, so neither provides it: "
            f"disable one (plugins.disable=[{others}] or {DISABLE_ENV}={others})"
        )

    def _check_hook_names(self) -> None:
        """pluggy's ``check_pending``, one plugin at a time: a plugin with a hook of no known
        name (a misspelling) is broken."""
        while True:
            try:
                self.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = cast(str, self.get_name(exc.plugin))
                unknown = next(caller.name for caller in self.get_hookcallers(exc.plugin) or [] if not caller.has_spec())
                guess = difflib.get_close_matches(unknown, hookspecs_names(), n=1)
                self._break(name, f"unknown hook {unknown}" + (f" (did you mean {guess[0]}?)" if guess else ""))

    def _break(self, name: str, reason: str, exc: BaseException | None = None) -> None:
        plugin = self.plugins[name]
        if plugin.status == "broken":
            return
        plugin.status, plugin.reason = "broken", reason
        if exc is not None and debugging():
            traceback.print_exception(exc)
        if self.get_plugin(name) is not None:
            self.unregister(name=name)

    # --- what the plugins provide --------------------------------------------------------

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
        """The component ``name`` of ``kind``, or a one-line error: the broken plugin or clash that
        took it away, else what exists (and which plugins are broken or disabled)."""
        try:
            return self.catalogue[kind][name][0]
        except KeyError:
            raise PluginError(self.missing(kind, name)) from None

    def missing(self, kind: str, name: str) -> str:
        """Why there is no ``kind`` named ``name``, in one line."""
        if why := self._missing[kind].get(name):
            return why
        available = ", ".join(sorted(self.catalogue[kind])) or "none"
        return f"unknown {kind} '{name}' (available: {available}){self._notes()}"

    def _notes(self) -> str:
        """``; broken: ...; disabled: ...``: the plugins that might have provided a missing name."""
        broken = [p for p in self.plugins.values() if p.status == "broken"]
        disabled = [p.name for p in self.plugins.values() if p.status == "disabled"]
        if len(broken) > 2:  # too many reasons for one line
            notes = f"; broken: {', '.join(p.name for p in broken)} (launchbay plugins list says why)"
        else:
            notes = "".join(f"; broken: {p.label}: {p.reason}" for p in broken)
        return notes + (f"; disabled: {', '.join(disabled)}" if disabled else "")

    def explain(self, message: str) -> str:
        """A config error about a component group option (``Could not find 'data/duckdb'``) with
        the reason that option is missing, where a plugin's state gives one."""
        for kind, (_, _, group) in KINDS.items():
            marker = f"Could not find '{group}/"
            if group and marker in message:
                name = message.split(marker, 1)[1].split("'", 1)[0]
                if why := self._missing[kind].get(name):
                    return f"{message.split(marker, 1)[0]}{why}"
                return message + self._notes()
        return message

    def provider(self, kind: str, name: str) -> str:
        """Name of the plugin that provides a component."""
        return self.catalogue[kind][name][1]

    def plugin_version(self, plugin_name: str) -> str:
        """Version of the distribution that ships a plugin (launchbay's own for built-ins)."""
        return self.plugins[plugin_name].version

    def distribution(self, plugin_name: str) -> str | None:
        """The installed package (``name==version``) that ships an entry-point plugin; None for
        built-ins and ``plugins.modules``."""
        return self.plugins[plugin_name].package

    def lifecycle_hooks(self, plugin_name: str) -> list[str]:
        """The lifecycle hooks a (registered) plugin implements."""
        plugin = self.get_plugin(plugin_name)
        callers = self.get_hookcallers(plugin) or [] if plugin is not None else []
        return [hook for hook in LIFECYCLE_HOOKS if any(caller.name == hook for caller in callers)]

    def problems(self) -> list[str]:
        """One line for each broken plugin and each name left out."""
        lines = [f"{p.label} is broken and left out: {p.reason}" for p in self.plugins.values() if p.status == "broken"]
        lines += [f"{p.label}: left out of {name}" for p in self.plugins.values() for name in p.left_out]
        return lines

    def require(self, names: Sequence[str], key: str) -> None:
        """A one-line error naming ``key`` if a plugin a run names (``plugins.modules``) is broken."""
        for name in names:
            if (plugin := self.plugins.get(name)) is not None and plugin.status == "broken":
                raise PluginError(f"{key}: {plugin.label} is broken: {plugin.reason}")

    # --- lifecycle hooks ---------------------------------------------------------------

    def notify(self, hook: str, **kwargs: Any) -> list[HookFailure]:
        """Call lifecycle hook ``hook`` on every plugin that implements it, each on its own, in
        pluggy's order; returns the failures (it raises none but KeyboardInterrupt and the like)."""
        failures = []
        for impl in reversed(getattr(self.hook, hook).get_hookimpls()):
            try:
                self._call_one(hook, impl, kwargs)
            except Exception as exc:
                failures.append(HookFailure(self.plugins[impl.plugin_name], hook, exc))
        return failures

    # --- query hooks -------------------------------------------------------------------

    def first_answer(self, hook: str, **kwargs: Any) -> tuple[Plugin, Any] | None:
        """The first answer (not None) to query hook ``hook``, in pluggy's order, and the plugin that gave it;
        None when no plugin answers. A plugin that raises is a one-line ``PluginError`` naming it and the hook."""
        for impl in reversed(getattr(self.hook, hook).get_hookimpls()):
            plugin = self.plugins[impl.plugin_name]
            try:
                answer = self._call_one(hook, impl, kwargs)
            except Exception as exc:
                raise PluginError(str(HookFailure(plugin, hook, exc))) from exc
            if answer is not None:
                return plugin, answer
        return None

    def _call_one(self, hook: str, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
        """``hook`` called on ``impl``'s plugin alone."""
        others = [plugin for plugin in self.get_plugins() if plugin is not impl.plugin]
        return self.subset_hook_caller(hook, remove_plugins=others)(**kwargs)

    # --- Hydra ---------------------------------------------------------------------------

    def store_configs(self) -> None:
        """Put every component's config in Hydra's ConfigStore under its group, in place of those
        a previous manager put there."""
        from hydra.core.config_store import ConfigStore

        store = ConfigStore.instance()
        for stored_group, stored_name in _STORED:
            store.repo.get(stored_group, {}).pop(f"{stored_name}.yaml", None)
        _STORED.clear()
        for kind, (_, _, group) in KINDS.items():
            if group is None:
                continue
            for name, (record, provider) in self.catalogue[kind].items():
                config = cast(Configured, record).config
                store.store(group=group, name=name, node=named_config(config, name), provider=provider)
                _STORED.add((group, name))


def config_problem(record: Component) -> str | None:
    """Why a component's config cannot be a node of Hydra's ConfigStore (a frozen dataclass, a
    field type OmegaConf does not take), or None."""
    from omegaconf import OmegaConf

    config = cast(Configured, record).config
    try:
        OmegaConf.structured(named_config(config, record.name))
    except Exception as exc:
        return f"'{record.name}' with a config ({getattr(config, '__name__', config)}) that Hydra cannot compose: {one_line(exc)}"
    return None


def named_config(config: type, name: str) -> type:
    """A dataclass that extends a component's config with the ``name`` that selects it."""
    return dataclasses.make_dataclass(config.__name__, [("name", str, dataclasses.field(default=name))], bases=(config,))


def returned_records(value: Any, hook: str, record_type: type[Component]) -> list[Component]:
    """What a registration hook returned, checked: a list (or tuple) of ``record_type`` with
    distinct names; None is an empty list."""
    expected = record_type.__name__
    if value is None:
        return []
    if isinstance(value, Component):
        raise WrongReturn(f"returned a bare {type(value).__name__} '{value.name}': return a list, [{expected}(...)]")
    if not isinstance(value, list | tuple):
        raise WrongReturn(f"returned {type(value).__name__}, not a list of {expected}")
    names = set()
    for record in value:
        if not isinstance(record, record_type):
            raise WrongReturn(f"returned a {type(record).__name__} in its list, expected {expected}")
        if record.name in names:
            raise WrongReturn(f"returned two records named '{record.name}'")
        names.add(record.name)
    return list(value)


def hinted(message: str) -> str:
    """``message`` with the hint at ``--debug`` (the plugin's traceback), while not debugging."""
    return message if debugging() else f"{message} {DEBUG_HINT}"


def hookspecs_names() -> list[str]:
    return [*REGISTRATION_HOOKS, *LIFECYCLE_HOOKS, *QUERY_HOOKS]


def launchbay_version() -> str:
    return metadata.version("launchbay")


