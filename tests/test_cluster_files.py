"""The cluster definitions in ``cluster/``: the ``ray up`` YAML against Ray's own schema, and
the KubeRay manifests' key fields."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

CLUSTER = Path(__file__).parents[1] / "cluster"
RAY_MINOR = ".".join(ray.__version__.split(".")[:2])


def load(name: str) -> dict:
    return yaml.safe_load((CLUSTER / name).read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())


def test_ray_up_yaml_follows_rays_schema_and_bounds(schema):
    cfg = load("ray-up.yaml")
    jsonschema.validate(cfg, schema)
    types = cfg["available_node_types"]
    assert cfg["head_node_type"] in types and types[cfg["head_node_type"]]["resources"] == {"CPU": 0}
    workers = {name: t for name, t in types.items() if name != cfg["head_node_type"]}
    assert workers and all(0 <= t["min_workers"] <= t["max_workers"] <= cfg["max_workers"] for t in workers.values())
    assert cfg["upscaling_speed"] > 0 and cfg["idle_timeout_minutes"] > 0
    assert any(f"ray[default,data]=={RAY_MINOR}." in command for command in cfg["setup_commands"])


def test_the_schema_check_can_fail(schema):
    broken = copy.deepcopy(load("ray-up.yaml"))
    broken["max_workers"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def containers(spec: dict) -> list[dict]:
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    return [c for group in groups for c in group["template"]["spec"]["containers"]]


@pytest.mark.parametrize("name", ["kuberay/raycluster.yaml", "kuberay/rayjob.yaml"])
def test_kuberay_manifests_pin_ray_and_scale_within_bounds(name):
    manifest = load(name)
    assert manifest["apiVersion"] == "ray.io/v1"
    spec = manifest["spec"] if manifest["kind"] == "RayCluster" else manifest["spec"]["rayClusterSpec"]
    assert spec["rayVersion"].startswith(f"{RAY_MINOR}.") and spec["enableInTreeAutoscaling"] is True
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert all(0 <= g["minReplicas"] <= g["maxReplicas"] for g in spec["workerGroupSpecs"])
    assert all(c["image"].startswith("ghcr.io/") and "launchbay" in c["image"] for c in containers(spec))


def test_rayjob_runs_launchbay_on_its_cluster_and_shuts_it_down():
    job = load("kuberay/rayjob.yaml")
    assert job["kind"] == "RayJob"
    assert job["spec"]["entrypoint"].startswith("launchbay run ") and "runtime=cluster" in job["spec"]["entrypoint"]
    assert job["spec"]["shutdownAfterJobFinishes"] is True and job["spec"]["ttlSecondsAfterFinished"] > 0


def test_ray_up_keeps_the_jobs_api_on_the_heads_loopback():
    config = yaml.safe_load((CLUSTER / "ray-up.yaml").read_text())
    (head,) = [c for c in config["head_start_ray_commands"] if c.startswith("ray start --head")]
    assert "--dashboard-host=127.0.0.1" in head.split()
