"""``launchbay run``: a Hydra app over ``conf/``; every Hydra flag works."""

from __future__ import annotations

import os


def add_parser(sub) -> None:
    sub.add_parser("run", help="run a job: launchbay run job=pipeline [hydra overrides]", add_help=False)


def run_hydra(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from launchbay.app import check_composes, expand_shorthand, hydra_args, prepare, run_composed, run_job
    from launchbay.cli.hydra_app import call_hydra_app, hydra_errors
    from launchbay.errors import exit_with
    from launchbay.plugins import REQUIRES_ENV, require_packages
    from launchbay.settings import CONF_DIR

    def task(cfg) -> dict:
        from pathlib import Path

        try:
            return run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
        except Exception as exc:  # Hydra would print it with its own traceback
            exit_with(exc)

    require_packages(os.environ.get(REQUIRES_ENV, ""))  # a submitted job's plugin packages, before anything else
    args = expand_shorthand(args)
    parsed = hydra_args(args)
    if parsed.multirun or parsed.help or parsed.hydra_help or parsed.info or parsed.shell_completion:
        prepare(parsed.overrides)  # the plugins the overrides ask for, and their configs, for Hydra to compose
    elif parsed.cfg or parsed.config_path or parsed.experimental_rerun:
        check_composes(args)  # one line if it does not compose; Hydra prints or reruns it
    elif (cfg := check_composes(args)).hydra.mode != RunMode.MULTIRUN:  # a config may ask for a sweep itself
        with hydra_errors():  # one job: composed once, here, and run as hydra.main would run it
            return run_composed(cfg, task)
    call_hydra_app(hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="config")(task), "launchbay run", args, "config")
