"""A run history: the ``summary.json`` of every run under a folder (``runs/`` by default), oldest first."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Run:
    """One past run: the folder its ``summary.json`` lies in, and that summary."""

    folder: Path
    summary: dict[str, Any]

    @property
    def started(self) -> float:
        """When it started (seconds since the epoch): its metered start, else when its summary was written."""
        started = (self.summary.get("usage") or {}).get("started_at")
        return float(started) if isinstance(started, int | float) else (self.folder / "summary.json").stat().st_mtime

    @property
    def model(self) -> str | None:
        """The name of the model it scored with (None for a run that scored nothing)."""
        model = self.summary.get("model")
        return model.get("name") if isinstance(model, dict) else None

    @property
    def model_version(self) -> tuple[str, str] | None:
        """The model name and version it scored with, else the one it trained; None for a run of neither."""
        model = self.summary.get("model") or (self.summary.get("train") or {}).get("model")
        return (str(model.get("name", "")), str(model.get("version", ""))) if isinstance(model, dict) else None


def runs(root: Path) -> list[Run]:
    """Every run under ``root`` with a readable ``summary.json``, oldest first."""
    found = []
    for path in Path(root).rglob("summary.json"):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict):
            found.append(Run(path.parent, summary))
    return sorted(found, key=lambda run: (run.started, str(run.summary.get("run_id", ""))))


def runs_root() -> Path | None:
    """The folder the runs of this process go under: ``hydra.run.dir``'s part before its first
    interpolation (``runs`` for ``runs/${now:...}/...``); None outside a Hydra run or without one."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized():
        return None
    pattern = str(OmegaConf.to_container(HydraConfig.get().run, resolve=False).get("dir", ""))  # type: ignore[union-attr]
    root = pattern.split("${")[0].rpartition("/")[0]
    return Path(root).resolve() if root else None


def trend_page(root: Path, model: str) -> Path:
    """Where ``launchbay monitor MODEL --dir ROOT`` writes its page by default."""
    return Path(root) / f"monitor-{model}.html"


def trend_link(run_dir: Path, model: str) -> str | None:
    """The relative link from a run directory to its model's trend page under the runs' root;
    None where the run lies outside that root."""
    root = runs_root()
    run_dir = Path(run_dir).resolve()
    if root is None or root not in run_dir.parents:
        return None
    return Path(os.path.relpath(trend_page(root, model), run_dir)).as_posix()
