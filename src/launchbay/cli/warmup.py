"""``launchbay warmup``: compile the numba kernels into their on-disk cache (``make install`` runs it)."""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> None:
    p = sub.add_parser(
        "warmup",
        help="compile the numba kernels into their on-disk cache, so that the first run compiles nothing",
        description="Call the counting, contract, drift and performance code of a run on a few hundred rows of every "
        "column type, so that numba compiles each kernel once, here, and every later process (Ray workers included) reads it from disk.",
    )
    p.set_defaults(func=warmup)


def warmup(args: argparse.Namespace) -> None:
    from launchbay.warmup import warm_up

    start = time.perf_counter()
    warm_up()
    print(f"numba kernels compiled and cached in {time.perf_counter() - start:.1f} s")
