"""A live progress bar for a step whose work is counted while it runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def live_progress(console, label: str, rows: Callable[[], int], parts: Callable[[], tuple[int, int | None]]) -> Iterator[None]:
    """A bar while the block runs: ``rows()`` done, rows/s and, where ``parts()`` knows how many
    pieces there are, pieces done out of all (else the bar pulses). Shown on terminals only."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    done = threading.Event()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[parts]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None, parts="", rate="")
        start = time.perf_counter()

        def poll() -> None:
            while not done.wait(0.5):
                count = rows()
                finished, total = parts()
                rate = count / max(time.perf_counter() - start, 1e-9)
                bar.update(task, description=f"{label}: {count:,} rows", total=total, completed=finished,
                           parts=f"{finished}/{total} parts" if total else "", rate=f"{rate:,.0f} rows/s")

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
