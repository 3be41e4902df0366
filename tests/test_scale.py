"""Scoring streams: a batch many times the object store's size completes, and peak memory
does not grow with the input. Slow: run alone with ``make test-slow``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import psutil
import pytest

pytestmark = pytest.mark.slow


def peak_rss_of(args: list[str], cwd) -> tuple[subprocess.CompletedProcess, int]:
    """Run a command; return its result and the peak RSS of it and all its children."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                continue
            peak = max(peak, total)
            time.sleep(0.1)

    watcher = threading.Thread(target=sample)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    return subprocess.CompletedProcess(args, proc.returncode, out, err), peak


def test_scoring_memory_does_not_grow_with_the_input(tmp_path):
    launch = [sys.executable, "-m", "launchbay", "run"]
    trained = subprocess.run([*launch, "job=train", "data.rows=5000"], cwd=tmp_path, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    peaks = {}
    for rows in (1_000_000, 4_000_000):  # about 110 MB and 450 MB of Arrow data; the object store holds 100 MB
        out, peaks[rows] = peak_rss_of(
            [*launch, "job=score", f"batch.rows={rows}", "batch.chunk_rows=100000",
             "runtime.object_store_memory_mb=100", "runtime.num_cpus=2", "job.model_version=1",
             f"score.output={tmp_path / f'scores-{rows}'}"],
            tmp_path,
        )
        assert out.returncode == 0, out.stderr
        summary = json.loads(max(tmp_path.glob("runs/*/*-score/summary.json"), key=lambda p: p.stat().st_mtime).read_text())
        assert summary["scores"]["rows"] == rows
    assert peaks[4_000_000] < 1.3 * peaks[1_000_000], f"peak RSS grew with the input: {peaks}"
