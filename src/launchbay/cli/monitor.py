"""``launchbay monitor MODEL``: a model's drift and performance over its last runs, in the terminal and on one HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from launchbay.errors import LaunchbayError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "monitor",
        help="a model's drift and performance over its last runs: a table and an HTML page",
        description="Read every run's summary.json under --dir, keep the last N runs of MODEL, print a table "
        "(one row per feature and metric, one column per run) and write a page with a chart per series.",
    )
    p.add_argument("model", help="the model's name (summary.json: model.name)")
    p.add_argument("--dir", type=Path, default=Path("runs"), help="where runs are kept (hydra.run.dir's root; default: runs)")
    p.add_argument("--last", type=positive, default=20, metavar="N", help="how many of the model's newest runs (default: 20)")
    p.add_argument("--out", type=Path, metavar="PATH", help="the HTML page (default: <dir>/monitor-<model>.html)")
    p.set_defaults(func=monitor)


def positive(text: str) -> int:
    """A count of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got '{text}'")
    return int(text)


def monitor(args: argparse.Namespace) -> None:
    from rich.console import Console

    from launchbay import history, ownership
    from launchbay.cli.drift import written
    from launchbay.report import trend

    out = args.out or history.trend_page(args.dir, args.model)
    ownership.check_file_replaceable(out, "--out")
    if not args.dir.is_dir():
        raise LaunchbayError(f"monitor: --dir {args.dir} is not a folder of runs")
    found = trend.build(history.runs(args.dir), args.model, args.last)
    Console(width=None if sys.stdout.isatty() else 160).print(trend.table(found))
    written(lambda: trend.write_page(found, out), out)
    print(f"page: {out}")
