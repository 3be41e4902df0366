"""Multivariate drift: the PCA reconstruction error, against scikit-learn, through sketches,
merges, JSON and the drift result."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from launchbay.drift import DatasetProfile, MonitorConfig, build_reference, compare, merge, sketch, sketch_dataset
from launchbay.drift.multivariate import METRIC, fit
from launchbay.drift.reference import BlockPart, ReferenceBuilder, build_reference_dataset
from launchbay.errors import LaunchbayError
from launchbay.report import write_report


def correlated(n: int, rho: float, seed: int, *, missing: float = 0.0) -> pd.DataFrame:
    """Two standard normal features with correlation ``rho`` (the same marginals whatever
    rho), three independent ones of other shapes, a category; ``missing``: share of NaN."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "gamma": rng.gamma(2.0, size=n),
            "uniform": rng.uniform(-1, 1, n),
            "count": rng.poisson(4.0, n).astype(np.float64),
            "city": rng.choice(["paris", "lyon", "nice"], n),
        }
    )
    if missing:
        for name in ("a", "gamma"):
            frame.loc[rng.random(n) < missing, name] = np.nan
    return frame


@pytest.mark.parametrize("rows", [800, 5000])  # p-value tests (small reference) and distances (large one)
def test_a_correlation_flip_is_missed_by_every_feature_and_caught_by_the_reconstruction_error(rows):
    result = compare(correlated(rows, 0.8, 1), correlated(rows, -0.8, 2))
    assert result.rows and all(not row.drifted and row.undefined is None for row in result.rows)
    assert result.drifted_features == []
    mv = result.multivariate
    assert mv is not None and mv.metric == METRIC
    assert mv.features == ("a", "b", "gamma", "uniform", "count")  # the category is left out
    assert mv.drifted and mv.value > mv.upper
    assert result.dataset_drift and result.verdict == "drift"


@pytest.mark.parametrize("missing", [0.0, 0.1])
@pytest.mark.parametrize(("reference_rows", "current_rows"), [(600, 150), (3000, 3000), (10000, 40000)])
def test_no_false_alarm_on_fresh_samples_of_the_reference_distribution(reference_rows, current_rows, missing):
    for seed in range(8):
        reference = build_reference(correlated(reference_rows, 0.8, 100 + seed, missing=missing))
        row = compare(reference, correlated(current_rows, 0.8, 200 + seed, missing=missing)).multivariate
        assert row is not None and not row.drifted, (seed, row)
        assert row.lower < row.reference < row.upper


def test_the_false_alarm_rate_is_the_stated_one():
    """A current sample of a chunk's rows leaves the 3-sigma band about 1.9% of the time (see the module)."""
    mix = np.array([[1.0, 0.8, 0.0, 0.0], [0.0, 0.6, 0.0, 0.0], [0.0, 0.0, 1.0, 0.3], [0.0, 0.0, 0.0, 1.0]])
    trials, alarms = 150, 0
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        model = fit(list("abcd"), list((rng.normal(size=(2000, 4)) @ mix).T), 0.65, chunks=10)
        current = model.count(list((rng.normal(size=(model.chunk_rows, 4)) @ mix).T))
        lower, upper = model.band(current.rows, 3.0)
        alarms += not lower <= current.error <= upper
    assert alarms <= 0.06 * trials  # 1.9% expected: 2.9 of 150; 9 or fewer with a probability of 99.9%


def sklearn_errors(train: np.ndarray, test: np.ndarray, components: int) -> np.ndarray:
    """Reconstruction errors by scikit-learn: mean imputation, standard scaling, PCA."""
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def missing(x):
        return np.where(np.isfinite(x), x, np.nan)

    prepare = make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler()).fit(missing(train))
    z_train, z_test = prepare.transform(missing(train)), prepare.transform(missing(test))
    pca = PCA(n_components=components, svd_solver="full").fit(z_train)
    return np.linalg.norm(z_test - pca.inverse_transform(pca.transform(z_test)), axis=1)


@st.composite
def matrices(draw):
    """(reference, current) rows x features: normal data mixed by a random matrix, some
    values NaN or +-inf, the current one mixed differently."""
    seed = draw(st.integers(0, 2**31))
    d, n = draw(st.integers(2, 8)), draw(st.integers(12, 400))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
    reference = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * scale + rng.normal(size=d) * scale
    current = rng.normal(size=(n // 2 + 1, d)) @ rng.normal(size=(d, d)) * scale
    for x in (reference, current):
        x[rng.random(x.shape) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
        x[rng.random(x.shape) < draw(st.sampled_from([0.0, 0.02]))] = np.inf
        x[rng.random(x.shape) < 0.01] = -np.inf
    return reference, current


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(), st.sampled_from([0.3, 0.65, 0.9]))
def test_the_reconstruction_error_equals_scikit_learns(pair, variance):
    from sklearn.decomposition import PCA

    reference, current = pair
    d = reference.shape[1]
    assume(np.isfinite(reference).sum(axis=0).min() >= 2)
    model = fit([f"x{j}" for j in range(d)], list(reference.T), variance, chunks=4)
    gaps = np.abs(np.diff(model.explained)) / model.explained.max()
    assume(gaps[model.kept - 1] > 1e-6)  # a tie at the cut leaves the kept span undetermined
    imputed = np.where(np.isfinite(reference), reference, np.nan)
    z = (np.where(np.isnan(imputed), np.nanmean(imputed, axis=0), imputed) / model.unit - model.mean) / model.scale
    chosen = PCA(n_components=variance, svd_solver="full").fit(z).n_components_
    assert model.kept == min(chosen, d - 1)
    for data in (reference, current):
        expected = sklearn_errors(reference, data, model.kept)
        got = model.errors(list(data.T))
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * max(1.0, expected.max()))
    assert model.error_sum == pytest.approx(sklearn_errors(reference, reference, model.kept).sum(), rel=1e-9)


def test_a_missing_value_counts_as_the_reference_mean():
    reference = build_reference(correlated(2000, 0.8, 3))
    model = reference.multivariate
    rows = correlated(50, -0.5, 4)[list(model.features)].to_numpy()
    holes = rows.copy()
    holes[::3, 0], holes[1::3, 2], holes[2::3, 4] = np.nan, np.inf, -np.inf
    filled = rows.copy()
    means = model.mean * model.unit
    filled[::3, 0], filled[1::3, 2], filled[2::3, 4] = means[0], means[2], means[4]
    np.testing.assert_allclose(model.errors(list(holes.T)), model.errors(list(filled.T)), rtol=1e-12)
    assert not np.allclose(model.errors(list(holes.T)), model.errors(list(rows.T)))
    # float32 columns (counted as they are) give the float64 result of their values
    float32 = [x.astype(np.float32) for x in holes.T]
    np.testing.assert_allclose(model.errors(float32), model.errors([x.astype(np.float64) for x in float32]), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.integers(1, 3000), min_size=1, max_size=6))
def test_merged_block_sketches_equal_the_one_shot_sketch(seed, cuts):
    reference = build_reference(correlated(3000, 0.8, seed, missing=0.05))
    current = pa.Table.from_pandas(correlated(3000, 0.3, seed + 1, missing=0.05), preserve_index=False)
    bounds = [0, *sorted(set(cuts)), 3000]
    blocks = [sketch(current.slice(a, b - a), reference) for a, b in zip(bounds, bounds[1:]) if b > a]
    merged, whole = blocks[0], sketch(current, reference)
    for block in blocks[1:]:
        merged = merge(merged, block)
    assert merged.multivariate.rows == whole.multivariate.rows == 3000
    # the per-row errors are the same; only the order of the sums differs: a few ulps
    assert merged.multivariate.error_sum == pytest.approx(whole.multivariate.error_sum, rel=1e-12)


@pytest.mark.parametrize("blocks", [1, 7])
def test_ray_datasets_count_the_error_block_by_block(ray_session, blocks):
    frame = correlated(20_000, 0.8, 5, missing=0.02)
    reference = build_reference(frame)
    current = correlated(9000, -0.8, 6)
    streamed = sketch_dataset(ray_session.data.from_pandas(current).repartition(blocks), reference, device="cpu")
    assert streamed.multivariate.rows == 9000
    assert streamed.multivariate.error == pytest.approx(sketch(current, reference).multivariate.error, rel=1e-12)
    # a reference built from a Ray Dataset fits on its sampled rows and counts every row's error
    sampled = build_reference_dataset(ray_session.data.from_pandas(frame).repartition(blocks), MonitorConfig(fine_bins=200))
    model = sampled.multivariate
    assert model.rows == 20_000 and model.chunk_rows < 20_000 // 10
    assert model.error == pytest.approx(sketch(frame, sampled).multivariate.error, rel=1e-12)
    assert model.features == reference.multivariate.features and model.kept == reference.multivariate.kept
    assert model.error == pytest.approx(reference.multivariate.error, rel=0.05)
    assert compare(sampled, current).multivariate.drifted


def test_a_profile_round_trips_through_json():
    reference = build_reference(correlated(3000, 0.8, 7, missing=0.05))
    back = DatasetProfile.from_json(reference.to_json())
    a, b = reference.multivariate, back.multivariate
    for key in ("unit", "mean", "scale", "components", "explained"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    for key in ("features", "kept", "variance", "chunk_rows", "chunk_mean", "chunk_std", "error_sum", "rows"):
        assert getattr(a, key) == getattr(b, key), key
    current = correlated(2000, -0.8, 8)
    assert compare(back, current).to_dict() == compare(reference, current).to_dict()


def test_a_profile_of_an_earlier_version_loads_without_the_metric():
    reference = build_reference(correlated(3000, 0.8, 9))
    stored = reference.to_dict()
    del stored["multivariate"]
    old = DatasetProfile.from_json(json.dumps(stored))
    assert old.multivariate is None
    result = compare(old, correlated(3000, -0.8, 10))
    assert result.multivariate is None and result.to_dict()["multivariate"] is None
    assert result.verdict == "no drift"  # no feature shows the flip and the metric is absent
    with pytest.raises(LaunchbayError, match="monitor.multivariate is true but the reference profile has no multivariate part"):
        compare(old, correlated(3000, -0.8, 10), config=MonitorConfig(multivariate=True))


def test_the_setting_turns_it_off_and_needs_two_numeric_features():
    frame = correlated(1000, 0.8, 11)
    off = MonitorConfig(multivariate=False)
    assert build_reference(frame, off).multivariate is None
    assert compare(frame, correlated(1000, -0.8, 12), config=off).multivariate is None
    assert compare(build_reference(frame), correlated(1000, -0.8, 12), config=off).multivariate is None
    one = frame[["a", "city"]]
    assert build_reference(one).multivariate is None
    with pytest.raises(LaunchbayError, match="monitor.multivariate needs at least 2 numeric features, the reference has 1"):
        build_reference(one, MonitorConfig(multivariate=True))
    with pytest.raises(LaunchbayError, match="monitor.multivariate_variance must be a share in"):
        MonitorConfig(multivariate_variance=1.0)


def test_the_models_outputs_are_left_out_and_still_profiled_per_feature():
    """Taking a and b as the model's outputs: their correlation flip is prediction drift, not a change of the inputs."""
    frame, flipped = correlated(3000, 0.8, 16), correlated(3000, -0.8, 17)
    reference = build_reference(frame, outputs=["a", "b"])
    assert reference.multivariate.features == ["gamma", "uniform", "count"]
    assert set(reference.features) == {"a", "b", "gamma", "uniform", "count", "city"}
    mv = compare(reference, flipped).multivariate
    assert mv.features == ("gamma", "uniform", "count") and not mv.drifted
    assert compare(build_reference(frame), flipped).multivariate.drifted  # the same flip among the inputs is caught
    assert build_reference(frame[["a", "b", "gamma", "city"]], outputs=["a", "b"]).multivariate is None  # one input left
    with pytest.raises(LaunchbayError, match="monitor.multivariate needs at least 2 numeric features, the reference has 1"):
        build_reference(frame[["a", "b", "gamma"]], MonitorConfig(multivariate=True), outputs=["a", "b"])


def test_the_result_shows_the_row_in_the_table_the_summary_and_the_report(tmp_path):
    result = compare(correlated(3000, 0.8, 13), correlated(3000, -0.8, 14))
    console = Console(record=True, width=200)
    console.print(result.render())
    text = console.export_text()
    assert "0/6 features drifted, multivariate drift" in text and "dataset: drift" in text
    line = next(line for line in text.splitlines() if METRIC in line and "(5 numeric)" in line)
    assert f"{result.multivariate.value:.4g}" in line and "yes" in line
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    mv = summary["multivariate"]
    assert mv["drifted"] is True and mv["features"] == ["a", "b", "gamma", "uniform", "count"]
    assert mv["lower"] < mv["reference"] < mv["upper"] == mv["threshold"] < mv["value"]
    page = write_report(result, tmp_path / "report.html").read_text()
    assert "0 of 6 features drifted (0%), multivariate drift: dataset drift" in page
    assert f'<td>{METRIC}</td><td class="num">{result.multivariate.value:.4g}</td>' in page
    calm = compare(correlated(3000, 0.8, 13), correlated(3000, 0.8, 15))
    assert calm.verdict == "no drift" and calm.to_dict()["multivariate"]["drifted"] is False


def test_a_sampled_block_part_keeps_its_rows_width_through_json():
    """The sampled rows hold the model's inputs only: JSON gives them back in that width, outputs left out."""
    rng = np.random.default_rng(3)
    table = pa.table({"a": rng.normal(size=500), "b": rng.normal(size=500), "score": rng.random(500)})
    part = ReferenceBuilder(table.schema, 500, MonitorConfig(), sampled=True, outputs=["score"]).part(table)
    back = BlockPart.from_json(part.to_json())
    assert part.rows.shape[1] == 2 and back.rows.shape == part.rows.shape
    np.testing.assert_array_equal(back.rows, part.rows)
