"""Calling a Hydra app (``run`` over ``conf/config.yaml``, ``bench`` over ``conf/bench.yaml``) as the
other commands are called: errors reach ``errors.exit_with``, never Hydra's traceback printing.

What Hydra prints itself is shown as launchbay shows it: ``--cfg`` with every secret masked, and
``--help`` listing only the config groups the command takes (both apps share ``conf/``, so
Hydra alone would list the bench's ``cost`` and ``trace`` under ``run``, and the run's groups under ``bench``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator

import yaml

from launchbay.settings import CONF_DIR

ROOT_CONFIGS = ("config", "bench")
# the headings of Hydra's default help template
GROUPS_HEADING = "== Configuration groups =="
CONFIG_HEADING = "== Config ==\nOverride anything in the config (foo.bar=value)\n\n"
HELP_FOOTER = "\nPowered by Hydra"


def groups_of(config_name: str) -> set[str]:
    """The config groups the defaults list of root config ``config_name`` names (``data@batch`` is ``data``)."""
    defaults = yaml.safe_load((CONF_DIR / f"{config_name}.yaml").read_text())["defaults"]
    return {next(iter(entry)).split("@")[0] for entry in defaults if isinstance(entry, dict)}


def help_text(text: str, config_name: str) -> str:
    """Hydra's ``--help`` of ``config_name`` without the groups that only the other root configs
    take, and with the secrets of its config masked."""
    foreign = set().union(*(groups_of(other) for other in ROOT_CONFIGS if other != config_name)) - groups_of(config_name)
    groups, heading, rest = text.partition(CONFIG_HEADING)
    config, footer_heading, footer = rest.partition(HELP_FOOTER)
    lines, in_groups = [], False
    for line in groups.splitlines():
        in_groups = line == GROUPS_HEADING or (in_groups and not line.startswith("=="))
        if not (in_groups and line.partition(":")[0] in foreign):
            lines.append(line)
    shown_config = masked_config(config, None) + "\n" if config.strip() else config
    return "\n".join(lines) + "\n" + heading + shown_config + footer_heading + footer


def masked_config(text: str, package: str | None) -> str:
    """Hydra's ``--cfg`` printout of ``package`` (YAML, under a ``# @package`` line, or a scalar) with every secret masked."""
    from launchbay.masking import masked

    heading, _, body = text.partition("\n") if text.startswith("# @package ") else ("", "", text)
    key = (package or "_global_").rsplit(".", 1)[-1]
    values = masked({key: yaml.safe_load(body)})[key]  # keyed by its name: a secret package is masked whole
    shown = yaml.safe_dump(values, sort_keys=False, allow_unicode=True, width=1000) if isinstance(values, dict | list) else str(values)
    return "\n".join(part for part in (heading, shown.rstrip("\n")) if part)


@contextlib.contextmanager
def hydra_errors() -> Iterator[None]:
    """Hydra's and OmegaConf's errors (outside the job) as launchbay's one line."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from launchbay.config import config_error
    from launchbay.errors import LaunchbayError

    try:
        yield
    except (HydraException, OmegaConfBaseException) as exc:
        raise LaunchbayError(config_error(exc)) from exc


def call_hydra_app(entry: Callable[[], object], prog: str, args: list[str], config_name: str) -> None:
    """Call the ``hydra.main`` function ``entry`` with ``args`` as ``prog``'s command line."""
    from hydra._internal.utils import get_args_parser

    parsed = get_args_parser().parse_args(args)
    sys.argv = [prog, *args]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # errors outside the job are raised here, not printed by Hydra
    printout = io.StringIO()
    try:
        with hydra_errors(), contextlib.redirect_stdout(printout) if parsed.help or parsed.cfg else contextlib.nullcontext():
            entry()  # --help ends in SystemExit
    finally:
        if printout.getvalue():
            print(help_text(printout.getvalue(), config_name) if parsed.help else masked_config(printout.getvalue(), parsed.package))
