"""``launchbay runs list|show``: past runs, read from their ``summary.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchbay import history
from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    from launchbay.cost.model import PriceTable


def add_parser(sub) -> None:
    runs = sub.add_parser("runs", help="past runs and their summaries").add_subparsers(dest="action", required=True)
    listing = runs.add_parser("list", help="one line per run: job, model, rows, drift, wall time")
    listing.add_argument("--dir", default="runs", help="where runs are kept (hydra.run.dir's root; default: runs)")
    listing.add_argument("--last", type=int, default=None, help="how many of the newest runs (default: 20; with --by-version: every run)")
    listing.add_argument("--cost", default=None, metavar="PRICES", help="add what each run's nodes would cost at a price table "
                                                                         "(conf/cost: aws, gcp), and per 1,000 predictions")
    listing.add_argument("--by-version", action="store_true", help="with --cost: one line per model version instead: its runs' "
                                                                    "cost, training included, predictions and cost per 1,000")
    listing.set_defaults(func=runs_list)
    show = runs.add_parser("show", help="a run's summary.json")
    show.add_argument("run", help="a run directory, or a run id as printed by runs list")
    show.add_argument("--dir", default="runs", help="where runs are kept (default: runs)")
    show.set_defaults(func=runs_show)


def runs_list(args: argparse.Namespace) -> None:
    from rich.console import Console

    prices = None
    if args.cost:
        from launchbay.cost.config import price_table

        prices = price_table(args.cost)
    found = history.runs(Path(args.dir))
    if args.by_version:
        if prices is None:
            raise LaunchbayError("runs list: --by-version needs --cost PRICES (conf/cost: aws, gcp)")
        table = versions_table(found[-args.last :] if args.last else found, prices)
    else:
        table = runs_table(found[-(args.last or 20) :], prices)
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def runs_table(runs: list[history.Run], prices: PriceTable | None) -> Any:
    """One row per run; with ``prices``, what it cost and per 1,000 predictions (blank: not metered, or nothing scored)."""
    from rich.table import Table

    table = Table("job", "model", "rows scored", "drifted features", "wall s", "node-h")
    if prices:
        from launchbay.cost.predictions import amount, run_cost_of

        table.add_column(f"cost ({prices.provider}, {prices.currency})", justify="right")
        table.add_column("per 1,000 predictions", justify="right")
    table.add_column("run id", no_wrap=True)
    for run in runs:
        s = run.summary
        drift = s.get("drift") or {}
        priced = []
        if prices:
            cost = run_cost_of(s, prices)
            priced = [amount(cost.total), amount(cost.per_1000_predictions)] if cost else ["", ""]
        table.add_row(
            s.get("job", ""),
            f"{run.model_version[0]} v{run.model_version[1]}" if run.model_version else "",
            f"{s['scores']['rows']:,}" if "scores" in s else "",
            ", ".join(drift.get("drifted_features", [])) if drift else "",
            f"{s.get('wall_s', 0):.1f}",
            f"{sum(s['usage'].get('node_s', {}).values()) / 3600:.4f}" if "usage" in s else "",
            *priced,
            s.get("run_id", ""),
        )
    return table


def versions_table(runs: list[history.Run], prices: PriceTable) -> Any:
    """One row per model version of ``runs`` (``launchbay.cost.predictions.by_version``)."""
    from rich.table import Table

    from launchbay.cost.predictions import amount, by_version

    table = Table("model", "version", caption="cost: every metered run of the version, training included; per 1,000 predictions: "
                                              "that cost over the rows its runs scored", caption_justify="left")
    for heading in ("runs", "predictions", f"cost ({prices.provider}, {prices.currency})", "per 1,000 predictions"):
        table.add_column(heading, justify="right")
    for entry in by_version(runs, prices):
        unmetered = f" ({entry.unmetered} not metered)" if entry.unmetered else ""
        table.add_row(entry.model, entry.version, f"{entry.runs}{unmetered}", f"{entry.predictions:,}", amount(entry.total),
                      amount(entry.per_1000_predictions))
    return table


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
