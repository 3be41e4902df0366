"""Plugins: the manager (``manager``: what each plugin is and provides, broken plugins left out)
and which plugins a run loads (``selection``: ``new_manager``, ``plugins.*`` settings, disabling,
the manager of the run in progress). Everything public is importable from here."""

from launchbay.plugins.manager import (
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    KINDS,
    LIFECYCLE_HOOKS,
    REGISTRATION_HOOKS,
    HookFailure,
    Plugin,
    PluginError,
    PluginManager,
    hinted,
)
from launchbay.plugins.selection import (
    REQUIRES_ENV,
    PluginsConfig,
    get_manager,
    manager_for,
    new_manager,
    plugin_settings,
    require_packages,
    use_manager,
    warn_once,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "LIFECYCLE_HOOKS",
    "REGISTRATION_HOOKS",
    "REQUIRES_ENV",
    "HookFailure",
    "Plugin",
    "PluginError",
    "PluginManager",
    "PluginsConfig",
    "get_manager",
    "hinted",
    "manager_for",
    "new_manager",
    "plugin_settings",
    "require_packages",
    "use_manager",
    "warn_once",
]
