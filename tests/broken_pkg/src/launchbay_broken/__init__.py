"""Plugins broken in every way launchbay must survive: one module per way."""

from dataclasses import dataclass


@dataclass
class TwinConfig:
    rows: int = 10


def read(cfg):
    import ray.data

    return ray.data.from_items([{"row_id": i, "x": float(i), "label": i % 2} for i in range(cfg.rows)])
