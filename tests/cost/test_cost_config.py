"""The price tables and workload shapes compose through Hydra, and every price says where and when it is from."""

from __future__ import annotations

import re

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from launchbay.cost.config import Shape, TraceConfig, compose_cost, register_cost_schema
from launchbay.cost.model import PriceTable
from launchbay.cost.traces import generate
from launchbay.errors import LaunchbayError
from launchbay.settings import CONF_DIR

PRICE_TABLES = sorted(path.stem for path in (CONF_DIR / "cost").glob("*.yaml"))
TRACES = sorted(path.stem for path in (CONF_DIR / "trace").glob("*.yaml"))
# A price line: `on_demand_per_h: 0.4032  # 2024-06, https://...`
PRICE = re.compile(r"^\s*(\w+_per_h):\s*([0-9.]+)\s*(?:#(.*))?$")
DATED_SOURCE = re.compile(r"\b20\d\d-[01]\d\b.*https://\S+")


def compose_group(*overrides: str):
    register_cost_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return compose(overrides=list(overrides))


def test_the_shipped_configs_are_there():
    assert PRICE_TABLES == ["aws", "gcp"]
    assert TRACES == ["bursty", "from_runs", "mixed", "nightly", "steady"]


@pytest.mark.parametrize("name", PRICE_TABLES)
def test_a_price_table_composes_to_the_schema(name):
    table = OmegaConf.to_object(compose_group(f"+cost={name}").cost)
    assert isinstance(table, PriceTable) and table.provider == name
    assert (table.granularity_s, table.minimum_s) == (1.0, 60.0)
    assert table.head in table.node_types and 0 < table.spot_interruptions_per_h < 1
    gpu = [node for node in table.node_types.values() if node.gpus]
    cpu = [node for node in table.node_types.values() if not node.gpus]
    assert gpu and cpu and min(node.boot_s for node in gpu) > max(node.boot_s for node in cpu) >= 60
    for node in table.node_types.values():
        assert 0 < node.spot_per_h < node.on_demand_per_h


def test_the_node_types_asked_for_are_priced():
    aws, _ = compose_cost("aws", "steady")
    gcp, _ = compose_cost("gcp", "steady")
    assert {"m7i.2xlarge", "m7i.8xlarge", "g5.xlarge"} <= set(aws.node_types)
    assert {"n2-standard-8", "g2-standard-8"} <= set(gcp.node_types)
    assert aws.node("g5.xlarge").gpus == 1 and gcp.node("n2-standard-8").cpus == 8


@pytest.mark.parametrize("name", PRICE_TABLES)
def test_every_price_has_a_dated_source(name):
    lines = (CONF_DIR / "cost" / f"{name}.yaml").read_text().splitlines()
    prices = [match for line in lines if (match := PRICE.match(line))]
    assert len(prices) >= 9  # two prices per node type and the interruption rate
    undated = [f"{match.group(1)}: {match.group(2)}" for match in prices if not DATED_SOURCE.search(match.group(3) or "")]
    assert undated == []


@pytest.mark.parametrize("name", [t for t in TRACES if t != "from_runs"])  # from_runs: tests/cost/test_bench.py
def test_a_trace_composes_and_generates_a_day(name):
    config = OmegaConf.to_object(compose_group(f"+trace={name}").trace)
    assert isinstance(config, TraceConfig) and config.shape == Shape[name]
    trace = generate(config)
    assert trace.horizon_s == 86400 and trace.slo_s and len(trace.jobs) > 20


def test_overrides_reach_the_configs():
    prices, trace = compose_cost("gcp", "bursty", ["cost.minimum_s=0", "trace.seed=5", "trace.slo_s=null"])
    assert prices.minimum_s == 0 and trace.seed == 5 and trace.slo_s is None


@pytest.mark.parametrize(
    "prices, trace, overrides, message",
    [
        ("aws", "steady", ["trace.shape=weird"], "trace.shape: Invalid value 'weird', expected one of [steady, nightly, bursty, mixed, from_runs]"),
        ("aws", "steady", ["trace.tasks=0"], "trace.tasks must be at least 1, got 0"),
        ("aws", "from_runs", ["trace.scale=0"], "trace.scale must be positive (times the history's arrival rate), got 0.0"),
        ("aws", "steady", ["trace.scale=10"], "trace.scale must be 1 for a parametric shape (set trace.jobs_per_h), got 10.0"),
        ("aws", "steady", ["cost.spot_interruptions=1"], "cost.spot_interruptions: Key 'spot_interruptions' not in 'PriceTable'"),
        ("azure", "steady", [], "Could not find 'cost/azure' (available: aws, gcp)"),
    ],
)
def test_a_config_that_does_not_fit_is_one_line(prices, trace, overrides, message):
    with pytest.raises(LaunchbayError) as error:
        compose_cost(prices, trace, overrides)
    assert message in str(error.value) and "\n" not in str(error.value)
