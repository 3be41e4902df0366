"""``launchbay bench cost [--validate] [hydra overrides]``: a Hydra app over ``conf/bench.yaml``
(price tables in ``conf/cost``, workloads in ``conf/trace``; ``--multirun`` sweeps them).

It prints a table of every policy, and writes ``cost.json`` and ``cost.png`` (cost against
p95 latency, the Pareto frontier marked) into its run directory (``bench/<date>/<time>-<trace>``).
"""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    sub.add_parser("bench", help="launchbay bench cost trace=bursty cost=aws [--validate]: fixed against autoscaling clusters",
                   add_help=False)


def run_bench_hydra(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from launchbay.cli.hydra_app import call_hydra_app
    from launchbay.config import typed
    from launchbay.cost.config import register_cost_schema
    from launchbay.errors import LaunchbayError, exit_with
    from launchbay.settings import CONF_DIR

    if args[:1] != ["cost"]:
        raise LaunchbayError("bench: what to measure: launchbay bench cost [--validate] [overrides], e.g. trace=bursty cost=aws")
    args = args[1:]
    if "--validate" in args:
        args = [a for a in args if a != "--validate"] + ["validate=true"]
    register_cost_schema()

    @hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="bench")
    def entry(cfg) -> dict:
        from pathlib import Path

        from rich.console import Console

        from launchbay.cost.bench import run_bench

        try:
            console = Console(width=None if sys.stdout.isatty() else 160)
            return run_bench(typed(cfg, "bench"), Path(HydraConfig.get().runtime.output_dir), console)
        except Exception as exc:  # Hydra would print it with its own traceback
            exit_with(exc)

    call_hydra_app(entry, "launchbay bench cost", args, "bench")
