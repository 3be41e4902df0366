"""Which plugins a run loads: ``new_manager`` (built-ins, ``launchbay`` entry points, modules,
minus the disabled), a run's ``plugins.*`` settings and ``LAUNCHBAY_DISABLE_*``, and the manager
of the run in progress (``use_manager`` / ``current_manager``), so that what one run loads never
leaks into the next.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, cast

from launchbay.plugins.manager import BUILTIN_PLUGINS, DISABLE_ENV, ENTRY_POINT_GROUP, NO_AUTOLOAD_ENV, PluginError, PluginManager

# The plugin packages a submitted job needs (set by ``launchbay submit``, checked by ``launchbay run``).
REQUIRES_ENV = "LAUNCHBAY_REQUIRES"

_WARNED: set[str] = set()
_ACTIVE: contextvars.ContextVar[PluginManager | None] = contextvars.ContextVar("launchbay_plugin_manager", default=None)
_default: tuple[tuple, PluginManager] | None = None


@dataclass
class PluginsConfig:
    """``plugins.*`` of the config: which plugins a run loads (``plugins=[mod]`` is short for ``plugins.modules=[mod]``)."""

    modules: list[str] = field(default_factory=list)  # modules (or entry-point names) to load besides the installed plugins
    disable: list[str] = field(default_factory=list)  # plugin names not to load (as LAUNCHBAY_DISABLE_PLUGINS)
    autoload: bool = True  # load the installed entry points (false: only built-ins and modules, as LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD=1)


def new_manager(modules: Sequence[str] = (), *, autoload: bool = True, disable: Sequence[str] = ()) -> PluginManager:
    """A plugin manager of its own: the built-ins, every ``launchbay`` entry point unless
    ``autoload`` is false, minus the plugins named in ``disable``, plus ``modules`` (dotted module
    names or entry-point names, as pytest's ``-p``). Built-ins cannot be disabled.

    Broken plugins do not raise: they are in ``manager.plugins`` with their reason."""
    builtins = [name for name in disable if name in BUILTIN_PLUGINS]
    if builtins:
        raise PluginError(f"plugin '{builtins[0]}' is built in and cannot be disabled")
    manager = PluginManager()
    for name in disable:
        manager.set_blocked(name)
    for module in BUILTIN_PLUGINS:
        manager.load_module(module, "built-in")
    points = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for name, ep in points.items():
        if autoload or name in modules:
            manager.load_entry_point(ep)
    for module in modules:
        if module not in points:
            manager.load_module(module)
    manager.settle()
    return manager


def manager_for(settings: PluginsConfig | None = None, quiet: bool = False) -> PluginManager:
    """The manager of a run's ``plugins.*`` settings with ``LAUNCHBAY_DISABLE_PLUGINS`` and
    ``LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD`` applied; unless ``quiet``, its problems are warned
    about, each once a process."""
    settings = settings or PluginsConfig()
    from_env = [name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()]
    autoload = settings.autoload and os.environ.get(NO_AUTOLOAD_ENV, "") in ("", "0")
    try:
        manager = new_manager(settings.modules, autoload=autoload, disable=[*settings.disable, *from_env])
    except PluginError as exc:
        key = "plugins.disable" if any(name in BUILTIN_PLUGINS for name in settings.disable) else DISABLE_ENV
        raise PluginError(f"{key}: {exc}") from None
    manager.require(settings.modules, "plugins.modules")
    if not quiet:
        warn_once(manager.problems())
    return manager


def plugin_settings(node: Any) -> PluginsConfig:
    """The typed ``plugins`` node of a composed config."""
    from omegaconf import OmegaConf

    return cast(PluginsConfig, OmegaConf.to_object(node)) if node is not None else PluginsConfig()


def warn_once(lines: list[str]) -> None:
    """Each line as a warning on stderr, once a process."""
    for line in lines:
        if line not in _WARNED:
            _WARNED.add(line)
            print(f"launchbay: warning: {line}", file=sys.stderr)


@contextmanager
def use_manager(manager: PluginManager) -> Iterator[PluginManager]:
    """Make ``manager`` the one ``current_manager()`` returns (a run's own) and its configs Hydra's."""
    manager.store_configs()
    token = _ACTIVE.set(manager)
    try:
        yield manager
    finally:
        _ACTIVE.reset(token)


def current_manager() -> PluginManager:
    """The manager of the run in progress (``use_manager``); outside a run, one for this process
    (installed plugins, ``LAUNCHBAY_DISABLE_*`` applied), built again when ``sys.path`` or those
    variables change."""
    global _default
    if (active := _ACTIVE.get()) is not None:
        return active
    if _default is None or _default[0] != _default_key():
        _default = (_default_key(), manager_for())
    return _default[1]


def set_default_manager(manager: PluginManager | None) -> None:
    """Make ``manager`` the one ``current_manager()`` returns outside a run (None: a fresh one next time)."""
    global _default
    _default = None if manager is None else (_default_key(), manager)


def _default_key() -> tuple:
    """What the manager outside a run depends on: the path plugins are found on and the disabling variables."""
    return (tuple(sys.path), os.environ.get(DISABLE_ENV), os.environ.get(NO_AUTOLOAD_ENV))


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
