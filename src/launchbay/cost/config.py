"""The cost model's structured configs: price tables (``conf/cost``) and workload shapes (``conf/trace``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hydra.core.config_store import ConfigStore

from launchbay.config import config_error, typed
from launchbay.cost.model import PriceTable
from launchbay.errors import LaunchbayError
from launchbay.settings import CONF_DIR, require

# The workload shapes of ``launchbay.cost.traces``.
Shape = StrEnum("Shape", ["steady", "nightly", "bursty", "mixed", "from_runs"])


@dataclass
class TraceConfig:
    """A parametric workload: jobs arrive at a steady rate, plus bursts for the nightly and bursty shapes."""

    shape: Shape = Shape.steady
    name: str = ""  # the trace's name; empty: the shape's
    seed: int = 0
    horizon_s: float = 86400.0  # one day
    slo_s: float | None = None  # a job's latency should stay under this; None: no SLO
    jobs_per_h: float = 6.0  # Poisson arrivals over the whole horizon (between the bursts)
    burst_jobs: int = 0  # jobs per burst (nightly, bursty)
    burst_window_s: float = 600.0  # a burst's jobs arrive within this
    burst_at_h: float = 2.0  # nightly: the hour of the day its burst starts
    bursts_per_h: float = 0.5  # bursty: Poisson rate of bursts
    tasks: int = 4  # tasks per job
    task_s: float = 120.0  # mean seconds of a task
    task_s_cv: float = 0.3  # coefficient of variation of a task's seconds (gamma distributed); 0: all equal
    cpus: float = 1.0  # per task
    gpus: float = 0.0  # per task (mixed: per task of the GPU jobs)
    gpu_jobs_per_h: float = 0.0  # mixed: Poisson arrivals of GPU jobs beside the CPU ones
    gpu_tasks: int = 1  # mixed: tasks per GPU job
    path: str = "runs"  # from_runs: the run history whose usage sections become the trace
    scale: float = 1.0  # from_runs: this many times the history's arrival rate (each run repeated, see traces.repeated)

    def __post_init__(self) -> None:
        require(self.horizon_s > 0, "trace.horizon_s", "positive", self.horizon_s)
        require(self.slo_s is None or self.slo_s > 0, "trace.slo_s", "positive (or null: no SLO)", self.slo_s)
        require(self.jobs_per_h >= 0, "trace.jobs_per_h", "0 or more", self.jobs_per_h)
        require(self.burst_jobs >= 0, "trace.burst_jobs", "0 or more", self.burst_jobs)
        require(self.burst_window_s >= 0, "trace.burst_window_s", "0 or more", self.burst_window_s)
        require(0 <= self.burst_at_h < 24, "trace.burst_at_h", "an hour of the day in [0, 24)", self.burst_at_h)
        require(self.bursts_per_h >= 0, "trace.bursts_per_h", "0 or more", self.bursts_per_h)
        require(self.tasks >= 1, "trace.tasks", "at least 1", self.tasks)
        require(self.task_s > 0, "trace.task_s", "positive", self.task_s)
        require(self.task_s_cv >= 0, "trace.task_s_cv", "0 or more", self.task_s_cv)
        require(self.cpus > 0, "trace.cpus", "positive", self.cpus)
        require(self.gpus >= 0, "trace.gpus", "0 or more", self.gpus)
        require(self.gpu_jobs_per_h >= 0, "trace.gpu_jobs_per_h", "0 or more", self.gpu_jobs_per_h)
        require(self.gpu_tasks >= 1, "trace.gpu_tasks", "at least 1", self.gpu_tasks)
        require(self.shape != Shape.mixed or self.gpus > 0, "trace.gpus", "positive for the mixed shape (its GPU jobs' GPUs a task)", self.gpus)
        require(self.scale > 0, "trace.scale", "positive (times the history's arrival rate)", self.scale)
        require(self.scale == 1 or self.shape == Shape.from_runs, "trace.scale", "1 for a parametric shape (set trace.jobs_per_h)", self.scale)


@dataclass
class SweepConfig:
    """The autoscaling settings ``launchbay bench cost`` sweeps (every combination is a policy)."""

    min_workers: list[int] = field(default_factory=lambda: [0])
    max_workers: int | None = None  # None: the fixed cluster's size at peak demand
    upscaling_speed: list[float] = field(default_factory=lambda: [1.0])
    idle_timeout_s: list[float] = field(default_factory=lambda: [60.0, 600.0])
    spot: list[bool] = field(default_factory=lambda: [False, True])


@dataclass
class ValidateConfig:
    """``--validate``: replay the trace on Ray's real autoscaler beside the simulation."""

    compression: float = 30.0  # trace seconds per wall second


@dataclass
class InterruptionConfig:
    """Spot interruptions played as events (each spot policy simulated once per seed) beside their expected cost."""

    seeds: int = 20  # 0: the expected cost only

    def __post_init__(self) -> None:
        require(self.seeds >= 0, "interruptions.seeds", "0 or more", self.seeds)


@dataclass
class BenchConfig:
    """``launchbay bench cost``: a workload, a price table, the policies to compare (``conf/bench.yaml``)."""

    cost: PriceTable = field(default_factory=PriceTable)
    trace: TraceConfig = field(default_factory=TraceConfig)
    node_type: str = "m7i.2xlarge"  # the workers' node type today, from the price table
    node_types: list[str] | None = None  # the types compared (right-sizing); None: every type of the price table that holds the trace's tasks
    fixed: list[str] = field(default_factory=lambda: ["peak", "p95", "mean"])  # sizes: a demand level or a node count
    autoscaling: SweepConfig = field(default_factory=SweepConfig)
    update_interval_s: float = 5.0  # the simulated autoscaler's period (Ray's default)
    interruptions: InterruptionConfig = field(default_factory=InterruptionConfig)
    validate: bool = False
    replay: ValidateConfig = field(default_factory=ValidateConfig)

    def __post_init__(self) -> None:
        require(self.update_interval_s > 0, "update_interval_s", "positive", self.update_interval_s)
        require(self.replay.compression >= 1, "replay.compression", "at least 1", self.replay.compression)
        for size in self.fixed:
            require(size in ("peak", "p95", "mean") or (size.isdigit() and int(size) > 0), "fixed", "peak, p95, mean or a node count", size)


def register_cost_schema() -> None:
    """Store the schemas that ``conf/cost/*.yaml`` and ``conf/trace/*.yaml`` build on."""
    store = ConfigStore.instance()
    store.store(name="price_table_schema", node=PriceTable, provider="launchbay")
    store.store(name="trace_schema", node=TraceConfig, provider="launchbay")
    store.store(name="bench_schema", node=BenchConfig, provider="launchbay")


def compose_cost(prices: str, trace: str, overrides: list[str] | None = None) -> tuple[PriceTable, TraceConfig]:
    """The price table ``conf/cost/<prices>.yaml`` and workload ``conf/trace/<trace>.yaml``, with
    ``overrides`` such as ``trace.seed=3`` or ``cost.minimum_s=0``; a one-line error if they do not compose."""
    cfg = composed([f"+cost={prices}", f"+trace={trace}", *(overrides or [])])
    return typed(cfg.cost, "cost"), typed(cfg.trace, "trace")


def price_table(prices: str) -> PriceTable:
    """The price table ``conf/cost/<prices>.yaml``."""
    return typed(composed([f"+cost={prices}"]).cost, "cost")


def composed(overrides: list[str]):
    """The cost groups composed from ``overrides``; a one-line error if they do not compose."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_cost_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            return compose(overrides=overrides)
    except Exception as exc:
        raise LaunchbayError(config_error(exc)) from exc
    finally:
        GlobalHydra.instance().clear()
