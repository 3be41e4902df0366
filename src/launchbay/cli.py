"""The ``launchbay`` command. Imports stay lazy so that ``--help`` and ``plugins list`` are fast."""

from __future__ import annotations

import argparse
import sys

from launchbay.errors import LaunchbayError

EPILOG = """\
examples:
  launchbay run job=pipeline                      train, register, score, check drift (embedded Ray)
  launchbay run job=pipeline runtime=cluster runtime.address=ray://head:10001
  launchbay run model=gbm data.rows=100000        Hydra overrides
  launchbay run --multirun model=logreg,gbm       a sweep
  launchbay run --cfg job                         print the composed config
  launchbay plugins list                          installed plugins and what they provide
  launchbay models list                           registered models
"""


def run_hydra(args: list[str]) -> None:
    """``launchbay run``: a Hydra app over ``conf/``; every Hydra flag works."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from launchbay.app import CONF_DIR, check_composes, execute, hydra_args, prepare

    parsed = hydra_args(args)
    prepare(parsed.overrides)
    if not (parsed.multirun or parsed.help or parsed.hydra_help or parsed.info or parsed.shell_completion):
        check_composes(args)

    @hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="config")
    def entry(cfg) -> dict:
        from pathlib import Path

        try:
            return execute(cfg, Path(HydraConfig.get().runtime.output_dir))
        except LaunchbayError as exc:
            fail(exc)

    sys.argv = ["launchbay run", *args]
    entry()


def plugins_list(_: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from launchbay.plugins import KINDS, get_manager

    manager = get_manager()
    table = Table("plugin", "version", "kind", "provides")
    for kind in KINDS:
        by_plugin: dict[str, list[str]] = {}
        for name in manager.components(kind):
            by_plugin.setdefault(manager.provider(kind, name), []).append(name)
        for plugin, names in sorted(by_plugin.items()):
            table.add_row(plugin, manager.plugin_version(plugin), kind, ", ".join(sorted(names)))
    lifecycle = sorted(
        name
        for name, plugin in manager.list_name_plugin()
        if not any(name in (manager.provider(k, c) for c in manager.components(k)) for k in KINDS)
    )
    for plugin in lifecycle:
        table.add_row(plugin, manager.plugin_version(plugin), "hooks", "lifecycle hooks")
    Console().print(table)


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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="launchbay",
        description="Train, score and monitor ML models on Ray.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run a job: launchbay run job=pipeline [hydra overrides]", add_help=False)
    plugins = sub.add_parser("plugins", help="installed plugins").add_subparsers(dest="action", required=True)
    plugins.add_parser("list", help="each plugin, its version and what it provides").set_defaults(func=plugins_list)
    models = sub.add_parser("models", help="the model registry").add_subparsers(dest="action", required=True)
    for action, func in (("list", models_list), ("show", models_show)):
        p = models.add_parser(action)
        p.add_argument("--registry", default=".launchbay/registry", help="registry directory")
        p.set_defaults(func=func)
        if action == "show":
            p.add_argument("name")
            p.add_argument("version", nargs="?", default="latest", help="version number, alias or latest")
            p.add_argument("--config", action="store_true", help="include the config that trained it")
    return top


def fail(exc: LaunchbayError) -> None:
    print(f"launchbay: error: {exc}", file=sys.stderr)
    raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["run"]:
            run_hydra(argv[1:])
        else:
            args = parser().parse_args(argv)
            args.func(args)
    except LaunchbayError as exc:
        fail(exc)
    except KeyboardInterrupt:
        print("launchbay: interrupted; partial outputs were discarded", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
