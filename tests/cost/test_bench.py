"""``launchbay bench cost`` as a user runs it, and the usage every run meters, which
``trace=from_runs`` turns into the user's own workload (that command and ``runs list --cost`` in this process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from in_process import launchbay_main

import launchbay


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launchbay", "bench", "cost", *args], capture_output=True, text=True, cwd=cwd)


def test_bench_compares_fixed_and_autoscaling_clusters(tmp_path):
    out = bench("trace=steady", "cost=aws", "trace.horizon_s=21600", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (report,) = tmp_path.glob("bench/*/*-steady/cost.json")
    result = json.loads(report.read_text())
    names = [p["policy"] for p in result["policies"]]
    assert any(n.startswith("fixed") for n in names) and any(n.startswith("autoscale") for n in names)
    assert (report.parent / "cost.png").stat().st_size > 10_000
    assert result["recommendation"].startswith("Use ") and result["recommendation"] in " ".join(out.stdout.split())
    fixed = [p for p in result["policies"] if p["policy"].startswith("fixed")]
    assert all(p["node_hours"] >= 6 for p in fixed)  # a fixed cluster is billed the whole horizon


def test_bench_errors_are_one_line(tmp_path):
    for args, message in [
        ((), None),
        (("node_type=nope",), "no node type 'nope'"),
        (("trace=nope",), "trace"),
        (("fixed=[lots]",), "fixed must be peak, p95, mean or a node count"),
    ]:
        out = (subprocess.run([sys.executable, "-m", "launchbay", "bench"], capture_output=True, text=True, cwd=tmp_path)
               if message is None else bench(*args, cwd=tmp_path))
        assert out.returncode == 1 and out.stderr.count("\n") == 1 and out.stderr.startswith("launchbay: error:"), (args, out.stderr)
        assert message is None or message in out.stderr


def test_every_run_meters_its_usage_and_from_runs_prices_it(ray_session, in_tmp):
    summaries = [launchbay.run(["job=train", "data.rows=1500", "data.chunk_rows=500"]) for _ in range(2)]
    for summary in summaries:
        usage = summary["usage"]
        assert usage["tasks"] >= 1 and usage["task_s_mean"] > 0 and usage["cpus_per_task"] > 0
        assert 0 < usage["cpu_s"] <= usage["wall_s"] * 2  # the session's Ray has 2 CPUs
        ((kind, seconds),) = usage["node_s"].items()
        assert usage["node_types"][kind]["cpus"] == 2 and 0 < seconds <= usage["wall_s"] + 0.01
        assert usage["stages_s"]["fit"] > 0
    listed = launchbay_main("runs", "list", "--cost", "aws", cwd=in_tmp, COLUMNS="200")
    assert listed.returncode == 0 and "cost (aws, USD)" in listed.stdout and listed.stdout.count(" 0.003360 ") == 2  # the 60 s minimum
    out = launchbay_main("bench", "cost", "trace=from_runs", f"trace.path={in_tmp / 'runs'}", cwd=in_tmp)
    assert out.returncode == 0, out.stderr
    (report,) = in_tmp.glob("bench/*/*-from_runs/cost.json")
    assert json.loads(report.read_text())["trace"]["jobs"] == 2


def test_a_runs_nodes_are_priced_at_the_cheapest_type_that_holds_them():
    from launchbay.cost.billing import run_cost
    from launchbay.cost.model import NodeType, PriceTable

    prices = PriceTable(node_types={"small": NodeType(cpus=4, on_demand_per_h=0.2), "big": NodeType(cpus=16, on_demand_per_h=0.8),
                                    "gpu": NodeType(cpus=4, gpus=1, on_demand_per_h=1.0)})
    usage = {"node_s": {"head": 30.0, "worker": 3600.0, "gpu worker": 1800.0},
             "node_types": {"head": {"cpus": 2, "gpus": 0}, "worker": {"cpus": 8, "gpus": 0}, "gpu worker": {"cpus": 4, "gpus": 1}}}
    assert run_cost(usage, prices) == pytest.approx(60 * 0.2 / 3600 + 0.8 + 0.5)  # the head: the 60 s minimum


def test_bench_right_sizes_across_the_node_types_that_hold_the_tasks(tmp_path):
    out = bench("trace=steady", "cost=aws", "trace.horizon_s=21600", "autoscaling.spot=[false]", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(next(tmp_path.glob("bench/*/*-steady/cost.json")).read_text())
    types = {p["settings"]["node_type"] for p in result["policies"]}
    assert types == {"m7i.xlarge", "m7i.2xlarge", "m7i.8xlarge"}  # no GPU type for CPU tasks
    assert all(f"× {p['settings']['node_type']}" in p["policy"] for p in result["policies"])
    best = min((p for p in result["policies"] if p["latency_p95_s"] <= 900), key=lambda p: p["cost"])
    assert result["right_sizing"].startswith(f"Right-sizing: run on {best['settings']['node_type']}, not today's m7i.2xlarge")
    assert result["right_sizing"] in " ".join(out.stdout.split()) and best["policy"] in result["right_sizing"]
    (tmp_path / "one").mkdir()
    one = bench("trace=steady", "cost=aws", "trace.horizon_s=21600", "node_types=[m7i.2xlarge]", cwd=tmp_path / "one")
    assert one.returncode == 0, one.stderr
    single = json.loads(next((tmp_path / "one").glob("bench/*/*-steady/cost.json")).read_text())
    assert single["right_sizing"] is None and not any("×" in p["policy"] for p in single["policies"])


def test_gpu_tasks_are_compared_on_the_types_with_gpus_only(tmp_path):
    out = bench("trace=steady", "cost=aws", "trace.horizon_s=7200", "trace.gpus=1", "autoscaling.spot=[false]", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(next(tmp_path.glob("bench/*/*-steady/cost.json")).read_text())
    assert {p["settings"]["node_type"] for p in result["policies"]} == {"g5.xlarge"} and result["right_sizing"] is None
    assert all(p["gpu_allocation"] is not None for p in result["policies"])
    none = bench("trace=steady", "cost=aws", "trace.cpus=64", cwd=tmp_path)
    assert none.returncode == 1 and "no node type of the aws price table holds every task" in none.stderr and none.stderr.count("\n") == 1


def test_a_mixed_trace_compares_mixed_clusters_and_plays_spot_interruptions(tmp_path):
    out = bench("trace=mixed", "cost=aws", "trace.horizon_s=14400", "autoscaling.idle_timeout_s=[60]", "interruptions.seeds=4",
                "cost.spot_interruptions_per_h=1.0", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(next(tmp_path.glob("bench/*/*-mixed/cost.json")).read_text())
    sets = {tuple(p["node_types"]) for p in result["policies"]}
    assert ("g5.xlarge",) in sets and ("m7i.xlarge", "g5.xlarge") in sets  # one type that holds all, and CPU + GPU types
    assert ("m7i.xlarge", "m7i.2xlarge", "m7i.8xlarge", "g5.xlarge") in sets  # one autoscaler over all, Ray's scorer picks
    mixed_fixed = next(p for p in result["policies"] if p["kind"] == "fixed" and p["node_types"] == ["m7i.xlarge", "g5.xlarge"])
    assert mixed_fixed["gpu_allocation"] > 0 and mixed_fixed["settings"]["extra_types"]["g5.xlarge"] >= 1
    played = result["interruptions"]
    assert {p["policy"] for p in played} == {p["policy"] for p in result["policies"] if p["settings"]["spot"]}
    for p in played:
        assert p["seeds"] == 4 and p["cost"]["min"] <= p["cost"]["mean"] <= p["cost"]["max"]
    assert sum(p["interruptions"]["mean"] for p in played) > 0  # one an hour per node: some are taken back
    assert "spot interruptions as events (4 seeds)" in out.stdout
    (tmp_path / "q").mkdir()
    quiet = bench("trace=mixed", "cost=aws", "trace.horizon_s=7200", "interruptions.seeds=0", cwd=tmp_path / "q")
    assert quiet.returncode == 0 and json.loads(next((tmp_path / "q").glob("bench/*/*/cost.json")).read_text())["interruptions"] == []
