"""Versioned models with their reference drift profile, in a local directory.

Layout: ``<root>/<model>/<version>/{model.pkl, meta.json, profile.json}`` and
``<root>/<model>/aliases.json``. A version directory is claimed with an atomic
``mkdir`` and filled before ``meta.json`` (its commit marker) is written, so readers
never see a half-written version. The artifact is loaded only if its sha256 matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchbay.errors import LaunchbayError


@dataclass
class RegistryConfig:
    path: str = ".launchbay/registry"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]

    def load_model(self) -> Any:
        """The fitted model, after checking the artifact's hash."""
        blob = (self.path / "model.pkl").read_bytes()
        if hashlib.sha256(blob).hexdigest() != self.meta["sha256"]:
            raise LaunchbayError(f"registry: {self.path / 'model.pkl'} does not match its recorded sha256; refusing to load")
        return pickle.loads(blob)

    def load_profile(self) -> Any:
        """The reference drift profile saved with this version."""
        from launchbay.drift.profile import DatasetProfile

        return DatasetProfile.from_json((self.path / "profile.json").read_text())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Registry:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def register(self, name: str, model: Any, profile: Any, meta: dict[str, Any]) -> ModelVersion:
        """Store a new version of ``name``; returns it."""
        blob = pickle.dumps(model, protocol=5)
        model_dir = self.root / name
        model_dir.mkdir(parents=True, exist_ok=True)
        version = max(self.versions(name, committed_only=False), default=0) + 1
        while True:
            try:
                (model_dir / str(version)).mkdir()
                break
            except FileExistsError:
                version += 1
        path = model_dir / str(version)
        (path / "model.pkl").write_bytes(blob)
        (path / "profile.json").write_text(profile.to_json())
        full = {**meta, "name": name, "version": version, "sha256": hashlib.sha256(blob).hexdigest()}
        write_atomic(path / "meta.json", json.dumps(full, indent=2, default=str))
        return ModelVersion(name, version, path, full)

    def versions(self, name: str, committed_only: bool = True) -> list[int]:
        model_dir = self.root / name
        if not model_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in model_dir.iterdir()
            if p.name.isdigit() and (not committed_only or (p / "meta.json").exists())
        )

    def models(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if self.versions(p.name)) if self.root.is_dir() else []

    def get(self, name: str, ref: str | int = "latest") -> ModelVersion:
        """A version by number, alias, or ``latest``."""
        versions = self.versions(name)
        if not versions:
            raise LaunchbayError(f"registry: no model '{name}' in {self.root} (have: {', '.join(self.models()) or 'none'})")
        ref = str(ref)
        if ref == "latest":
            version = versions[-1]
        elif ref.isdigit():
            version = int(ref)
        else:
            version = self.aliases(name).get(ref, 0)
        if version not in versions:
            raise LaunchbayError(f"registry: model '{name}' has no version or alias '{ref}' (versions: {versions})")
        path = self.root / name / str(version)
        return ModelVersion(name, version, path, json.loads((path / "meta.json").read_text()))

    def aliases(self, name: str) -> dict[str, int]:
        path = self.root / name / "aliases.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (an atomic file replace)."""
        self.get(name, version)
        write_atomic(self.root / name / "aliases.json", json.dumps({**self.aliases(name), alias: version}, indent=2))
