"""``launchbay models list|show|history|promote|rollback|diff|audit|pending|approve|reject|card``: the model registry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub) -> None:
    models = sub.add_parser("models", help="the model registry").add_subparsers(dest="action", required=True)
    actions = {
        "list": (models_list, "registered models, their versions and aliases"),
        "show": (models_show, "one version's lineage, metrics and contract"),
        "history": (models_history, "alias moves and promotion decisions of a model"),
        "promote": (models_promote, "point an alias (champion by default) at a version"),
        "rollback": (models_rollback, "move an alias back to the version it held before"),
        "diff": (models_diff, "what differs between two versions: config, data, metrics, packages"),
        "audit": (models_audit, "every change to a model, hash-chained; --verify checks the chain"),
        "pending": (models_pending, "candidates awaiting approval (approval.mode=manual), of one model or all"),
        "approve": (models_decide, "approve a candidate; the last approval it needs promotes it"),
        "reject": (models_decide, "reject a candidate"),
        "card": (models_card, "a version's model card: Markdown and a self-contained HTML page"),
    }
    for action, (func, text) in actions.items():
        p = models.add_parser(action, help=text)
        p.add_argument("--registry", default=".launchbay/registry", help="registry directory or URI (s3://bucket/prefix)")
        p.set_defaults(func=func)
        if action == "pending":
            p.add_argument("name", nargs="?", help="a model (default: every model)")
        elif action != "list":
            p.add_argument("name")
        if action == "show":
            p.add_argument("version", nargs="?", default="latest", help="version number, alias or latest")
            p.add_argument("--config", action="store_true", help="include the config that trained it")
        if action == "promote":
            p.add_argument("version", help="version number or alias")
        if action in ("promote", "rollback"):
            p.add_argument("--alias", default="champion")
            p.add_argument("--reason", default="", help="kept with the alias move")
            p.add_argument("--by", default=None, help="who decided, for the audit log (default: the OS user)")
        if action in ("approve", "reject"):
            p.add_argument("version", type=int)
            p.add_argument("--by", default=None, help="who decides (default: the OS user)")
            p.add_argument("--reason", default="", help="kept in the audit log")
            p.set_defaults(approve=action == "approve")
        if action == "audit":
            p.add_argument("--verify", action="store_true", help="check the chain: name the first entry edited, removed or reordered")
            p.add_argument("--json", action="store_true", help="the entries as JSON lines")
        if action == "diff":
            p.add_argument("a", help="version number or alias")
            p.add_argument("b", help="version number or alias")
        if action == "card":
            p.add_argument("version", nargs="?", help="version number, alias or latest (default: the champion, else latest)")
            p.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                           help="where <model>-v<version>-card.md and .html are written (default: the current directory)")


def models_list(args: argparse.Namespace) -> None:
    """The table of readable versions, then a line for each broken one; fails only if none is readable."""
    from rich.console import Console
    from rich.table import Table

    from launchbay.errors import LaunchbayError
    from launchbay.registry import Registry

    registry = Registry(args.registry).existing()
    table = Table("model", "versions", "latest", "aliases", "metrics of latest")
    readable, broken, why = 0, [], []
    for name in registry.models():
        versions, numbers = [], registry.versions(name)
        for number in numbers:
            try:
                versions.append(registry.load(name, number))
            except LaunchbayError as exc:
                why.append(str(exc).removeprefix("registry: "))
                broken.append(f"{name} v{number} (broken: {why[-1]})")
        readable += len(versions)
        lost = f" (+{len(numbers) - len(versions)} broken)" if len(numbers) > len(versions) else ""
        latest = versions[-1].meta if versions else {}
        aliases = ", ".join(f"{a}={v}" for a, v in registry.aliases(name).items())
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in latest.get("metrics", {}).items())
        table.add_row(name, f"{len(versions)}{lost}", str(latest.get("version", "-")), aliases, metrics)
    Console().print(table)
    for line in broken:
        print(line)
    if broken and not readable:
        more = f"; and {len(why) - 3} more (listed above)" if len(why) > 3 else ""
        raise LaunchbayError(f"registry: no version in {registry.uri} is readable: {'; '.join(why[:3])}{more}")


def models_show(args: argparse.Namespace) -> None:
    from launchbay.registry import Registry

    version = Registry(args.registry).existing().get(args.name, args.version)
    shown = {k: v for k, v in version.meta.items() if k != "config" or args.config}
    contract = version.load_contract()
    if contract is not None:
        shown["contract"] = json.loads(contract.to_json())
    print(json.dumps(shown, indent=2, default=str))


def models_history(args: argparse.Namespace) -> None:
    from launchbay.registry import Registry

    registry = Registry(args.registry).existing()
    registry.get(args.name)
    print(json.dumps({"aliases": registry.history(args.name), "decisions": registry.decisions(args.name)}, indent=2))


def models_promote(args: argparse.Namespace) -> None:
    from launchbay.registry import Registry

    registry = Registry(args.registry).existing()
    version = registry.get(args.name, args.version).version
    reason = args.reason or "promoted by hand"
    registry.set_alias(args.name, args.alias, version, reason=reason, by=args.by)
    announce(args.name, args.alias, version, reason)
    print(f"{args.name}: {args.alias} -> v{version}")


def models_rollback(args: argparse.Namespace) -> None:
    from launchbay.registry import Registry

    version = Registry(args.registry).existing().rollback(args.name, args.alias, reason=args.reason, by=args.by)
    announce(args.name, args.alias, version, args.reason or "rolled back by hand")
    print(f"{args.name}: {args.alias} -> v{version} (rolled back)")


def announce(model: str, alias: str, version: int, reason: str) -> None:
    """Tell the plugins' ``launchbay_model_promoted`` hooks about a move made by hand; a plugin
    failing in it is a warning (the move is made)."""
    from launchbay.plugins import current_manager, warn_once

    failures = current_manager().notify("launchbay_model_promoted", model=model, alias=alias, version=version, reason=reason)
    warn_once([f"{failure}; {alias} is v{version} all the same" for failure in failures])


def models_diff(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from launchbay.registry import Registry

    differences = Registry(args.registry).existing().diff(args.name, args.a, args.b)
    table = Table("field", f"{args.name} {args.a}", f"{args.name} {args.b}", title=f"{len(differences)} fields differ")
    for key, (left, right) in differences.items():
        table.add_row(key, json.dumps(left, default=str), json.dumps(right, default=str))
    Console().print(table)


def models_audit(args: argparse.Namespace) -> None:
    """The model's audit log as a table (or JSON lines); with ``--verify``, exit 1 naming the first broken entry."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from launchbay.errors import LaunchbayError
    from launchbay.registry import Registry

    registry = Registry(args.registry).existing()
    registry.get(args.name)
    log = registry.audit(args.name)
    if args.verify:
        problem = log.verify()
        if problem:
            raise LaunchbayError(f"audit: {log.where}/audit.jsonl: {problem}")
        print(f"{args.name}: the audit log's {len(log.lines())} entries chain intact")
        return
    if args.json:
        print("\n".join(log.lines()))
        return
    table = Table("seq", "at", "action", "version", "alias", "by", "reason", "run", title=f"audit log of {args.name}")
    for e in log.entries():
        table.add_row(*(escape(str(e.get(k) or "")) for k in ("seq", "at", "action", "version", "alias", "by", "reason", "run_id")))
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def models_pending(args: argparse.Namespace) -> None:
    """The candidates awaiting approval as a table (expired ones are recorded as such first)."""
    from rich.console import Console
    from rich.table import Table

    from launchbay.registry import Registry

    registry = Registry(args.registry).existing()
    names = [registry.get(args.name).name] if args.name else registry.models()
    table = Table("model", "version", "for", "approvals", "author", "expires", "evidence", title="candidates awaiting approval")
    for name in names:
        for c in registry.pending(name):
            metrics = c.evidence.get("metrics", {})
            evidence = "; ".join(c.evidence.get("reasons", [])) or ", ".join(f"{k} {v}" for k, v in metrics.items())
            table.add_row(name, str(c.version), c.alias, f"{len(c.approvers)}/{c.required} {', '.join(c.approvers)}".strip(), c.author,
                          c.expires_at, evidence)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def models_decide(args: argparse.Namespace) -> None:
    from launchbay.registry import Registry

    candidacy = Registry(args.registry).existing().decide(args.name, args.version, args.by, args.reason, args.approve)
    if not args.approve:
        print(f"{args.name} v{args.version}: rejected by {candidacy.rejected_by}")
    elif candidacy.promoted:
        announce(args.name, candidacy.alias, args.version, f"approved by {', '.join(candidacy.approvers)}")
        print(f"{args.name}: {candidacy.alias} -> v{args.version} (approved by {', '.join(candidacy.approvers)})")
    else:
        print(f"{args.name} v{args.version}: approved by {', '.join(candidacy.approvers)}; {candidacy.missing()} more approval(s) needed")


def models_card(args: argparse.Namespace) -> None:
    """Write a version's model card into ``--out`` (replacing only a card launchbay wrote), then print its gist and the paths."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from launchbay import ownership
    from launchbay.cli.drift import written
    from launchbay.registry import Registry
    from launchbay.report import card

    registry = Registry(args.registry).existing()
    version = registry.get(args.name, args.version or ("champion" if "champion" in registry.aliases(args.name) else "latest"))
    made = card.build(registry, version)
    markdown, page = made.files(args.out)
    for path in (markdown, page):
        ownership.check_file_replaceable(path, "--out")
    written(lambda: card.write(made, markdown, page), args.out)
    table = Table("section", "", title=f"model card of {made.name} v{made.version}", show_header=False)
    for section in made.sections:
        table.add_row(section.title, escape(section.gist))
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    print(f"markdown: {markdown}\nhtml: {page}")
