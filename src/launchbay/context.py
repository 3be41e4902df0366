"""What a job gets: the context of one run of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from launchbay.config import config_error, plain, typed
from launchbay.errors import LaunchbayError
from launchbay.masking import masked
from launchbay.plugins import PluginManager
from launchbay.registry import Registry


@dataclass
class RunContext:
    """A run's config, where it writes, the plugins, the registry and a console."""

    cfg: DictConfig
    run_dir: Path
    run_id: str
    manager: PluginManager
    console: Any
    timings: dict[str, float] = field(default_factory=dict)

    @cached_property
    def registry(self) -> Registry:
        """The registry at ``registry.path``, one per run."""
        return Registry(self.cfg.registry.path)

    @property
    def monitor(self) -> Any:
        """The typed drift settings."""
        return typed(self.cfg.monitor, "monitor")

    def resolved_config(self) -> dict[str, Any]:
        """The run's config as plain JSON values, secrets masked (see ``launchbay.masking``)."""
        return masked(plain(self.cfg))

    def settings(self, kind: Literal["data", "sink", "model", "alert"], node: Any) -> tuple[Any, Any]:
        """The component a config node selects (by its ``name``) and its typed settings."""
        if not node or "name" not in node:
            raise LaunchbayError(f"config: no {kind} selected")
        record = self.manager.component(kind, node["name"])
        settings = OmegaConf.structured(record.config)
        try:
            for key, value in node.items():
                if key != "name":
                    settings[key] = value  # replaces: a merge would keep keys the node deleted from a dict
        except OmegaConfBaseException as exc:
            raise LaunchbayError(config_error(exc, kind)) from exc
        return record, typed(settings, kind)

    def read(self, node: DictConfig, fragments: bool = False):
        """A Ray Dataset (or the source's list of fragments) from the data source a config
        node selects; errors name the node."""
        source, settings = self.settings("data", node)
        try:
            return source.fragments(settings) if fragments else source.read(settings)
        except LaunchbayError as exc:
            raise LaunchbayError(f"{node._key()}: {exc}") from exc

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Show a spinner while a step runs; record and print its wall time."""
        start = time.perf_counter()
        with self.console.status(f"[bold]{name}[/]…"):
            yield
        self.timings[name] = round(time.perf_counter() - start, 3)
