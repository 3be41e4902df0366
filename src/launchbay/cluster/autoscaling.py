"""A local cluster that Ray's own autoscaler grows and shrinks: its config, written in code,
and the node provider that starts each worker as a raylet on this machine.

The provider is Ray's fake multi-node provider with one change: every node gets a temp dir
of its own (on one machine the nodes would otherwise share a runtime-env folder, and one
node's clean-up would delete a job's working dir under another's feet). The cost model
replays its traces on the same cluster.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ray.autoscaler._private.fake_multi_node.node_provider import FakeMultiNodeProvider

from launchbay.cluster.record import ClusterShape

HEAD_TYPE = "ray.head.default"
NODE_TYPE_LABEL = "launchbay.io/node-type"  # each worker's node type, as a Ray node label
TEMP_ROOT_ENV = "LAUNCHBAY_NODE_TEMP_ROOT"  # where the provider puts each node's temp dir
BOOT_ENV = "LAUNCHBAY_NODE_BOOT_S"  # how long the provider waits before it starts a node, per node type (JSON)
LAUNCHES = "launches.jsonl"  # under the temp root: when each node was requested, up and terminated


def autoscaling_config(shape: ClusterShape, gcs_address: str) -> dict[str, Any]:
    """The autoscaler's cluster config for ``shape``: each node type's workers for good on a
    fixed-size cluster; with ``shape.autoscale`` none at first and up to as many on demand,
    idle ones removed after ``shape.idle_timeout_s``."""
    types: dict[str, Any] = {HEAD_TYPE: {"resources": {"CPU": shape.head_cpus}, "node_config": {}, "max_workers": 0}}
    for name, spec in shape.node_types().items():
        types[name] = {
            "resources": spec["resources"],
            "labels": {NODE_TYPE_LABEL: name},
            "node_config": {},
            "min_workers": min(shape.min_workers, spec["count"]) if shape.autoscale else spec["count"],
            "max_workers": spec["count"],
        }
    return {
        "cluster_name": "launchbay-local",
        "max_workers": shape.workers,
        "provider": {
            "type": "external",
            "module": f"{__name__}.LocalNodeProvider",
            "gcs_address": gcs_address,
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "launch_multiple": True,  # a launch of N nodes boots them side by side, as a cloud does
        },
        "available_node_types": types,
        "head_node_type": HEAD_TYPE,
        "upscaling_speed": shape.upscaling_speed,
        "idle_timeout_minutes": shape.idle_timeout_s / 60,
        "auth": {},
        "docker": {},
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


def log_launch(**event: Any) -> None:
    """Append one node event (``node``, ``type``, and ``requested``/``up``/``terminated`` times) to the launch log."""
    with open(Path(os.environ[TEMP_ROOT_ENV]) / LAUNCHES, "a") as log:
        log.write(json.dumps(event) + "\n")


class LocalNodeProvider(FakeMultiNodeProvider):
    """Ray's fake multi-node provider, each node with a temp dir of its own, started after its
    type's boot delay (``LAUNCHBAY_NODE_BOOT_S``), every launch and termination logged."""

    def create_node_with_resources_and_labels(self, node_config, tags, count, resources, labels):
        requested = time.time()
        boot = json.loads(os.environ.get(BOOT_ENV, "{}")).get(tags.get("ray-user-node-type"), 0.0)
        time.sleep(float(boot))  # the autoscaler launches from its own threads
        for _ in range(count if self._launch_multiple else 1):
            node_id = self._create_node_with_resources_and_labels(node_config, tags, count, resources, labels)
            log_launch(node=node_id, type=tags.get("ray-user-node-type"), requested=requested, up=time.time())

    def terminate_node(self, node_id):
        super().terminate_node(node_id)
        log_launch(node=node_id, terminated=time.time())

    def _create_node_with_resources_and_labels(self, node_config, tags, count, resources, labels):
        import ray._private.node
        import ray._private.ray_constants as constants
        from ray._private.parameter import RayParams
        from ray.autoscaler.tags import (
            NODE_KIND_WORKER,
            STATUS_UP_TO_DATE,
            TAG_RAY_NODE_KIND,
            TAG_RAY_NODE_NAME,
            TAG_RAY_NODE_STATUS,
            TAG_RAY_USER_NODE_TYPE,
        )

        custom = dict(resources)
        with self.lock:
            node_type, node_id = tags[TAG_RAY_USER_NODE_TYPE], self._next_hex_node_id()
            params = RayParams(
                min_worker_port=0,
                max_worker_port=0,
                dashboard_port=None,
                dashboard_agent_listen_port=0,
                num_cpus=custom.pop("CPU", 0),
                num_gpus=custom.pop("GPU", 0),
                object_store_memory=custom.pop("object_store_memory", None),
                resources=custom,
                labels=labels,
                gcs_address=self._gcs_address,
                temp_dir=str(Path(os.environ[TEMP_ROOT_ENV]) / f"{node_type}-{node_id[-5:]}"),
                env_vars={
                    "RAY_OVERRIDE_NODE_ID_FOR_TESTING": node_id,  # how the autoscaler knows the node is up
                    "RAY_CLOUD_INSTANCE_ID": node_id,
                    "RAY_NODE_TYPE_NAME": node_type,
                    constants.RESOURCES_ENVIRONMENT_VARIABLE: json.dumps(custom),
                    constants.LABELS_ENVIRONMENT_VARIABLE: json.dumps(labels),
                },
            )
            node = ray._private.node.Node(params, head=False, shutdown_at_exit=False, spawn_reaper=False)
            self._nodes[node_id] = {
                "tags": {
                    TAG_RAY_NODE_KIND: NODE_KIND_WORKER,
                    TAG_RAY_USER_NODE_TYPE: node_type,
                    TAG_RAY_NODE_NAME: node_id,
                    TAG_RAY_NODE_STATUS: STATUS_UP_TO_DATE,
                    **tags,
                },
                "node": node,
            }
        return node_id
