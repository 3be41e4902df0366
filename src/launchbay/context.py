"""What a job gets: the context of one run of it."""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from launchbay import ownership, storage
from launchbay.config import config_error, plain, typed
from launchbay.drift.config import Device, MonitorConfig
from launchbay.drift.device import require_cluster_gpu
from launchbay.errors import LaunchbayError, debugging, root_cause
from launchbay.masking import masked
from launchbay.plugins import PluginManager
from launchbay.registry import Registry
from launchbay.runtime import cuda_in_gpu_task, require_gpus

Kind = Literal["data", "sink", "model", "alert"]
# the root config's typed sections, and the nodes that select a component of a kind
SECTIONS = ("job", "score", "train", "approval", "contract", "monitor", "runtime", "registry")
SELECTIONS: dict[str, Kind] = {"data": "data", "batch": "data", "model": "model", "sink": "sink"}


def component_settings(manager: PluginManager, kind: Kind, node: Any) -> tuple[Any, Any]:
    """The component a config node selects (by its ``name``) and its typed settings."""
    if not node or "name" not in node:
        raise LaunchbayError(f"config: no {kind} selected")
    record = manager.component(kind, node["name"])
    settings = OmegaConf.structured(record.config)
    try:
        for key, value in node.items():
            if key != "name":
                settings[key] = value  # replaces: a merge would keep keys the node deleted from a dict
    except OmegaConfBaseException as exc:
        raise LaunchbayError(config_error(exc, kind)) from exc
    return record, typed(settings, kind)


@dataclass(frozen=True)
class Guarded:
    """A source's or sink's own callable (``read``, ``fragments``, ``write``): what it raises is
    one line naming the config node and the component."""

    function: Callable[..., Any]
    key: str  # the config node: data, batch, sink
    component: str  # "source 'csv' of plugin launchbay.data"

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The callable itself, so that its signature reads through (a sink's ``commit`` that takes ``run_id``)."""
        return self.function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.function(*args, **kwargs)
        except Exception as exc:
            if any(cls.__module__.startswith("ray.") for cls in type(exc).__mro__):
                raise  # a Ray task's failure (a lazy read inside a sink's write, say): the caller names it
            if isinstance(exc, LaunchbayError):  # launchbay's own errors already say what is wrong
                raise LaunchbayError(f"{self.key}: {exc}") from exc
            raise LaunchbayError(f"{self.key} ({self.component}): {root_cause(exc)}") from exc


# The callables the driver calls: a source's read and fragments, a sink's write and commit. ``write_part`` is not among them: it runs in a worker and pulls
# the source's rows itself, so what it raises may be the source's (the scoring pass names the cause).
GUARDED = {"data": ("source", ("read", "fragments")), "sink": ("sink", ("write", "commit"))}


def guarded(manager: PluginManager, kind: Kind, record: Any, key: str) -> Any:
    """``record`` (a data source or sink) with its callables wrapped in ``Guarded``."""
    role, names = GUARDED[kind]
    component = f"{role} '{record.name}' of plugin {manager.provider(kind, record.name)}"
    wrapped = {name: Guarded(getattr(record, name), key, component) for name in names if getattr(record, name) is not None}
    return dataclasses.replace(record, **wrapped)


def validate(cfg: DictConfig, manager: PluginManager) -> None:
    """Check every setting of a composed config before any work starts: the typed sections,
    the settings of each selected component and alert channel, and the drift metrics named."""
    sections = {section: typed(cfg[section], section) for section in SECTIONS}
    if cfg.get("cost") is not None:  # cost=<price table>
        typed(cfg.cost, "cost")
    for key, kind in SELECTIONS.items():
        try:
            component_settings(manager, kind, cfg[key])
        except LaunchbayError as exc:
            raise LaunchbayError(f"{key}: {exc}") from None
    for name, values in cfg.alerts.items():
        try:
            component_settings(manager, "alert", {"name": name, **(values or {})})
        except LaunchbayError as exc:
            raise LaunchbayError(f"alerts.{name}: {exc}") from None
    monitor = sections["monitor"]
    named = {"monitor.metrics": monitor.metrics, **{f"monitor.features.{f}": names for f, names in monitor.features.items()}}
    for key, metrics in named.items():
        for metric in metrics:
            try:
                manager.component("metric", metric)
            except LaunchbayError as exc:
                raise LaunchbayError(f"{key}: {exc}") from None


@dataclass
class RunContext:
    """A run's config, where it writes, the plugins, the registry and a console."""

    cfg: DictConfig
    run_dir: Path
    run_id: str
    manager: PluginManager
    console: Any
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what went wrong after outputs were committed (summary.json)

    @cached_property
    def registry(self) -> Registry:
        """The registry at ``registry.path``, one per run."""
        return Registry(self.cfg.registry.path)

    def check_locations(self) -> None:
        """Before any work: the run directory is new and the registry lies apart from the data."""
        ownership.check_run_dir(self.run_dir)
        registry = storage.resolve(self.cfg.registry.path, "registry.path")
        self._check_apart("registry.path", registry)
        if registry[0].type_name == "local":
            ownership.check_makeable(registry[1], "registry.path")

    @cached_property
    def scores_output(self) -> tuple[Any, str]:
        """Where the run's scores go (``score.output``, else ``<run dir>/scores``), checked once."""
        return self.output("score.output", self.cfg.score.output or str(self.run_dir / "scores"))

    def output(self, key: str, location: str) -> tuple[Any, str]:
        """(filesystem, path) of an output folder, once it is clear that launchbay may write it there."""
        target = storage.resolve(location, key)
        self._check_apart(key, target)
        ownership.check_output_folder(target, key)
        return target

    def _check_apart(self, key: str, target: tuple[Any, str]) -> None:
        """``target`` (of config key ``key``) lies apart from what the run reads and holds no running folder."""
        places = {"data.path": self.cfg.data, "batch.path": self.cfg.batch}
        inputs = {name: storage.resolve(node.path, name) for name, node in places.items() if node and node.get("path")}
        if key != "registry.path":
            inputs["registry.path"] = storage.resolve(self.cfg.registry.path, "registry.path")
        holds_not = {"the working directory": str(Path.cwd()), "the run directory": str(self.run_dir)}
        ownership.check_apart(target, key, inputs=inputs, holds_not=holds_not)

    @cached_property
    def monitor(self) -> MonitorConfig:
        """The typed drift settings, once a run. ``monitor.device=gpu`` is checked against the
        Ray cluster first: a one-line error when it has no GPU (or fewer than ``monitor.num_gpus``),
        and, where a task that gets its GPUs finds no CUDA device, one warning and counting on the CPU."""
        settings = typed(self.cfg.monitor, "monitor")
        if settings.device == Device.gpu:
            require_cluster_gpu()
            require_gpus(settings.num_gpus, "drift counting (monitor.num_gpus, per task)")
            if not cuda_in_gpu_task(settings.num_gpus):
                self.console.print(
                    f"[yellow]warning:[/] monitor.device=gpu, but a Ray task with {settings.num_gpus:g} GPU(s) finds no CUDA device: "
                    "drift counting falls back to the CPU"
                )
                settings.device = Device.cpu
        return settings

    def resolved_config(self) -> dict[str, Any]:
        """The run's config as plain JSON values, secrets masked (see ``launchbay.masking``)."""
        return masked(plain(self.cfg))

    def settings(self, kind: Kind, node: Any) -> tuple[Any, Any]:
        """The component a config node selects (by its ``name``) and its typed settings; a data
        source's or sink's own errors name the node and the component (see ``Guarded``)."""
        record, settings = component_settings(self.manager, kind, node)
        if kind in GUARDED and isinstance(node, DictConfig):
            record = guarded(self.manager, kind, record, node._key())
        return record, settings

    def read(self, node: DictConfig, fragments: bool = False):
        """A Ray Dataset (or the source's list of fragments) from the data source a config node selects."""
        source, settings = self.settings("data", node)
        return source.fragments(settings) if fragments else source.read(settings)

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Tell the plugins' lifecycle hook ``hook`` of something committed (a model registered, a
        batch scored, drift found): a plugin failing in it is a warning, and the run stands."""
        for failure in self.manager.notify(hook, **kwargs):
            self.warn(f"{failure}; the run's outputs stand", error=failure.error)

    def warn(self, line: str, record: bool = True, error: BaseException | None = None) -> None:
        """Print a warning (and the traceback of ``error`` when debugging); ``record``: also in ``summary.json`` (``warnings``)."""
        from rich.markup import escape

        if error is not None and debugging():
            traceback.print_exception(error)
        if record:
            self.warnings.append(line)
        self.console.print("[yellow]warning:[/]", escape(line), soft_wrap=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Show a spinner while a step runs; record and print its wall time."""
        start = time.perf_counter()
        with self.console.status(f"[bold]{name}[/]…"):
            yield
        self.timings[name] = round(time.perf_counter() - start, 3)
