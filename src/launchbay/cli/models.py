"""``launchbay models list|show``: the model registry."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    models = sub.add_parser("models", help="the model registry").add_subparsers(dest="action", required=True)
    for action, func in (("list", models_list), ("show", models_show)):
        p = models.add_parser(action)
        p.add_argument("--registry", default=".launchbay/registry", help="registry directory")
        p.set_defaults(func=func)
        if action == "show":
            p.add_argument("name")
            p.add_argument("version", nargs="?", default="latest", help="version number, alias or latest")
            p.add_argument("--config", action="store_true", help="include the config that trained it")


def models_list(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from launchbay.registry import Registry

    registry = Registry(args.registry)
    table = Table("model", "versions", "latest", "aliases", "metrics of latest")
    for name in registry.models():
        latest = registry.get(name)
        aliases = ", ".join(f"{a}={v}" for a, v in registry.aliases(name).items())
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in latest.meta.get("metrics", {}).items())
        table.add_row(name, str(len(registry.versions(name))), str(latest.version), aliases, metrics)
    Console().print(table)


def models_show(args: argparse.Namespace) -> None:
    import json

    from launchbay.registry import Registry

    meta = Registry(args.registry).get(args.name, args.version).meta
    print(json.dumps({k: v for k, v in meta.items() if k != "config" or args.config}, indent=2))
