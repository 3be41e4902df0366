"""The names ``launchbay.plugins`` had in 0.1.0 and replaced since: each still works as it did,
warns what to use instead, and goes away in ``launchbay.deprecation.REMOVED_IN``."""

from __future__ import annotations

from collections.abc import Sequence

from launchbay.deprecation import warn_deprecated
from launchbay.plugins import manager as _manager
from launchbay.plugins.manager import PluginManager
from launchbay.plugins.selection import PluginsConfig, current_manager, manager_for, set_default_manager


class GetManager:
    """``get_manager()`` and ``get_manager.cache_clear()`` as the cached function of 0.1.0 had them."""

    def __call__(self) -> PluginManager:
        """The manager ``current_manager()`` returns."""
        warn_deprecated("launchbay.plugins.get_manager()", "launchbay.plugins.current_manager()")
        return current_manager()

    def cache_clear(self) -> None:
        """Build the manager outside a run afresh on its next use (after installing a plugin)."""
        warn_deprecated(
            "launchbay.plugins.get_manager.cache_clear()",
            "launchbay.plugins.new_manager() for a fresh manager (current_manager() is built again by itself when sys.path changes)",
        )
        set_default_manager(None)


get_manager = GetManager()


def load_config_plugins(modules: Sequence[str]) -> PluginManager:
    """The manager outside a run with ``modules`` loaded too, its configs in Hydra's ConfigStore."""
    warn_deprecated("launchbay.plugins.load_config_plugins()", "launchbay.plugins.manager_for(PluginsConfig(modules=[...]))")
    manager = manager_for(PluginsConfig(modules=list(modules)))
    manager.store_configs()
    set_default_manager(manager)
    return manager


def named_config(config: type, name: str) -> type:
    """A dataclass that extends a component's config with the ``name`` that selects it."""
    warn_deprecated("launchbay.plugins.named_config()", "PluginManager.store_configs(), which stores each component's config under its name")
    return _manager.named_config(config, name)
