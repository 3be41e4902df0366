"""The ``launchbay`` command: one module per subcommand group, each with ``add_parser(subparsers)``.

Imports stay lazy so that ``--help`` and ``plugins list`` are fast. Every failure is one
line on stderr; ``launchbay --debug <command>`` or ``LAUNCHBAY_DEBUG=1`` shows its traceback too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from launchbay.errors import exit_with

GROUPS = ("run", "plugins", "plugin", "models", "runs", "monitor", "jobs", "cluster", "bench", "drift", "warmup")

EPILOG = """\
examples:
  launchbay run job=pipeline                      train, register, score, check drift (embedded Ray)
  launchbay run job=pipeline runtime=cluster runtime.address=ray://head:10001
  launchbay run model=gbm data.rows=100000        Hydra overrides
  launchbay run --multirun model=logreg,gbm       a sweep
  launchbay run --cfg job                         print the composed config
  launchbay plugins list                          installed plugins and what they provide
  launchbay plugin new acme-thing --kind metric   a plugin package with its tests (kinds: source, sink, model, metric, alert, lifecycle)
  launchbay models list                           registered models
  launchbay models card demo --out cards          the champion's model card: Markdown and a self-contained HTML page
  launchbay runs list                             past runs: job, model, rows, drift, wall time
  launchbay monitor demo --last 10                a model's drift and performance over its runs: table + HTML page
  launchbay submit --address http://head:8265 -- job=pipeline    run on a Ray cluster, follow its logs
  launchbay jobs list --address http://head:8265  jobs on the cluster
  launchbay cluster up --local --workers 2        a multi-node Ray cluster on this machine (status, down)
  launchbay bench cost trace=bursty cost=aws      fixed against autoscaling clusters: cost, latency, a recommendation
  launchbay warmup                                compile the numba kernels into their cache (make install runs it)
  launchbay --debug run job=train                 an error's Python traceback too (or LAUNCHBAY_DEBUG=1)
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="launchbay",
        description="Train, score and monitor ML models on Ray.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        importlib.import_module(f"launchbay.cli.{group}").add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--debug"]:
        os.environ["LAUNCHBAY_DEBUG"] = "1"
        argv = argv[1:]
    try:
        if argv[:1] == ["run"]:
            from launchbay.cli.run import run_hydra

            run_hydra(argv[1:])
        elif argv[:1] == ["bench"]:
            from launchbay.cli.bench import run_bench_hydra

            run_bench_hydra(argv[1:])
        else:
            args = parser().parse_args(argv)
            args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except KeyboardInterrupt:
        print("launchbay: interrupted; partial outputs were discarded", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        exit_with(exc)


if __name__ == "__main__":
    main()
