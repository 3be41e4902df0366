"""``launchbay plugins list``: each plugin, its version and what it provides."""

from __future__ import annotations


def add_parser(sub) -> None:
    plugins = sub.add_parser("plugins", help="installed plugins").add_subparsers(dest="action", required=True)
    plugins.add_parser("list", help="each plugin, its version and what it provides").set_defaults(func=plugins_list)


def plugins_list(_) -> None:
    from rich.console import Console
    from rich.table import Table

    from launchbay.plugins import KINDS, get_manager

    manager = get_manager()
    table = Table("plugin", "version", "kind", "provides")
    providers = set()
    for kind in KINDS:
        by_plugin: dict[str, list[str]] = {}
        for name in manager.components(kind):
            by_plugin.setdefault(manager.provider(kind, name), []).append(name)
        for plugin, names in sorted(by_plugin.items()):
            table.add_row(plugin, manager.plugin_version(plugin), kind, ", ".join(sorted(names)))
        providers |= set(by_plugin)
    for plugin, _ in sorted(manager.list_name_plugin()):
        if plugin not in providers:
            table.add_row(plugin, manager.plugin_version(plugin), "hooks", "lifecycle hooks only")
    Console().print(table)
