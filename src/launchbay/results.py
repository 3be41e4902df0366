"""Fetching a submitted run's published results (``job.results``) to this machine."""

from __future__ import annotations

from pathlib import Path

from launchbay import ownership, storage
from launchbay.errors import LaunchbayError


def fetch(source: str, target: str) -> list[Path]:
    """Copy the files of the results folder ``source`` (a folder or URI) into the local folder
    ``target``, committed whole; an existing ``target`` is replaced only if launchbay wrote it."""
    filesystem, folder = storage.resolve(source, "job.results")
    files = [f for f in storage.list_files(filesystem, folder) if not f.base_name.startswith((".", "_"))]
    if not files:
        raise LaunchbayError(f"{source}: no published results (the run may not have finished publishing them)")
    local, final = storage.resolve(str(Path(target).resolve()), "--to")
    ownership.check_output_folder((local, final), "--to")
    with storage.staged_output(local, final, source=source) as staging:
        for info in files:
            with filesystem.open_input_stream(info.path) as stream:
                storage.write_atomic(f"{staging}/{info.base_name}", stream.read())
    return sorted(Path(final, info.base_name) for info in files)
