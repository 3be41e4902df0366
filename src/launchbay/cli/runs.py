"""``launchbay runs list|show``: past runs, read from their ``summary.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from launchbay import history
from launchbay.errors import LaunchbayError


def add_parser(sub) -> None:
    runs = sub.add_parser("runs", help="past runs and their summaries").add_subparsers(dest="action", required=True)
    listing = runs.add_parser("list", help="one line per run: job, model, rows, drift, wall time")
    listing.add_argument("--dir", default="runs", help="where runs are kept (hydra.run.dir's root; default: runs)")
    listing.add_argument("--last", type=int, default=20, help="how many of the newest runs (default: 20)")
    listing.add_argument("--cost", default=None, metavar="PRICES", help="add what each run's nodes would cost at a price table "
                                                                         "(conf/cost: aws, gcp)")
    listing.set_defaults(func=runs_list)
    show = runs.add_parser("show", help="a run's summary.json")
    show.add_argument("run", help="a run directory, or a run id as printed by runs list")
    show.add_argument("--dir", default="runs", help="where runs are kept (default: runs)")
    show.set_defaults(func=runs_show)


def runs_list(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    prices = None
    if args.cost:
        from launchbay.cost.billing import run_cost
        from launchbay.cost.config import price_table

        prices = price_table(args.cost)
    table = Table("job", "model", "rows scored", "drifted features", "wall s", "node-h")
    if prices:
        table.add_column(f"cost ({prices.provider}, {prices.currency})", justify="right")
    table.add_column("run id", no_wrap=True)
    for s in (run.summary for run in history.runs(Path(args.dir))[-args.last :]):
        model = s.get("model") or s.get("train", {}).get("model") or {}
        drift = s.get("drift") or {}
        table.add_row(
            s.get("job", ""),
            f"{model.get('name', '')} v{model.get('version', '')}" if model else "",
            f"{s['scores']['rows']:,}" if "scores" in s else "",
            ", ".join(drift.get("drifted_features", [])) if drift else "",
            f"{s.get('wall_s', 0):.1f}",
            f"{sum(s['usage'].get('node_s', {}).values()) / 3600:.4f}" if "usage" in s else "",
            *([f"{run_cost(s['usage'], prices):.4f}" if "usage" in s else ""] if prices else []),
            s.get("run_id", ""),
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def runs_show(args: argparse.Namespace) -> None:
    path = Path(args.run) / "summary.json"
    if path.exists():
        print(path.read_text())
        return
    for run in history.runs(Path(args.dir)):
        if run.summary.get("run_id") == args.run:
            print(json.dumps(run.summary, indent=2))
            return
    raise LaunchbayError(f"runs: no run '{args.run}' under {args.dir} (see launchbay runs list)")
