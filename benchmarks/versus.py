"""``job=score`` best of 3 and the plain loop on the same files, with whichever launchbay the
interpreter imports: run it with two installs in turn to compare two commits side by side.

    python benchmarks/versus.py [--rows 10000000] [--files 20] [--data DIR] [OVERRIDE ...]

The data (``--rows`` × 20 float32 features in ``--files`` parquet files, as benchmarks/score.py
writes them) is written once under ``--data`` and reused. Overrides go to every scoring run,
e.g. ``score.performance=false`` on a tree that has the performance counts. The comparison in
benchmarks/README.md alternates the two installs twice:

    git worktree add ../old 702b9a3 && python3 -m venv ../old/.venv && ../old/.venv/bin/pip install -e ../old
    for i in 1 2; do ../old/.venv/bin/python benchmarks/versus.py; .venv/bin/python benchmarks/versus.py score.performance=false; done
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from score import fresh, plain_loop, write_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "launchbay-versus")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()

    import launchbay
    from launchbay.registry import Registry
    from launchbay.runtime import RuntimeConfig, start

    root = (args.data / f"{args.rows}-{args.files}").resolve()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"batch-{args.rows}"
    if not folder.exists():
        write_inputs(root, args.rows, args.files, seed=1)
    work = Path(tempfile.mkdtemp(prefix="launchbay-versus-"))
    os.chdir(work)
    print(f"launchbay from {Path(launchbay.__file__).parent}")
    start(RuntimeConfig(object_store_memory_mb=2048))
    launchbay.run(["job=train", "data=parquet", f"data.path={folder / 'part-000.parquet'}", "model=logreg", "job.report=false", "job.model_name=cheap"])
    score = ["job=score", "data@batch=parquet", f"batch.path={folder}", "job.model_name=cheap", "job.report=false", "score.drift=false", *args.overrides]
    launchbay.run([*score, f"score.output={work / 'warm'}"])  # the workers start and load their kernels
    runs = []
    for i in range(3):
        start_s = time.perf_counter()
        launchbay.run([*score, f"score.output={work / f'run-{i}'}"])
        runs.append(time.perf_counter() - start_s)
    model = Registry(".launchbay/registry").get("cheap").load_model()
    loops = []
    for _ in range(3):
        out = fresh(work / "plain")
        start_s = time.perf_counter()
        plain_loop(model, folder, out)
        loops.append(time.perf_counter() - start_s)
    print(f"job=score best {min(runs):.2f} s (all {', '.join(f'{t:.2f}' for t in runs)}); plain loop best {min(loops):.2f} s; "
          f"launchbay / plain loop {min(loops) / min(runs):.2f}x")


if __name__ == "__main__":
    main()
