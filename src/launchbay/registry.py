"""Versioned models with their lineage, contract and reference drift profile.

The registry lives on any pyarrow filesystem: a local directory by default, or a URI
(``s3://bucket/registry``, ``gs://...``, ``file:///...``) resolved by
``pyarrow.fs.FileSystem.from_uri``. Layout under the root::

    <model>/<version>/model.pkl, profile.json, contract.json, calibration.json   artifacts
    <model>/<version>/meta.json         commit marker: lineage, metrics, sha256 of each artifact
    <model>/<version>/claim-<stamp>     the writer that claimed this version number
    <model>/aliases/<alias>/<stamp>-v<version>.json   one record per alias move
    <model>/decisions/<stamp>.json      promotion decisions and their reasons
    <model>/audit.jsonl, audit-head.json   every change, hash-chained (see launchbay.audit)

Nothing is rewritten in place, so every step is one whole-object write
(``storage.write_atomic``: a local file is written under a dot-name and renamed, an
object store PUT is atomic). A writer claims the number after the highest one taken with a
claim file in its folder (``storage.claim``: write, then list; with strongly consistent
listings, as on local disks, S3, GCS and Azure, two writers never both own it). A writer
that meets an older claim tries the next number while the oldest keeps its own, so a number
is skipped only when its claimant dies or stalls. An alias is the newest of its move records (``<stamp>`` is the time
in nanoseconds and a random suffix), so concurrent moves never tear or lose a record: the
latest wins and every move stays in the history. Each record keeps the alias's stack of
versions (a move pushes, a rollback pops) as it was read plus that one move, so a record
follows from one before it: two concurrent rollbacks go back one step, not two.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import pickle
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from launchbay import storage
from launchbay.approvals import Candidacy, candidacies
from launchbay.audit import AuditLog
from launchbay.errors import LaunchbayError

MODEL_FILE, PROFILE_FILE, CONTRACT_FILE, META_FILE = "model.pkl", "profile.json", "contract.json", "meta.json"
CALIBRATION_FILE = "calibration.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")
ALIAS_RECORD = re.compile(r"^(\d+-[0-9a-f]+)-v(\d+)\.json$")
# meta keys that always differ between versions and say nothing in a diff
NOT_COMPARED = {"version", "files", "sha256", "registered_at", "run_id"}
# meta keys every committed version has
REQUIRED_META = ("name", "version", "sha256")


@dataclass
class RegistryConfig:
    path: str = ".launchbay/registry"  # a directory or a pyarrow filesystem URI (s3://bucket/prefix)


@dataclass(frozen=True)
class ModelVersion:
    """One committed version; artifacts are read only if their sha256 matches ``meta``."""

    name: str
    version: int
    path: PurePath  # inside the registry's filesystem (a local path for local registries)
    meta: dict[str, Any]
    filesystem: Any  # pyarrow.fs.FileSystem

    @property
    def uri(self) -> str:
        return storage.uri(self.filesystem, str(self.path))

    def read_bytes(self, filename: str) -> bytes:
        """An artifact of this version, after checking its sha256."""
        where = f"{self.path}/{filename}"
        expected = self.meta.get("files", {}).get(filename) or (self.meta.get("sha256") if filename == MODEL_FILE else None)
        try:
            with self.filesystem.open_input_stream(where) as f:
                blob = f.read()
        except OSError as exc:
            raise LaunchbayError(f"registry: {self.uri}/{filename} cannot be read ({exc})") from exc
        if expected is None or hashlib.sha256(blob).hexdigest() != expected:
            raise LaunchbayError(f"registry: {self.uri}/{filename} does not match its recorded sha256; refusing to load")
        return blob

    def read_text(self, filename: str) -> str:
        return self.read_bytes(filename).decode()

    def load_model(self) -> Any:
        """The fitted model, after checking the artifact's hash."""
        return pickle.loads(self.read_bytes(MODEL_FILE))

    def load_profile(self) -> Any:
        """The reference drift profile saved with this version."""
        from launchbay.drift.profile import DatasetProfile

        return DatasetProfile.from_json(self.read_text(PROFILE_FILE))

    def load_contract(self) -> Any:
        """The data contract saved with this version, or None for versions registered without one."""
        from launchbay.validation import Contract

        if CONTRACT_FILE not in self.meta.get("files", {}):
            return None
        return Contract.from_json(self.read_text(CONTRACT_FILE), f"{self.uri}/{CONTRACT_FILE}")

    def load_calibration(self) -> dict[str, Any] | None:
        """The score calibration saved with this version (JSON, see ``launchbay.performance.cbpe``), or
        None for versions registered without one (not binary classifiers, older versions)."""
        if CALIBRATION_FILE not in self.meta.get("files", {}):
            return None
        try:
            return json.loads(self.read_text(CALIBRATION_FILE))
        except ValueError as exc:
            raise LaunchbayError(f"registry: {self.uri}/{CALIBRATION_FILE} is not valid JSON: {exc}") from exc


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def who() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return socket.gethostname()


def check_name(kind: str, name: str) -> str:
    if not NAME.match(name) or (kind == "alias" and (name == "latest" or name.isdigit())):
        raise LaunchbayError(f"registry: {kind} name '{name}' is not valid (letters, digits and _.=+- ; not 'latest' or a number)")
    return name


class Registry:
    """Model name -> versions; aliases moved by appending records; decisions kept beside them."""

    def __init__(self, root: str | Path, filesystem: Any = None) -> None:
        if filesystem is not None:
            self.fs, self.root = filesystem, str(root).rstrip("/")
        else:
            self.fs, path = storage.resolve(str(root), "registry.path")
            self.root = path.rstrip("/")
        self.local = self.fs.type_name == "local"
        self.uri = storage.uri(self.fs, self.root)
        if self.fs.get_file_info(self.root).is_file:
            raise LaunchbayError(f"registry.path: {self.uri} is a file; the registry is a directory")

    def existing(self) -> Registry:
        """This registry, which must exist: a path that does not is a mistake, not an empty registry."""
        if not self._exists():
            raise LaunchbayError(f"registry: {self.uri} does not exist (--registry or registry.path names a registry's directory or URI)")
        return self

    def _exists(self) -> bool:
        from pyarrow import fs as pafs

        return self.fs.get_file_info(self.root).type != pafs.FileType.NotFound

    # --- storage primitives ---------------------------------------------------------

    def _path(self, *parts: Any) -> str:
        return "/".join([self.root, *map(str, parts)])

    def _files(self, *parts: Any, recursive: bool = False) -> list[Any]:
        """File infos under a folder (none if it is missing), temporary files left out."""
        return [i for i in storage.list_files(self.fs, self._path(*parts), recursive) if not i.base_name.startswith(".")]

    def _read_json(self, path: str) -> dict[str, Any]:
        """A JSON record of the registry, or a one-line error naming the file."""
        where = storage.uri(self.fs, path)
        try:
            with self.fs.open_input_stream(path) as f:
                record = json.loads(f.read())
        except OSError as exc:
            raise LaunchbayError(f"registry: {where} cannot be read: {exc}") from exc
        except ValueError as exc:
            raise LaunchbayError(f"registry: {where} is not valid JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise LaunchbayError(f"registry: {where} is not a JSON object")
        return record

    def _put_record(self, path: str, record: dict[str, Any]) -> None:
        storage.write_atomic(path, json.dumps(record, indent=2, default=str), self.fs)

    # --- versions -------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        profile: Any,
        meta: dict[str, Any],
        contract: Any = None,
        calibration: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> ModelVersion:
        """Store a new version of ``name`` (artifacts, then ``meta.json`` last, then its audit entry); returns it."""
        check_name("model", name)
        artifacts = {MODEL_FILE: pickle.dumps(model, protocol=5), PROFILE_FILE: profile.to_json().encode()}
        if contract is not None:
            artifacts[CONTRACT_FILE] = contract.to_json().encode()
        if calibration is not None:
            artifacts[CALIBRATION_FILE] = json.dumps(calibration).encode()
        version = self._claim_version(name)
        for filename, blob in artifacts.items():
            storage.write_atomic(self._path(name, version, filename), blob, self.fs)
        files = {filename: hashlib.sha256(blob).hexdigest() for filename, blob in artifacts.items()}
        full = {**meta, "name": name, "version": version, "sha256": files[MODEL_FILE], "files": files, "registered_at": now()}
        self._put_record(self._path(name, version, META_FILE), full)
        self._audit(name, "register", version, by, "", meta.get("run_id"))
        return self._version(name, version, full)

    def _claim_version(self, name: str) -> int:
        """The next free version number, owned by this writer (see the module docstring)."""
        while True:
            taken = [int(i.path.split("/")[-2]) for i in self._files(name, recursive=True) if i.path.split("/")[-2].isdigit()]
            version = max(taken, default=0) + 1
            if storage.claim(self.fs, self._path(name, version), "claim-", who()):
                return version

    def _version(self, name: str, version: int, meta: dict[str, Any]) -> ModelVersion:
        path = Path(self._path(name, version)) if self.local else PurePosixPath(self._path(name, version))
        return ModelVersion(name, version, path, meta, self.fs)

    def versions(self, name: str) -> list[int]:
        """Version numbers of ``name`` whose ``meta.json`` is written."""
        found = set()
        for info in self._files(name, recursive=True):
            folder = info.path.split("/")[-2]
            if folder.isdigit() and info.base_name == META_FILE:
                found.add(int(folder))
        return sorted(found)

    def models(self) -> list[str]:
        from pyarrow import fs as pafs

        folders = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return sorted(i.base_name for i in folders if i.type == pafs.FileType.Directory and self.versions(i.base_name))

    def get(self, name: str, ref: str | int = "latest") -> ModelVersion:
        """A version by number, alias, or ``latest``."""
        versions = self.versions(name)
        if not versions:
            self.existing()
            raise LaunchbayError(f"registry: no model '{name}' in {self.uri} (have: {', '.join(self.models()) or 'none'})")
        ref = str(ref)
        if ref == "latest":
            version = versions[-1]
        elif ref.isdigit():
            version = int(ref)
        else:
            version = self.aliases(name).get(ref, 0)
        if version not in versions:
            raise LaunchbayError(f"registry: model '{name}' has no version or alias '{ref}' (versions: {versions})")
        return self.load(name, version)

    def load(self, name: str, version: int) -> ModelVersion:
        """Version ``version`` of ``name`` as its ``meta.json`` records it; a one-line error naming a broken one."""
        path = self._path(name, version, META_FILE)
        meta = self._read_json(path)
        missing = [key for key in REQUIRED_META if key not in meta]
        if missing:
            raise LaunchbayError(f"registry: {storage.uri(self.fs, path)} is incomplete: it has no {', '.join(missing)}")
        return self._version(name, version, meta)

    def diff(self, name: str, a: str | int, b: str | int) -> dict[str, tuple[Any, Any]]:
        """Every lineage field (config, data fingerprint, metrics, packages...) where two versions differ."""
        left, right = flatten(self.get(name, a).meta), flatten(self.get(name, b).meta)
        keys = sorted(k for k in left.keys() | right.keys() if k.split(".")[0] not in NOT_COMPARED)
        return {k: (left.get(k), right.get(k)) for k in keys if left.get(k) != right.get(k)}

    # --- aliases --------------------------------------------------------------------

    def _alias_records(self, name: str, alias: str | None = None) -> list[tuple[str, str, int, str]]:
        """(stamp, alias, version, path) of every alias move, oldest first."""
        found = []
        for info in self._files(*([name, "aliases"] + ([alias] if alias else [])), recursive=True):
            match = ALIAS_RECORD.match(info.base_name)
            if match:
                found.append((match[1], info.path.split("/")[-2], int(match[2]), info.path))
        return sorted(found)

    def aliases(self, name: str) -> dict[str, int]:
        """Alias -> version, each alias at its newest move."""
        return {alias: version for _, alias, version, _ in self._alias_records(name)}

    def history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        """The alias moves of ``name`` (of one alias, or all), oldest first."""
        return [self._read_json(path) for *_, path in self._alias_records(name, alias)]

    def _stack(self, name: str, alias: str) -> list[int]:
        """The versions ``alias`` has held, oldest first, its current one last."""
        records = self._alias_records(name, alias)
        newest = self._read_json(records[-1][-1]) if records else {"stack": []}
        if "stack" in newest:
            return newest["stack"]
        held: list[int] = []  # records written before they kept the stack: replay them
        for record in self.history(name, alias):
            held = held[:-1] if record["action"] == "rollback" else [*held, record["version"]]
        return held

    def set_alias(self, name: str, alias: str, version: int, reason: str = "", by: str | None = None, run_id: str | None = None) -> None:
        """Point ``alias`` at ``version``: one new record, written atomically."""
        check_name("alias", alias)
        version = self.get(name, version).version
        candidacy = self.candidacies(name).get(version)
        if candidacy is not None and candidacy.alias == alias and not candidacy.promoted:
            raise LaunchbayError(
                f"registry: {name} v{version} needs approval to become {alias} ({candidacy.state}, "
                f"{len(candidacy.approvers)} of {candidacy.required} approvals): launchbay models approve {name} {version} --by NAME"
            )
        held = self._stack(name, alias)
        self._move(name, alias, held, [*held, version], reason, "set", by, run_id)

    def rollback(self, name: str, alias: str = "champion", reason: str = "", by: str | None = None, run_id: str | None = None) -> int:
        """Move ``alias`` back to the version it held before its current one; returns that version.

        Moves form a stack: a move pushes, a rollback pops, so rolling back twice goes
        two moves back.
        """
        held = self._stack(name, alias)
        if len(held) < 2:
            raise LaunchbayError(f"registry: '{name}' has no earlier {alias} to roll back to (moves: {held or 'none'})")
        self._move(name, alias, held, held[:-1], reason or f"rollback from v{held[-1]}", "rollback", by, run_id)
        return held[-2]

    def _move(self, name: str, alias: str, held: list[int], stack: list[int], reason: str, action: str, by: str | None, run_id: str | None) -> None:
        """Write the record of one move of ``alias`` from the stack ``held`` to ``stack``, then its audit entry."""
        record = {
            "alias": alias,
            "version": stack[-1],
            "previous": held[-1] if held else None,
            "stack": stack,
            "action": action,
            "reason": reason,
            "at": now(),
            "by": by or who(),
        }
        self._put_record(self._path(name, "aliases", alias, f"{storage.stamp()}-v{stack[-1]}.json"), record)
        self._audit(name, "promote" if action == "set" else action, stack[-1], by, reason, run_id, alias=alias, previous=record["previous"])

    # --- approval -------------------------------------------------------------------

    def candidacies(self, name: str) -> dict[int, Candidacy]:
        """Version -> its latest candidacy for an alias (see launchbay.approvals)."""
        return candidacies(self.audit(name).entries())

    def propose(
        self, name: str, version: int, alias: str, evidence: dict[str, Any], required: int, separate_duties: bool, expires_h: float,
        run_id: str | None,
    ) -> Candidacy:
        """Make ``version`` a candidate for ``alias``: registered, not promoted until ``required`` names approve it."""
        expires = (datetime.now(UTC) + timedelta(hours=expires_h)).isoformat(timespec="seconds")
        self._audit(
            name, "candidate", version, None, f"awaits {required} approval(s) to become {alias}", run_id,
            alias=alias, required=required, separate_duties=separate_duties, author=who(), expires_at=expires, evidence=evidence,
        )
        return self.candidacies(name)[version]

    def pending(self, name: str) -> list[Candidacy]:
        """The candidates of ``name`` awaiting approval; one past its expiry expires first (an audit entry)."""
        waiting = []
        for candidacy in self.candidacies(name).values():
            if candidacy.state == "pending" and candidacy.past_expiry():
                self._audit(name, "expire", candidacy.version, "launchbay", f"no decision by {candidacy.expires_at}", None)
            elif candidacy.state == "pending":
                waiting.append(candidacy)
        return waiting

    def decide(self, name: str, version: int, by: str | None, reason: str, approve: bool) -> Candidacy:
        """Approve or reject candidate ``version``; the approval that completes its count promotes it."""
        by = by or who()
        candidacy = next((c for c in self.pending(name) if c.version == version), None)
        if candidacy is None:
            state = self.candidacies(name).get(version)
            why = f"it is {state.state}" if state else "it is not a candidate"
            raise LaunchbayError(f"registry: {name} v{version} awaits no decision: {why} (launchbay models pending {name})")
        if approve and candidacy.separate_duties and candidacy.is_author(by):
            raise LaunchbayError(f"registry: {by} trained {name} v{version} and cannot approve it (approval.separate_duties=true)")
        if approve and by in candidacy.approvers:
            raise LaunchbayError(f"registry: {by} has approved {name} v{version} already; it needs another name")
        self._audit(name, "approve" if approve else "reject", version, by, reason, None)
        candidacy = self.candidacies(name)[version]
        if candidacy.promoted:
            self.set_alias(name, candidacy.alias, version, reason=f"approved by {', '.join(candidacy.approvers)}", by=by)
        return candidacy

    def refuse(self, name: str, version: int, reason: str, run_id: str | None) -> None:
        """Record that the promotion rule refused challenger ``version`` and why (the champion stays)."""
        self._audit(name, "refuse", version, None, reason, run_id)

    # --- audit ----------------------------------------------------------------------

    def audit(self, name: str) -> AuditLog:
        """The audit log of model ``name``."""
        return AuditLog(self.fs, self._path(name), storage.uri(self.fs, self._path(name)))

    def _audit(self, name: str, action: str, version: int, by: str | None, reason: str, run_id: str | None, **more: Any) -> None:
        self.audit(name).append(action=action, version=version, by=by or who(), at=now(), reason=reason, run_id=run_id, **more)

    # --- decisions ------------------------------------------------------------------

    def record_decision(self, name: str, decision: dict[str, Any]) -> None:
        """Keep a promotion decision and its reasons with the model."""
        self._put_record(self._path(name, "decisions", f"{storage.stamp()}.json"), {**decision, "at": now(), "by": who()})

    def decisions(self, name: str) -> list[dict[str, Any]]:
        """Recorded decisions of ``name``, oldest first."""
        return [self._read_json(i.path) for i in sorted(self._files(name, "decisions"), key=lambda i: i.base_name)]


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": leaf}`` (an empty dict is a leaf)."""
    if not isinstance(node, dict) or not node:
        return {prefix: node}
    return {k: v for key, value in node.items() for k, v in flatten(value, f"{prefix}.{key}" if prefix else str(key)).items()}
