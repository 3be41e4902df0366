"""Ray Datasets: a sketch per block, merged; the same result as in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_data import sample

from launchbay.drift import MonitorConfig, build_reference, compare, sketch, sketch_dataset
from launchbay.errors import LaunchbayError


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": sample("with_nan_inf", n, seed, shift),
            "score": sample("normal", n, seed + 1, shift),
            "city": rng.choice(["paris", "lyon", "nice"] + (["lille"] if shift else []), n),
        }
    )


@pytest.mark.parametrize("blocks", [1, 7])
@pytest.mark.parametrize("mode", ["exact", "sketch"])
def test_dataset_sketch_equals_the_in_memory_sketch(ray_session, blocks, mode):
    reference = build_reference(frame(4000, 1), MonitorConfig(mode=mode))
    current = frame(6000, 2, shift=0.3)
    ds = ray_session.data.from_pandas(current).repartition(blocks)
    streamed = sketch_dataset(ds, reference, device="cpu")
    in_memory = sketch(current, reference)
    assert streamed.rows == in_memory.rows == 6000
    for name, expected in in_memory.features.items():
        got = streamed.features[name]
        assert got.null_count == expected.null_count and got.inf_count == expected.inf_count
        if expected.kind == "numeric":
            np.testing.assert_array_equal(got.counts, expected.counts)
            assert (got.values is None) == (expected.values is None)
            if expected.values is not None:
                np.testing.assert_array_equal(got.values, expected.values)
        else:
            np.testing.assert_array_equal(got.category_counts, expected.category_counts)
            assert got.unseen == expected.unseen
    pd.testing.assert_frame_equal(
        compare(reference, ds, config=MonitorConfig(mode=mode)).to_pandas(),
        compare(reference, current, config=MonitorConfig(mode=mode)).to_pandas(),
    )


def test_dataset_reference_matches_a_table_reference_on_counts(ray_session):
    data = frame(3000, 3)
    config = MonitorConfig(fine_bins=100)
    ds = ray_session.data.from_pandas(data).repartition(4)
    from_dataset = compare(ds, frame(2000, 4, shift=0.3), config=config)
    from_table = compare(data, frame(2000, 4, shift=0.3), config=config)
    assert from_dataset.reference.rows == 3000
    for name, expected in from_table.reference.features.items():
        got = from_dataset.reference.features[name]
        assert got.count == expected.count and got.null_count == expected.null_count
    # both profiles keep exact values (3000 rows): every metric is the same to the float
    pd.testing.assert_frame_equal(from_dataset.to_pandas(), from_table.to_pandas())


def test_dataset_missing_feature_is_a_one_line_error(ray_session):
    reference = build_reference(frame(500, 1))
    ds = ray_session.data.from_pandas(frame(100, 2).drop(columns=["score"]))
    with pytest.raises(LaunchbayError, match="feature 'score' is missing from the current data"):
        compare(reference, ds)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (MonitorConfig(memory_mb=100_000_000), r"^drift's Ray stages .* asks for 100,000,000 MB of memory but a node of the Ray cluster has at most [\d,]+$"),
        (MonitorConfig(num_cpus=3), r"^drift's Ray stages .* asks for 3 CPU\(s\) but a node of the Ray cluster has at most 2$"),
        (MonitorConfig(device="gpu"), r"^monitor.device=gpu but no CUDA GPU is available: use monitor.device=auto or cpu$"),
    ],
)
def test_dataset_stages_the_cluster_cannot_hold_are_one_line_errors(ray_session, config, error):
    ds = ray_session.data.from_pandas(frame(500, 5))
    for reference, current in [(frame(500, 6), ds), (ds, frame(500, 6))]:
        with pytest.raises(LaunchbayError, match=error):
            compare(reference, current, config=config)
