"""Running a job: compose the config, start Ray, call the job, write ``summary.json``.

The CLI (through ``hydra.main``, so sweeps, ``--cfg`` and config dirs work as in any
Hydra app) and the Python API (through Hydra's compose API) end in the same
``run_job``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from omegaconf import DictConfig

from launchbay.config import config_error, typed
from launchbay.context import RunContext, validate
from launchbay.errors import LaunchbayError
from launchbay.masking import masked
from launchbay.metering import UsageMeter
from launchbay.ownership import check_run_dir
from launchbay.plugins import PluginError, PluginManager, PluginsConfig, hinted, manager_for, plugin_settings, use_manager
from launchbay.settings import CONF_DIR
from launchbay.storage import write_atomic

if TYPE_CHECKING:
    from launchbay.cost.model import PriceTable

JOB_NAME = "run"  # hydra.job.name of `launchbay run` (hydra.main names it after cli/run.py)


def run_job(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Run the job ``cfg.job.name`` in ``run_dir``, with a plugin manager of its own, and return its summary.

    Lifecycle hooks: a failing ``job_started`` fails the run before any work; ``job_failed``
    hears of every failure after ``job_started`` (its own failure is a warning); the observers
    of committed outputs (``job_finished`` and those the job calls) fail as warnings recorded
    in ``summary.json``, and the run stands.
    """
    from rich.console import Console

    from launchbay import runtime

    with use_manager(manager_for(plugin_settings(cfg.plugins))) as manager:
        validate(cfg, manager)
        prices = typed(cfg.cost, "cost") if cfg.get("cost") is not None else None  # cost=<price table>: summary.json prices the run
        run_dir = run_dir.resolve()  # Ray workers do not share the driver's working directory
        run_id = f"{run_dir.name}-{uuid.uuid4().hex[:6]}"
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
        ctx = RunContext(cfg, run_dir, run_id, manager, console)
        ctx.check_locations()
        results = ctx.output("job.results", cfg.job.results) if cfg.job.results else None
        job = job_module(cfg.job.name)
        run_dir.mkdir(parents=True, exist_ok=True)
        mask_saved_configs(run_dir)
        start_job(ctx)
        start = time.perf_counter()
        try:
            with runtime.ray_runtime(typed(cfg.runtime, "runtime"), keep_alive=in_sweep()):
                ctx.timings["ray_start"] = round(time.perf_counter() - start, 3)
                with UsageMeter() as meter:
                    result = job.execute(ctx)
                usage = {**meter.usage(), "stages_s": dict(ctx.timings)}
            summary = {
                "run_id": run_id,
                "job": cfg.job.name,
                "run_dir": str(run_dir),
                "wall_s": round(time.perf_counter() - start, 3),
                "timings_s": ctx.timings,
                **result,
                "usage": usage,
            }
            if prices is not None:
                price_run(ctx, summary, prices)
            write_summary(ctx, summary)
        except BaseException as exc:
            job_failed(ctx, exc)
            raise
        observed = len(ctx.warnings)
        ctx.notify("launchbay_job_finished", job=cfg.job.name, run_id=run_id, summary=summary)
        if len(ctx.warnings) > observed:
            write_summary(ctx, summary)
        if ctx.warnings:
            console.print(f"[yellow]finished with {len(ctx.warnings)} warning(s)[/] (summary.json: warnings); the run's outputs stand")
        if results:
            publish_results(ctx, results)
        return summary


def price_run(ctx: RunContext, summary: dict[str, Any], prices: PriceTable) -> None:
    """Add the ``cost`` section (``launchbay.cost.predictions``) and print it; a run that cannot be priced is a warning, and stands."""
    from launchbay.cost.predictions import cost_section, describe

    summary["cost"] = section = cost_section(summary, prices)
    if "error" in section:
        ctx.warn(describe(section))
    else:
        ctx.console.print(describe(section))


def start_job(ctx: RunContext) -> None:
    """``launchbay_job_started``: a plugin that fails in it fails the run, in one line naming
    the plugin and the hook, before any work (and ``launchbay_job_failed`` hears of it)."""
    failures = ctx.manager.notify("launchbay_job_started", job=ctx.cfg.job.name, run_id=ctx.run_id, config=ctx.resolved_config())
    if failures:
        more = f" (and {len(failures) - 1} more: {'; '.join(str(f) for f in failures[1:])})" if len(failures) > 1 else ""
        error = PluginError(hinted(f"{failures[0]}{more}"))
        job_failed(ctx, error)
        raise error from failures[0].error


def job_failed(ctx: RunContext, error: BaseException) -> None:
    """``launchbay_job_failed``; a plugin failing in it is a warning: the run's own error is what the user sees."""
    for failure in ctx.manager.notify("launchbay_job_failed", job=ctx.cfg.job.name, run_id=ctx.run_id, error=error):
        ctx.warn(str(failure), record=False, error=failure.error)


def write_summary(ctx: RunContext, summary: dict[str, Any]) -> None:
    """``summary.json`` of the run, with the warnings of the plugin hooks that failed so far."""
    if ctx.warnings:
        summary["warnings"] = list(ctx.warnings)
    write_atomic(ctx.run_dir / "summary.json", json.dumps(summary, indent=2, default=str))


def publish_results(ctx: RunContext, results: tuple) -> None:
    """Copy the run directory's own files (summary.json, report.html) to ``job.results``, committed
    whole; the run stands if that fails (a warning: its outputs are already committed)."""
    from launchbay import storage

    filesystem, folder = results
    try:
        with storage.staged_output(filesystem, folder, run_id=ctx.run_id) as staging:
            for path in sorted(p for p in ctx.run_dir.iterdir() if p.is_file()):
                storage.write_atomic(f"{staging}/{path.name}", path.read_bytes(), filesystem)
    except Exception as exc:
        ctx.console.print(f"[yellow]warning:[/] job.results: the run's results were not published to {storage.uri(*results)}: {exc}")


def mask_saved_configs(run_dir: Path) -> None:
    """Mask the secrets in the config and overrides Hydra saved with the run (and its sweep).

    Each file is looked at with libyaml (a hundredth of OmegaConf's time); one that holds a
    secret is read again by OmegaConf, so that what is rewritten keeps Hydra's own types."""
    import yaml
    from omegaconf import OmegaConf

    for path in [*run_dir.glob(".hydra/*.yaml"), *run_dir.parent.glob("multirun.yaml")]:
        if masked(seen := yaml.load(path.read_text(), Loader=yaml.CSafeLoader)) != seen:
            write_atomic(path, OmegaConf.to_yaml(masked(OmegaConf.to_container(OmegaConf.load(path)))))


def job_module(name: str) -> Any:
    """The module of job ``name``, or a one-line error listing the jobs."""
    from launchbay import jobs

    names = sorted(module.name for module in pkgutil.iter_modules(jobs.__path__))
    if name not in names:
        raise LaunchbayError(f"job.name: no job '{name}' (jobs: {', '.join(names)})")
    return importlib.import_module(f"launchbay.jobs.{name}")


def in_sweep() -> bool:
    """True inside a ``--multirun`` sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_api(overrides: list[str]) -> dict[str, Any]:
    """Compose the config from ``overrides`` as the CLI would and run the job."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    overrides = expand_shorthand(overrides)
    manager = prepare(overrides)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        try:
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
        except Exception as exc:
            raise LaunchbayError(compose_error(exc, manager)) from exc
    HydraConfig.instance().set_config(cfg)
    run_dir = Path(cfg.hydra.run.dir)
    with open_dict(cfg):
        del cfg["hydra"]
    return run_job(cfg, run_dir)


def prepare(overrides: list[str]) -> PluginManager:
    """The plugin manager the ``plugins.*`` overrides ask for, its configs in Hydra's ConfigStore, before composing."""
    from launchbay.config import register_schema
    from launchbay.cost.config import register_cost_schema

    register_schema()
    register_cost_schema()  # cost=<price table> builds on its schema
    manager = manager_for(override_settings(expand_shorthand(overrides)))
    manager.store_configs()
    return manager


def compose_error(exc: Exception, manager: PluginManager) -> str:
    """One line for a config that does not compose: the old ``plugins: [...]`` form, or why a
    component group option is missing (a broken or clashing plugin), or Hydra's own."""
    if f"is not a subclass of {PluginsConfig.__name__}" in str(exc):
        return "config: plugins: a list of modules is the old form; write plugins: {modules: [...]} (plugins=[...] overrides still work)"
    return manager.explain(config_error(exc))


def expand_shorthand(args: list[str]) -> list[str]:
    """``plugins=[mod]`` (and ``+plugins=...``) is short for ``plugins.modules=[mod]``."""
    return [f"plugins.modules={arg.split('=', 1)[1]}" if arg.lstrip("+").startswith("plugins=") else arg for arg in args]


def override_settings(overrides: list[str]) -> PluginsConfig:
    """The ``plugins.*`` settings the overrides give (sweeps over them are not looked at); one line if they do not fit."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    given = [o for o in overrides if o.lstrip("+").startswith("plugins.")]
    try:
        settings = OmegaConf.structured(PluginsConfig)
        for override in OverridesParser.create().parse_overrides(given):
            if not (override.is_sweep_override() or override.is_delete()):
                OmegaConf.update(settings, override.key_or_group.removeprefix("plugins."), override.value())
        return cast(PluginsConfig, OmegaConf.to_object(settings))
    except Exception as exc:
        raise LaunchbayError(config_error(exc, "plugins")) from exc


def check_composes(args: list[str]) -> DictConfig:
    """The config ``launchbay run <args>`` composes, with a wrong override as one line, not a Hydra
    traceback, and a run directory that holds other files refused before Hydra writes into it."""
    cfg = compose_args(args)
    check_run_dir(Path(cfg.hydra.run.dir).resolve())  # before Hydra writes its files into it
    return cfg


def run_composed(cfg: DictConfig, task: Callable[[DictConfig], Any]) -> None:
    """Run ``task`` on ``cfg`` (composed with Hydra's own config) as ``hydra.main`` runs a single
    job: its run directory, ``.hydra`` files, logging and callbacks, without composing it again."""
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.core.utils import run_job as run_hydra_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict

    if cfg.hydra.mode is None:
        with open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
    callbacks = Callbacks(cfg)
    callbacks.on_run_start(config=cfg, config_name=cfg.hydra.job.config_name)
    done = run_hydra_job(
        task_function=task,
        config=cfg,
        job_dir_key="hydra.run.dir",
        job_subdir_key=None,
        hydra_context=HydraContext(ConfigLoaderImpl(create_config_search_path(str(CONF_DIR))), callbacks),
    )
    callbacks.on_run_end(config=cfg, config_name=cfg.hydra.job.config_name, job_return=done)
    _ = done.return_value  # raises the job's error, as Hydra does


def compose_args(args: list[str]) -> DictConfig:
    """The config (with Hydra's own) that ``launchbay run <args>`` composes; one line if it does not."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    parsed = hydra_args(expand_shorthand(args))
    overrides = list(parsed.overrides)
    manager = prepare(overrides)
    if parsed.config_dir:
        overrides.append(f"hydra.searchpath=[file://{Path(parsed.config_dir).resolve()}]")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None, job_name=JOB_NAME):
            cfg = compose(parsed.config_name or "config", overrides=overrides, return_hydra_config=True)
    except Exception as exc:
        raise LaunchbayError(compose_error(exc, manager)) from exc
    finally:
        GlobalHydra.instance().clear()
    return cfg


def hydra_args(args: list[str]):
    """``launchbay run``'s arguments parsed exactly as ``hydra.main`` parses them."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser().parse_args(args)
