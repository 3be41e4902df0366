"""``launchbay drift REFERENCE CURRENT``: compare two datasets, write a report, gate CI on drift."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    import pyarrow as pa

# Exit status of --fail-on-drift when the dataset drifts (1 is an error).
DRIFT_EXIT_CODE = 3
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}

EPILOG = """\
examples:
  launchbay drift train.parquet today.parquet
  launchbay drift data/2024-05/ data/2024-06/ --exclude id,label --metrics psi,ks
  launchbay drift ref.csv cur.csv --categorical store --json drift.json --fail-on-drift
  launchbay drift s3://bucket/train/ s3://bucket/scores/2024-06-01/ --exclude row_id
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "drift",
        help="drift of a dataset against a reference (parquet or CSV)",
        description="Compare CURRENT with REFERENCE feature by feature, print the verdict, write an HTML report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("reference", help="parquet or CSV file, or a folder of them (a path or a URI)")
    p.add_argument("current", help="parquet or CSV file, or a folder of them (a path or a URI)")
    p.add_argument("--categorical", type=names, metavar="COLUMNS", help="columns that are categories, comma-separated")
    p.add_argument("--metrics", type=names, metavar="NAMES", help="metric names, comma-separated (default: by size)")
    p.add_argument("--exclude", type=names, default=[], metavar="COLUMNS", help="columns to leave out, comma-separated")
    p.add_argument(
        "--report", type=Path, metavar="PATH", default=Path("drift-report.html"), help="HTML report (%(default)s)"
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the result summary as JSON here")
    p.add_argument("--fail-on-drift", action="store_true", help=f"exit with status {DRIFT_EXIT_CODE} on dataset drift")
    p.set_defaults(func=drift)


def names(text: str) -> list[str]:
    """A comma-separated list of column or metric names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def drift(args: argparse.Namespace) -> None:
    import json

    from rich.console import Console

    from launchbay import ownership
    from launchbay.drift import MonitorConfig, compare
    from launchbay.report import write_report
    from launchbay.storage import write_atomic

    ownership.check_file_replaceable(args.report, "--report")
    if args.json:
        ownership.check_file_replaceable(args.json, "--json")
    reference, current = read_table(args.reference), read_table(args.current)
    result = compare(
        reference,
        current,
        categorical=args.categorical,
        metrics=args.metrics,
        config=MonitorConfig(exclude=args.exclude),
    )
    Console().print(result.render())
    title = f"Drift of {display_name(args.current)} against {display_name(args.reference)}"
    written(lambda: write_report(result, args.report, title=title), args.report)
    print(f"report: {args.report}")
    if args.json:
        summary = json.dumps({"about": ownership.MARK, **result.to_dict()}, indent=2, allow_nan=False)
        written(lambda: write_atomic(args.json, summary), args.json)
        print(f"json: {args.json}")
    if args.fail_on_drift and result.dataset_drift:
        raise SystemExit(DRIFT_EXIT_CODE)


def display_name(location: str) -> str:
    """The last part of a path or URI, without a URI's query."""
    return PurePosixPath(location.split("?")[0]).name


def read_table(location: str) -> pa.Table:
    """A parquet or CSV file, or the ones in a folder as the sources list them, as one Arrow table;
    the files' types are checked against each other first, and a file that fails is named."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from launchbay.data.files import check_files, csv_schema, input_files

    filesystem, files = input_files(location, tuple(FORMATS))
    formats = {FORMATS.get(PurePosixPath(f).suffix.lower(), "parquet") for f in files}
    if len(formats) > 1:
        raise LaunchbayError(f"{location}: mixes parquet and CSV files; point at one kind")
    fmt = formats.pop()
    check_files(filesystem, files, pq.read_schema if fmt == "parquet" else csv_schema(), fmt)
    tables = []
    for f in files:
        try:
            tables.append(ds.dataset(f, format=fmt, filesystem=filesystem).to_table())
        except (pa.ArrowException, OSError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LaunchbayError(f"{f}: cannot read as {fmt}: {first_line}") from exc
    return pa.concat_tables(tables, promote_options="default")


def written(write, path: Path) -> None:
    """Run ``write``, turning a file-system failure into a one-line error about ``path``."""
    try:
        write()
    except OSError as exc:
        raise LaunchbayError(f"cannot write {path}: {exc.strerror or exc}") from exc
