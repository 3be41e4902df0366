"""Commit rows into an output on an object store and stop in the middle of the commit, holding
its claim. Run as ``python commit_child.py URI RUN_ID ROWS`` by ``test_commit_recovery.py``.

Prints ``ready`` and waits for a line on stdin before it commits; prints ``committing`` once
it holds the claim, the old output deleted and the new parts copied in (before ``_SUCCESS``),
and waits for another line there: the test kills it at that point or lets it finish.
"""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow.fs import FileSystem

from launchbay import storage


def main(output: str, run_id: str, rows: int) -> None:
    filesystem, path = FileSystem.from_uri(output)
    write_success = storage._write_success

    def paused(fs, folder: str, about: dict) -> None:
        print("committing", flush=True)
        sys.stdin.readline()
        write_success(fs, folder, about)

    storage._write_success = paused
    print("ready", flush=True)
    sys.stdin.readline()
    with storage.staged_output(filesystem, path, run_id=run_id) as staging:
        pq.write_table(pa.table({"run": [run_id] * rows}), f"{staging}/part-0.parquet", filesystem=filesystem)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
