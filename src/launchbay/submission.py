"""What ``launchbay submit`` sends to a cluster's Jobs API, worked out from the config the job
will compose: the entrypoint, the runtime_env that carries the user's code, and where the
run keeps what must outlive it.

- The working dir travels (your config dir and plugin modules with it); ``plugins=[...]``
  modules that live elsewhere travel as ``py_modules``; a ``--config-dir`` must lie inside it.
- Installed plugin packages that the config selects are pip-installed for the job
  (``--install-plugins``) or checked present before it starts (``LAUNCHBAY_REQUIRES``).
- A job's working dir on the cluster is temporary: with ``--storage`` the registry, the scores
  and the run's results go to shared storage; without it, relative paths are refused.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from launchbay.app import compose_args
from launchbay.context import SELECTIONS
from launchbay.errors import LaunchbayError
from launchbay.plugins import REQUIRES_ENV, PluginManager, manager_for, plugin_settings

EXCLUDES = [".git", ".venv", "runs", ".launchbay", "__pycache__", "*.parquet"]
# where each of these goes under --storage ({id}: the submission id)
STORAGE_LAYOUT = {"registry.path": "registry", "score.output": "scores/{id}", "job.results": "results/{id}"}
SCORING_JOBS = ("score", "pipeline")
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
PLAIN_VALUE = re.compile(r"[\w./:@-]+")


@dataclass
class Submission:
    submission_id: str
    overrides: list[str]
    runtime_env: dict[str, Any]
    staging: Path  # one-file plugin modules staged as packages (see ``outside_modules``), if any; removed by ``discard``
    packages: list[str] = field(default_factory=list)  # plugin packages the config selects
    results: str | None = None  # where the run publishes summary.json and its report
    autoscaling: bool = False  # the cluster adds nodes on demand (see ``runtime.autoscaling``)

    def entrypoint(self, debug: bool = False) -> str:
        """The command the cluster runs."""
        on_cluster = ["runtime=cluster", "runtime.address=auto", *(["runtime.autoscaling=true"] if self.autoscaling else [])]
        return shlex.join(["launchbay", *(["--debug"] if debug else []), "run", *self.overrides, *on_cluster])

    def discard(self) -> None:
        """Remove the staging folder once the job is submitted."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def metadata(self) -> dict[str, str]:
        return {"launchbay.overrides": " ".join(self.overrides), "launchbay.results": self.results or ""}


def new_id() -> str:
    return f"lb-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def plan(
    overrides: list[str], *, submission_id: str, working_dir: str, storage: str | None, install_plugins: bool, pip: list[str],
    autoscaling: bool = False,
) -> Submission:
    """The submission of ``launchbay run <overrides>``; one line if the config would not work on a cluster."""
    working = Path(working_dir).resolve()
    if not working.is_dir():
        raise LaunchbayError(f"--working-dir {working_dir}: not a folder")
    placed = storage_overrides(overrides, storage, submission_id)
    cfg = compose_args([*overrides, *placed])  # here, as the job will compose it there
    overrides = [*relocate_config_dir(list(overrides), working), *placed]
    check_shared(cfg)
    manager = manager_for(plugin_settings(cfg.plugins))
    packages = plugin_packages(cfg, manager)
    runtime_env: dict[str, Any] = {"working_dir": str(working), "excludes": EXCLUDES}
    staging = Path(tempfile.gettempdir()) / f"launchbay-submit-{submission_id}"
    if modules := outside_modules(list(cfg.plugins.modules), working, staging):
        runtime_env["py_modules"] = modules
    if requirements := [*pip, *(packages if install_plugins else [])]:
        runtime_env["pip"] = requirements
    if packages and not install_plugins:
        runtime_env["env_vars"] = {REQUIRES_ENV: " ".join(packages)}
    return Submission(submission_id, overrides, runtime_env, staging, packages, cfg.job.results, autoscaling)


def relocate_config_dir(overrides: list[str], working: Path) -> list[str]:
    """A ``--config-dir`` made relative to the working dir (where the job runs); outside it, an error."""
    relocated = []
    tokens = iter(overrides)
    for token in tokens:
        flag, given = token, None
        if token in CONFIG_DIR_FLAGS:
            given = next(tokens, "")
        elif token.startswith("--config-dir="):
            flag, given = token.split("=", 1)
        if given is None:
            relocated.append(token)
            continue
        where = Path(given).resolve()
        if not where.is_relative_to(working):
            raise LaunchbayError(
                f"--config-dir {given} lies outside --working-dir {working}: only the working dir travels to the cluster"
            )
        relocated += [flag.partition("=")[0], str(where.relative_to(working))]
    return relocated


def storage_overrides(overrides: list[str], storage: str | None, submission_id: str) -> list[str]:
    """``key=<storage>/<place>`` for each place of ``STORAGE_LAYOUT`` the overrides leave unset."""
    if not storage:
        return []
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o}
    base, _, query = storage.partition("?")
    base, suffix = base.rstrip("/"), f"?{query}" if query else ""
    return [
        f"{key}={override_value(f'{base}/{place.format(id=submission_id)}{suffix}')}"
        for key, place in STORAGE_LAYOUT.items()
        if key not in given
    ]


def override_value(value: str) -> str:
    """``value`` as Hydra's override grammar reads it back: quoted when it holds ``=``, ``&`` and the like."""
    return value if PLAIN_VALUE.fullmatch(value) else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_shared(cfg: DictConfig) -> None:
    """Refuse places the run writes that would stay in the job's temporary working dir."""
    places = {"registry.path": cfg.registry.path}
    if cfg.job.name in SCORING_JOBS:
        places["score.output"] = cfg.score.output or "<run dir>/scores"
    if cfg.job.results:
        places["job.results"] = cfg.job.results
    hint = "pass --storage (s3://bucket/prefix, or a folder every node mounts) or give an absolute shared path"
    for key, value in places.items():
        if "://" not in value and not os.path.isabs(value):
            raise LaunchbayError(f"{key}={value} would lie in the job's temporary working dir on the cluster and be lost: {hint}")


def plugin_packages(cfg: DictConfig, manager: PluginManager) -> list[str]:
    """``name==version`` of each installed plugin package that provides a component the config selects."""
    selected: list[tuple[str, str]] = [(kind, cfg[key]["name"]) for key, kind in SELECTIONS.items() if cfg[key] and "name" in cfg[key]]
    selected += [("alert", name) for name in cfg.alerts]
    monitor = cfg.monitor
    selected += [("metric", m) for m in [*monitor.metrics, *(m for names in monitor.features.values() for m in names)]]
    packages = {manager.distribution(manager.provider(kind, name)) for kind, name in selected if name in manager.components(kind)}
    return sorted(p for p in packages if p)


def outside_modules(modules: list[str], working: Path, staging: Path) -> list[str]:
    """The package folders of ``plugins=[...]`` modules that lie outside the working dir; a
    one-file module is staged as a package of the same name under ``staging`` (Ray uploads folders)."""
    found = set()
    for module in modules:
        top = module.split(".")[0]
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin is None:
            continue  # a namespace package, or not importable here: the run on the cluster says so
        origin = Path(spec.origin).resolve()
        if origin.is_relative_to(working) or "site-packages" in origin.parts:
            continue
        if origin.name == "__init__.py":
            found.add(str(origin.parent))
        else:
            package = staging / top
            package.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, package / "__init__.py")
            found.add(str(package))
    return sorted(found)
