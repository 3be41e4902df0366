"""``launchbay plugins list``: each plugin, its version, package, status, components and lifecycle hooks."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub) -> None:
    plugins = sub.add_parser("plugins", help="installed plugins").add_subparsers(dest="action", required=True)
    listing = plugins.add_parser(
        "list",
        help="each plugin: version, package, status (ok, broken: why, disabled), what it provides, its lifecycle hooks",
        description="Plugins load as a run loads them: LAUNCHBAY_DISABLE_PLUGINS=a,b and LAUNCHBAY_DISABLE_PLUGIN_AUTOLOAD=1 apply.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--strict", action="store_true", help="exit 1 when a plugin is broken or left out of a name")
    listing.set_defaults(func=plugins_list)


def describe() -> list[dict[str, Any]]:
    """Every plugin a run would see, as plain values."""
    from launchbay.plugins import KINDS, manager_for

    manager = manager_for(quiet=True)
    provides: dict[str, dict[str, list[str]]] = {}
    for kind in KINDS:
        for name in sorted(manager.components(kind)):
            provides.setdefault(manager.provider(kind, name), {}).setdefault(kind, []).append(name)
    return [
        {
            "name": plugin.name,
            "version": plugin.version,
            "origin": plugin.origin,
            "package": plugin.package,
            "status": plugin.status,
            "reason": plugin.reason,
            "left_out": plugin.left_out,
            "provides": provides.get(plugin.name, {}),
            "hooks": manager.lifecycle_hooks(plugin.name),
        }
        for plugin in manager.plugins.values()
    ]


def status(plugin: dict[str, Any]) -> str:
    text = {"broken": f"[red]broken[/]: {plugin['reason']}", "disabled": "[dim]disabled[/]"}.get(plugin["status"], "[green]ok[/]")
    return text + "".join(f"; left out of {name}" for name in plugin["left_out"])


def plugins_list(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from launchbay.errors import LaunchbayError

    plugins = describe()
    if args.json:
        print(json.dumps(plugins, indent=2))
    else:
        table = Table("plugin", "version", "package", "status", "provides", "lifecycle hooks")
        table.columns[0].no_wrap = table.columns[2].no_wrap = True
        for plugin in plugins:
            table.add_row(
                plugin["name"],
                plugin["version"],
                plugin["package"] or f"({plugin['origin']})",
                status({**plugin, "reason": escape(plugin["reason"])}),
                "\n".join(f"{kind}: {', '.join(names)}" for kind, names in plugin["provides"].items()),
                "\n".join(hook.removeprefix("launchbay_") for hook in plugin["hooks"]),
            )
        Console(width=None if sys.stdout.isatty() else 160).print(table)
    troubled = [p["name"] for p in plugins if p["status"] == "broken" or p["left_out"]]
    if args.strict and troubled:
        raise LaunchbayError(f"plugins list --strict: {len(troubled)} plugin(s) broken or left out of a name: {', '.join(troubled)}")
