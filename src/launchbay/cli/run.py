"""``launchbay run``: a Hydra app over ``conf/``; every Hydra flag works."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    sub.add_parser("run", help="run a job: launchbay run job=pipeline [hydra overrides]", add_help=False)


def run_hydra(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from launchbay.app import CONF_DIR, check_composes, hydra_args, prepare, run_job
    from launchbay.errors import LaunchbayError, exit_with

    parsed = hydra_args(args)
    prepare(parsed.overrides)
    if not (parsed.multirun or parsed.help or parsed.hydra_help or parsed.info or parsed.shell_completion):
        check_composes(args)

    @hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="config")
    def entry(cfg) -> dict:
        from pathlib import Path

        try:
            return run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
        except LaunchbayError as exc:
            exit_with(exc)

    sys.argv = ["launchbay run", *args]
    entry()
