"""Where launchbay reads and writes: local paths and pyarrow filesystem URIs (``s3://``,
``gs://``, ``hdfs://``, ``abfs://``, ``file://``), and outputs that appear whole or not at all.

One file (a summary, a report, a registry record) is written whole by ``write_atomic``.
An output folder is written under a staging folder beside it and committed at the end with a
``_SUCCESS`` file (JSON: what wrote it, its files and when they were committed), the convention Spark and
Hadoop readers wait for. On a local filesystem the commit is one rename, so readers see
the old output or the new one, never a mix. Object stores cannot rename a folder: the old
files are deleted, the new ones copied in, and ``_SUCCESS`` written last, so a reader that
waits for ``_SUCCESS`` never reads a partial output.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from launchbay.errors import LaunchbayError

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

SUCCESS = "_SUCCESS"


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


def files_under(filesystem: FileSystem, root: str) -> list[str]:
    """Paths of the files under ``root`` relative to it, sorted (none if it is missing)."""
    from pyarrow import fs

    found = filesystem.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True))
    return sorted(f.path[len(root.rstrip("/")) + 1 :] for f in found if f.type == fs.FileType.File)


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


def node_local_warning(filesystem: FileSystem, path: str, nodes: int) -> str | None:
    """A warning when workers on several nodes would each write under a local ``path``."""
    if filesystem.type_name != "local" or nodes < 2:
        return None
    return (
        f"{path} is a local path and the cluster has {nodes} nodes: each worker writes its part where it runs, "
        "so unless this is a shared mount, use shared storage (s3://, gs://, hdfs://)"
    )


@contextmanager
def staged_output(filesystem: FileSystem, final: str, **about: object) -> Iterator[str]:
    """Yield a new, empty staging folder that becomes ``final`` only if the block succeeds.

    On failure the staging folder is deleted and ``final`` is left as it was; on success
    ``final`` (a re-run of the same output) is replaced whole, ``_SUCCESS`` included, with
    ``about`` (JSON values: the run, the model) written into it.
    """
    final = final.rstrip("/")
    if "/" not in final:
        raise LaunchbayError(f"cannot write an output at the root of '{final}': name a folder under it")
    parent, name = final.rsplit("/", 1)
    staging = f"{parent}/.{name}.staging"
    local = filesystem.type_name == "local"
    _delete(filesystem, staging)
    if local:  # object stores have no folders to make
        filesystem.create_dir(staging)
    try:
        yield staging
    except BaseException:
        _delete(filesystem, staging)
        raise
    if local:
        _write_success(filesystem, staging, about)
        retired = f"{parent}/.{name}.retired"
        _delete(filesystem, retired)
        if _exists(filesystem, final):
            filesystem.move(final, retired)
        filesystem.move(staging, final)
        _delete(filesystem, retired)
        return
    _delete(filesystem, final)
    for relative in files_under(filesystem, staging):
        filesystem.copy_file(f"{staging}/{relative}", f"{final}/{relative}")
    _write_success(filesystem, final, about)
    _delete(filesystem, staging)


def _write_success(filesystem: FileSystem, folder: str, about: dict) -> None:
    committed = datetime.now(UTC).isoformat()
    manifest = {**about, "files": files_under(filesystem, folder), "committed": committed}
    with filesystem.open_output_stream(f"{folder}/{SUCCESS}") as out:
        out.write(json.dumps(manifest, indent=1).encode())


def _exists(filesystem: FileSystem, path: str) -> bool:
    from pyarrow import fs

    return filesystem.get_file_info(path).type != fs.FileType.NotFound


def _delete(filesystem: FileSystem, folder: str) -> None:
    if _exists(filesystem, folder):
        filesystem.delete_dir(folder)
