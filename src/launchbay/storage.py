"""Where launchbay reads and writes: local paths and pyarrow filesystem URIs (``s3://``,
``gs://``, ``hdfs://``, ``abfs://``, ``file://``), and outputs that appear whole or not at all.

One file (a summary, a report, a registry record) is written whole by ``write_atomic``.
An output folder is written under a staging folder of the run's own beside it
(``.<name>.<token>.staging``) and committed at the end with a ``_SUCCESS`` file (JSON: what
wrote it, its files and when they were committed), the convention Spark and Hadoop readers
wait for. On a local filesystem the commit is two renames (the old output aside to
``.<name>.<token>.retired``, the staging folder in its place), so readers see the old output
or a new one, never a mix; of two runs committing at once, one rename wins and the other
run fails, or the later commit replaces the earlier whole. Object stores cannot rename a
folder: the old files are deleted, the new ones copied in, and ``_SUCCESS`` written last, so
a reader that waits for ``_SUCCESS`` never reads a partial output; a commit holds a ``claim``
(``.<name>.commit-<stamp>`` beside the output) while it runs, so two runs never copy into one
output at once: the one that finds the other's live claim fails.

A commit claim names its owner (host, pid and the process's start time, run id, when) and a
lease (``LAUNCHBAY_COMMIT_LEASE_S`` seconds, 60 by default) that the owner renews while it
copies. A claim whose owner is gone (same host, no such process, or another process under its
pid) or whose lease ran out (the only test for an owner on another host) is stale: a later
commit deletes it, takes the output over with one warning line, and rewrites it whole. Of two
runs that find one stale claim, the older claimant commits and the other fails, as with a live
claim. A run killed while it writes leaves its staging folder, which readers skip.
"""

from __future__ import annotations

import json
import os
import posixpath
import random
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

SUCCESS = "_SUCCESS"
LIST_ATTEMPTS = 5
CLAIM_WAITS = 200  # listings the oldest claimant makes for younger ones to withdraw
LEASE_ENV = "LAUNCHBAY_COMMIT_LEASE_S"
DEFAULT_LEASE_S = 60.0


def resolve(path: str, key: str) -> tuple[FileSystem, str]:
    """(filesystem, path inside it) of a local path or a URI; a one-line error naming ``key``."""
    from pyarrow import fs

    if "://" not in str(path):
        return fs.LocalFileSystem(), str(Path(path).expanduser().resolve())
    try:
        return fs.FileSystem.from_uri(str(path))
    except Exception as exc:
        raise LaunchbayError(f"{key}: cannot open '{path}' ({exc})") from exc


def uri(filesystem: FileSystem, path: str) -> str:
    """How a user names ``path``: plain when local, else with its scheme."""
    return path if filesystem.type_name == "local" else f"{filesystem.type_name}://{path}"


def stamp() -> str:
    """A name part that sorts by creation time and is unique across writers."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def list_files(filesystem: FileSystem, folder: str, recursive: bool = False) -> list:
    """File infos under ``folder`` (none if it is missing)."""
    from pyarrow import fs

    selector = fs.FileSelector(folder, allow_not_found=True, recursive=recursive)
    for attempt in range(LIST_ATTEMPTS):
        try:
            infos = filesystem.get_file_info(selector)
            break
        except FileNotFoundError:  # a concurrent writer created or renamed an entry mid-listing
            if attempt == LIST_ATTEMPTS - 1:
                raise
            time.sleep(0.01)
    return [i for i in infos if i.type == fs.FileType.File]


def files_under(filesystem: FileSystem, root: str) -> list[str]:
    """Paths of the files under ``root`` relative to it, sorted (none if it is missing)."""
    return sorted(f.path[len(root.rstrip("/")) + 1 :] for f in list_files(filesystem, root, recursive=True))


def claims(filesystem: FileSystem, folder: str, prefix: str) -> list[str]:
    """The paths of the claim files ``<folder>/<prefix>*``, oldest first (their stamps sort by time)."""
    return sorted(i.path for i in list_files(filesystem, folder) if i.base_name.startswith(prefix))


def claim(filesystem: FileSystem, folder: str, prefix: str, content: str, stale: Callable[[str], str | None] | None = None) -> str | None:
    """The path of a new claim file ``<folder>/<prefix><stamp>`` if this writer owns it, else None.

    The writer lists the claims with ``prefix`` after writing its own: seeing only its own, it
    owns the claim; seeing an older one, it withdraws (deletes its own); the oldest lists again
    while younger ones withdraw. With strongly consistent listings, as on local disks, S3, GCS
    and Azure, two writers never both own a claim. ``stale(path)``, where given, says why an
    older claim no longer counts (None: it does): such a claim is deleted and its reason
    warned about, in one line, once this writer owns the claim.
    """
    mine = f"{folder}/{prefix}{stamp()}"
    write_atomic(mine, content, filesystem)
    reasons: dict[str, str] = {}
    for _ in range(CLAIM_WAITS):
        found = claims(filesystem, folder, prefix)
        older = [other for other in found if other < mine]
        for other in older:
            if stale is None or (why := stale(other)) is None:
                filesystem.delete_file(mine)
                return None
            reasons[other] = why
            _delete_file(filesystem, other)
        if found[len(older) :] == [mine]:
            for why in filter(None, reasons.values()):
                print(f"launchbay: warning: {why}", file=sys.stderr)
            return mine
        if not older:
            time.sleep(random.uniform(0.001, 0.01))
    filesystem.delete_file(mine)
    return None


@dataclass(frozen=True)
class Owner:
    """Who holds a commit claim, and until when unless renewed."""

    host: str
    pid: int
    started: str | None  # the process's start time (Linux), so that a reused pid is not taken for the owner
    run_id: str | None
    claimed: str
    expires: float  # seconds since the epoch

    @classmethod
    def me(cls, run_id: str | None, lease_s: float) -> Owner:
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()), run_id, datetime.now(UTC).isoformat(), time.time() + lease_s)

    def renewed(self, lease_s: float) -> Owner:
        return Owner(self.host, self.pid, self.started, self.run_id, self.claimed, time.time() + lease_s)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def gone(self) -> str | None:
        """Why this owner no longer holds its claim (its process is gone, its lease ran out), or None."""
        if self.host == socket.gethostname() and not self.alive():
            return f"its process {self.pid} on {self.host} is gone"
        if self.host != socket.gethostname() and time.time() > self.expires:
            return f"its lease ran out at {datetime.fromtimestamp(self.expires, UTC).isoformat(timespec='seconds')}"
        return None

    def alive(self) -> bool:
        """Whether the owner's process (on this host) still runs: its pid, not a zombie, started when it did."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process
            pass
        started = process_start(self.pid)
        return started != "zombie" and (self.started is None or started is None or started == self.started)


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot ("zombie" for a dead child not
    yet waited for), from ``/proc``; None where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return "zombie" if fields[0] in ("Z", "X") else fields[19]


def commit_lease_s() -> float:
    """The lease of a commit claim in seconds: ``LAUNCHBAY_COMMIT_LEASE_S``, else the default."""
    value = os.environ.get(LEASE_ENV, "")
    try:
        lease = float(value) if value else DEFAULT_LEASE_S
    except ValueError:
        lease = 0.0
    if not lease > 0:
        raise LaunchbayError(f"{LEASE_ENV} must be a positive number of seconds, got '{value}'")
    return lease


def stale_commit(filesystem: FileSystem, output: str) -> Callable[[str], str | None]:
    """``claim``'s ``stale`` for the commit claims of ``output``: the one warning line that takes one over, or
    None while its owner holds it. A claim without an owner (written by an older launchbay) leases from its stamp."""

    def judge(path: str) -> str | None:
        try:
            text = filesystem.open_input_stream(path).read().decode()
        except FileNotFoundError:
            return ""  # withdrawn or taken over meanwhile
        except OSError:  # an object store's read of a claim deleted meanwhile may fail otherwise: it counts until read
            return None
        try:
            owner = Owner(**json.loads(text))
        except (TypeError, ValueError):
            created = int(path.rsplit("commit-", 1)[1].split("-")[0]) / 1e9
            owner = Owner("unknown", 0, None, None, datetime.fromtimestamp(created, UTC).isoformat(), created + commit_lease_s())
        why = owner.gone()
        if why is None:
            return None
        run = f"run {owner.run_id}" if owner.run_id else "a run"
        return f"took over the commit of {output} from {run} (pid {owner.pid} on {owner.host}, since {owner.claimed}): {why}"

    return judge


@contextmanager
def renewing(filesystem: FileSystem, path: str, owner: Owner, lease_s: float) -> Iterator[None]:
    """Renew ``owner``'s claim at ``path`` every third of its lease until the block ends."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease_s / 3):
            write_atomic(path, owner.renewed(lease_s).to_json(), filesystem)

    thread = threading.Thread(target=renew, name="launchbay-commit-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def write_atomic(path: str | os.PathLike, data: bytes | str, filesystem: FileSystem | None = None) -> None:
    """Write ``data`` (a str as UTF-8) to ``path`` so that readers see the old content or the new, whole.

    Locally (``filesystem`` None or local) the data goes to a dot-file in the same folder
    that is renamed over ``path``; elsewhere one whole-object write, which object stores
    make atomic. Missing parent folders are made.
    """
    data = data.encode() if isinstance(data, str) else data
    if filesystem is not None and filesystem.type_name != "local":
        filesystem.create_dir(posixpath.dirname(str(path)), recursive=True)
        with filesystem.open_output_stream(str(path)) as out:
            out.write(data)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def node_local_warning(filesystem: FileSystem, path: str, machines: int) -> str | None:
    """A warning when workers on several machines would each write under a local ``path``."""
    if filesystem.type_name != "local" or machines < 2:
        return None
    return (
        f"{path} is a local path and the cluster's nodes run on {machines} machines: each worker writes its part where it runs, "
        "so unless this is a shared mount, use shared storage (s3://, gs://, hdfs://)"
    )


@contextmanager
def staged_output(filesystem: FileSystem, final: str, **about: object) -> Iterator[str]:
    """Yield a new, empty staging folder of its own that becomes ``final`` only if the block succeeds.

    On failure the staging folder is deleted and ``final`` is left as it was; on success
    ``final`` (a re-run of the same output) is replaced whole, ``_SUCCESS`` included, with
    ``about`` (JSON values: the run, the model) written into it. A commit that meets another
    run's commit of ``final`` fails with a one-line error (see the module docstring).
    """
    final = final.rstrip("/")
    if "/" not in final:
        raise LaunchbayError(f"cannot write an output at the root of '{final}': name a folder under it")
    parent, name = final.rsplit("/", 1)
    staging = f"{parent}/.{name}.{uuid.uuid4().hex[:12]}.staging"
    local = filesystem.type_name == "local"
    if local:  # object stores have no folders to make
        filesystem.create_dir(staging)
    try:
        yield staging
        if local:
            _rename_into(filesystem, staging, final, about)
        else:
            _copy_into(filesystem, staging, final, about)
    finally:
        _delete(filesystem, staging)


def _rename_into(filesystem: FileSystem, staging: str, final: str, about: dict) -> None:
    """Rename the old output aside and the staging folder in its place (a rename fails onto a folder that is not empty)."""
    _write_success(filesystem, staging, about)
    retired = f"{staging.removesuffix('.staging')}.retired"
    try:
        if _exists(filesystem, final):
            filesystem.move(final, retired)
        filesystem.move(staging, final)
    except OSError as exc:
        if _exists(filesystem, retired) and not _exists(filesystem, final):
            filesystem.move(retired, final)  # no other run took its place: put the old output back
        raise LaunchbayError(
            f"{final} was not committed, another run may have committed it at the same time; this run's output was discarded ({exc})"
        ) from exc
    finally:
        _delete(filesystem, retired)


def _copy_into(filesystem: FileSystem, staging: str, final: str, about: dict) -> None:
    """Holding the commit claim, delete the old files, copy the new ones in and write ``_SUCCESS`` last."""
    parent, name = final.rsplit("/", 1)
    lease_s = commit_lease_s()
    owner = Owner.me(str(about["run_id"]) if "run_id" in about else None, lease_s)
    mine = claim(filesystem, parent, f".{name}.commit-", owner.to_json(), stale_commit(filesystem, uri(filesystem, final)))
    if mine is None:
        raise LaunchbayError(
            f"{uri(filesystem, final)} was not committed: another run is committing it "
            f"(a claim {uri(filesystem, parent)}/.{name}.commit-* whose owner is alive and whose lease runs); this run's output was discarded"
        )
    try:
        with renewing(filesystem, mine, owner, lease_s):
            _delete(filesystem, final)
            for relative in files_under(filesystem, staging):
                filesystem.copy_file(f"{staging}/{relative}", f"{final}/{relative}")
            _write_success(filesystem, final, about)
    finally:
        filesystem.delete_file(mine)


def _write_success(filesystem: FileSystem, folder: str, about: dict) -> None:
    committed = datetime.now(UTC).isoformat()
    manifest = {**about, "files": files_under(filesystem, folder), "committed": committed}
    with filesystem.open_output_stream(f"{folder}/{SUCCESS}") as out:
        out.write(json.dumps(manifest, indent=1).encode())


def _exists(filesystem: FileSystem, path: str) -> bool:
    from pyarrow import fs

    return filesystem.get_file_info(path).type != fs.FileType.NotFound


def _delete_file(filesystem: FileSystem, path: str) -> None:
    try:
        filesystem.delete_file(path)
    except FileNotFoundError:  # deleted by another writer meanwhile
        pass


def _delete(filesystem: FileSystem, folder: str) -> None:
    if _exists(filesystem, folder):
        filesystem.delete_dir(folder)
