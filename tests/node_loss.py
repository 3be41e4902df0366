"""Score on a local Ray cluster of a head and two worker nodes, and kill one worker node while
the batch is being scored. Run as ``python node_loss.py WORKDIR ROWS`` by ``test_faults.py``;
prints the summary's rows and the number of nodes killed as JSON on its last line.

The cluster is ``ray.cluster_utils.Cluster`` (several raylets in this process's session),
which stops exactly the processes it started.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from ray.cluster_utils import Cluster

import launchbay


def main(workdir: Path, rows: int) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    killed: list[str] = []

    def kill_a_node() -> None:
        staging = workdir.glob(".scores.*.staging/part-*")
        deadline = time.monotonic() + 120
        while not any(True for _ in staging) and time.monotonic() < deadline:
            time.sleep(0.05)
            staging = workdir.glob(".scores.*.staging/part-*")
        cluster.remove_node(workers[0], allow_graceful=False)
        killed.append(workers[0].unique_id)

    killer = threading.Thread(target=kill_a_node)
    killer.start()
    try:
        summary = launchbay.run(
            ["job=score", "runtime=cluster", f"runtime.address={cluster.address}", "batch.drift.mean_shift=0",
             f"batch.rows={rows}", "batch.chunk_rows=20000", f"score.output={workdir / 'scores'}"]
        )
    finally:
        killer.join()
        cluster.shutdown()
    print(json.dumps({"rows": summary["scores"]["rows"], "killed": len(killed)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
