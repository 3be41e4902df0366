"""Plugins: the manager (``manager``: what each plugin is and provides, broken plugins left out)
and which plugins a run loads (``selection``: ``new_manager``, ``plugins.*`` settings, disabling,
the manager of the run in progress). Everything public is importable from here (``__all__``,
docs/api.md); so are the names replaced since 0.1.0 (``deprecated``), with a warning, for one minor release."""

from launchbay.plugins.deprecated import get_manager as get_manager
from launchbay.plugins.deprecated import load_config_plugins as load_config_plugins
from launchbay.plugins.deprecated import named_config as named_config
from launchbay.plugins.manager import (
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    KINDS,
    LIFECYCLE_HOOKS,
    QUERY_HOOKS,
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
    current_manager,
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
    "QUERY_HOOKS",
    "REGISTRATION_HOOKS",
    "REQUIRES_ENV",
    "HookFailure",
    "Plugin",
    "PluginError",
    "PluginManager",
    "PluginsConfig",
    "current_manager",
    "hinted",
    "manager_for",
    "new_manager",
    "plugin_settings",
    "require_packages",
    "use_manager",
    "warn_once",
]
