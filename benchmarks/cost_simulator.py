"""Cost simulator: a day of a 1,000-node autoscaling cluster with 100,000 tasks.

    python benchmarks/cost_simulator.py [--tasks 100000] [--max-workers 1000] [--seed 0]

Builds a day-long trace (jobs of 1 to 200 tasks of 1, 4 or 8 CPUs, arriving more often in
the afternoon, a few large bursts), plays it on Ray's autoscaler rules over 16-CPU nodes
(``launchbay.cost.simulate``), and prints the wall time and how many simulated seconds
pass per wall second. Nothing runs on Ray.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from launchbay.cost.model import AutoscalingPolicy, NodeType, PriceTable, Trace, TraceJob
from launchbay.cost.simulate import simulate, sizing

DAY_S = 86_400.0


def day_trace(tasks: int, seed: int) -> Trace:
    """Jobs until ``tasks`` tasks: busier from 9:00 to 18:00, and a burst of large jobs every 4 hours."""
    rng = np.random.default_rng(seed)
    jobs: list[TraceJob] = []
    left = tasks
    while left > 0:
        size = int(min(left, rng.integers(1, 201)))
        hour = rng.choice(24, p=_hourly_share())
        arrival = float(hour * 3600 + rng.uniform(0, 3600))
        if rng.random() < 0.02:  # a burst: the job lands at the next 4-hour mark
            arrival = float(min(DAY_S - 1, (arrival // 14_400 + 1) * 14_400))
        cpus = float(rng.choice([1.0, 4.0, 8.0], p=[0.2, 0.6, 0.2]))
        task_s = float(rng.lognormal(np.log(900), 0.6))
        jobs.append(TraceJob(arrival, tasks=size, task_s=task_s, cpus=cpus, name=f"job-{len(jobs)}"))
        left -= size
    jobs.sort(key=lambda job: job.arrival_s)
    return Trace("bench-day", jobs, horizon_s=DAY_S)


def _hourly_share() -> np.ndarray:
    hours = np.arange(24)
    weight = 1.0 + 2.0 * ((hours >= 9) & (hours < 18))
    return weight / weight.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--max-workers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    node = NodeType(cpus=16, on_demand_per_h=0.768, spot_per_h=0.30, boot_s=180)
    prices = PriceTable(node_types={"m5.4xlarge": node})
    policy = AutoscalingPolicy("autoscaling", "m5.4xlarge", min_workers=0, max_workers=args.max_workers, upscaling_speed=1.0, idle_timeout_s=300)
    trace = day_trace(args.tasks, args.seed)
    print(f"trace: {len(trace.jobs):,} jobs, {sum(job.tasks for job in trace.jobs):,} tasks, {trace.cpu_seconds() / 3600:,.0f} CPU-hours")
    print(f"fixed sizes for this demand (16-CPU nodes): {sizing(trace, node)}")

    started = time.perf_counter()
    outcome = simulate(trace, policy, prices)
    wall_s = time.perf_counter() - started

    up = sorted([(span.requested_s, 1) for span in outcome.nodes] + [(span.down_s, -1) for span in outcome.nodes])
    most = max(np.cumsum([step for _, step in up]), default=0)
    print(f"nodes launched: {len(outcome.nodes):,}, most at once: {most:,}, node-hours: {outcome.node_seconds() / 3600:,.0f}")
    print(f"job latency p50 / p95: {outcome.latency_quantile(0.5):,.0f} s / {outcome.latency_quantile(0.95):,.0f} s")
    print(f"wall time: {wall_s:.2f} s; {outcome.horizon_s / wall_s:,.0f} simulated seconds per wall second")


if __name__ == "__main__":
    main()
