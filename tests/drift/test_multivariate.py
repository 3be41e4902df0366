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
from launchbay.drift.multivariate import FIT_ROWS, HELD_OUT_ROWS, METRIC, RUNS, fit, split
from launchbay.drift.reconstruction import TILE
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
    """A current batch drawn like the reference leaves the band with probability 2 * (1 - Phi(sigmas)) (see the module),
    whatever its size: at 1 sigma 31.7%, at 2 sigmas 4.6%, out of 600 trials."""
    mix = np.array([[1.0, 0.8, 0.0, 0.0], [0.0, 0.6, 0.0, 0.0], [0.0, 0.0, 1.0, 0.3], [0.0, 0.0, 0.0, 1.0]])
    trials, alarms = 600, {1.0: 0, 2.0: 0}
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        model = fit(list("abcd"), list((rng.normal(size=(2000, 4)) @ mix).T), 0.65)
        current = model.count(list((rng.normal(size=([200, 2000, 20000][seed % 3], 4)) @ mix).T))
        for sigmas in alarms:
            lower, upper = model.band(current.rows, sigmas)
            alarms[sigmas] += not lower <= current.error <= upper
    # binomial standard deviations: 11.4 alarms at 1 sigma (190 expected), 5.1 at 2 (27.3): within 3.5 of them
    assert abs(alarms[1.0] - 0.3173 * trials) <= 40 and abs(alarms[2.0] - 0.0455 * trials) <= 18, alarms


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


def rows_of(tiles: np.ndarray) -> np.ndarray:
    return np.concatenate([np.arange(lo, lo + n) for lo, n in tiles])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(), st.sampled_from([0.3, 0.65, 0.9]))
def test_the_reconstruction_error_equals_scikit_learns(pair, variance):
    """The PCA of the fit rows (see ``split``) is scikit-learn's of those rows; the band's rows are the held-out ones."""
    from sklearn.decomposition import PCA

    reference, current = pair
    d = reference.shape[1]
    fitted, held = (rows_of(tiles) for tiles in split(reference.shape[0]))
    train = reference[fitted]
    assume(np.isfinite(train).sum(axis=0).min() >= 2)
    model = fit([f"x{j}" for j in range(d)], list(reference.T), variance)
    assert model.fit_rows == fitted.size and model.held_out_rows == model.rows == held.size
    gaps = np.abs(np.diff(model.explained)) / model.explained.max()
    assume(gaps[model.kept - 1] > 1e-6)  # a tie at the cut leaves the kept span undetermined
    imputed = np.where(np.isfinite(train), train, np.nan)
    z = (np.where(np.isnan(imputed), np.nanmean(imputed, axis=0), imputed) / model.unit - model.mean) / model.scale
    chosen = PCA(n_components=variance, svd_solver="full").fit(z).n_components_
    assert model.kept == min(chosen, d - 1)
    for data in (reference, current):
        expected = sklearn_errors(train, data, model.kept)
        got = model.errors(list(data.T))
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * max(1.0, expected.max()))
    held_out = sklearn_errors(train, reference[held], model.kept)
    assert model.error_sum == pytest.approx(held_out.sum(), rel=1e-9, abs=1e-12)
    assert model.held_out_mean == pytest.approx(held_out.mean(), rel=1e-9, abs=1e-12)


def test_the_split_keeps_the_parts_apart_and_within_their_sizes():
    for rows in (1, 2, 3, 600, 5000, 2 * FIT_ROWS + 1, 1_000_000):
        run = min(TILE, max(1, rows // RUNS))
        fitted, held = (rows_of(tiles) for tiles in split(rows))
        target = max(1, min(FIT_ROWS, rows // 2))
        assert target <= fitted.size < target + run and 0 < held.size <= HELD_OUT_ROWS
        assert np.all(np.diff(fitted) > 0) and np.all(np.diff(held) > 0) and max(fitted.max(), held.max()) < rows
        if rows == 1:
            assert fitted.tolist() == held.tolist() == [0]  # one row is both
        else:
            assert np.intersect1d(fitted, held).size == 0 and held.size > min(HELD_OUT_ROWS, rows - fitted.size) - run


def test_a_pca_fitted_on_a_sample_costs_at_most_the_stated_error_against_the_pca_of_all_rows():
    """Normal data, 400,000 rows: the mean error under the PCA of FIT_ROWS of them is within 3 / sqrt(FIT_ROWS) of
    scikit-learn's PCA of all of them (see the module), for the reference's rows and for other data."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    mix = rng.normal(size=(6, 6)) * np.array([3.0, 2.0, 1.5, 1.0, 0.5, 0.2])[:, None]
    reference = rng.normal(size=(400_000, 6)) @ mix + 5.0
    model = fit([f"x{j}" for j in range(6)], list(reference.T), 0.65)
    assert FIT_ROWS <= model.fit_rows < FIT_ROWS + TILE
    scaler = StandardScaler().fit(reference)
    pca = PCA(n_components=model.kept, svd_solver="full").fit(scaler.transform(reference))
    for data in (reference, rng.normal(size=(50_000, 6)) @ mix[::-1] + 4.0):
        z = scaler.transform(data)
        expected = np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1).mean()
        assert abs(model.errors(list(data.T)).mean() / expected - 1) <= 3 / np.sqrt(model.fit_rows)


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
    assert model.rows == 20_000 and model.fit_rows + model.held_out_rows < 20_000  # of the sampled rows
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
    for key in ("features", "kept", "variance", "fit_rows", "held_out_rows", "held_out_mean", "held_out_std", "error_sum", "rows"):
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


def draw(rows: int, kind: str, rng: np.random.Generator, *, rho: float = 0.8, features: int = 8) -> np.ndarray:
    """Rows x features, standard normal marginals: all independent, or (``correlated``) the first two with
    correlation ``rho`` and the rest mixed by a fixed matrix."""
    x = rng.standard_normal((rows, features))
    if kind == "correlated":
        x[:, 1] = rho * x[:, 0] + np.sqrt(1 - rho**2) * x[:, 1]
        mix = np.linalg.qr(np.random.default_rng(99).normal(size=(features - 2, features - 2)))[0] @ np.diag(np.linspace(2.0, 0.3, features - 2))
        x[:, 2:] = x[:, 2:] @ mix / np.linalg.norm(mix, axis=0)
    return x


def multivariate_verdicts(reference_rows: int, current_rows: list[int], seeds: int, *, piece: int = 1_000_000) -> list[tuple]:
    """Per seed, kind of features and current size: (..., drifted) of a batch drawn like the reference, counted in pieces."""
    out = []
    for seed in range(seeds):
        for kind in ("independent", "correlated"):
            rng = np.random.default_rng(seed)
            columns = list(draw(reference_rows, kind, rng).T)
            model = fit([f"x{j}" for j in range(len(columns))], columns, 0.65)
            for rows in current_rows:
                current = model.empty()
                for start in range(0, rows, piece):
                    current = current.merge(model.count(list(draw(min(piece, rows - start), kind, rng).T)))
                lower, upper = model.band(current.rows, MonitorConfig().multivariate_sigmas)
                out.append((seed, kind, rows, current.error, lower, upper, not lower <= current.error <= upper))
    return out


def test_batches_of_the_reference_distribution_raise_no_dataset_drift_at_any_size():
    """Small sizes: a reference of 20,000 rows, batches of 1,000 to 200,000 (the band is out of sample, sized to the batch)."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(draw(20_000, "correlated", rng), columns=[f"x{j}" for j in range(8)])
    profile = build_reference(reference)
    for rows in (1_000, 200_000):
        result = compare(profile, pd.DataFrame(draw(rows, "correlated", rng), columns=reference.columns))
        assert not result.dataset_drift and not result.multivariate.drifted, result.multivariate
    flipped = compare(profile, pd.DataFrame(draw(10_000, "correlated", rng, rho=-0.8), columns=reference.columns))
    assert flipped.drifted_features == [] and flipped.multivariate.drifted and flipped.dataset_drift
    alarms = [row for row in multivariate_verdicts(20_000, [1_000, 10_000, 200_000], seeds=10) if row[-1]]
    assert alarms == []


@pytest.mark.slow
def test_large_batches_of_the_reference_distribution_raise_no_multivariate_drift():
    """6 seeds x {independent, correlated} x batches of 10,000, 1M and 10M rows against references of 500,000;
    a flip of one correlation (+0.8 to -0.8, marginals unchanged) is still found at 10,000 rows."""
    alarms = [row for row in multivariate_verdicts(500_000, [10_000, 1_000_000, 10_000_000], seeds=6) if row[-1]]
    assert alarms == []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        model = fit([f"x{j}" for j in range(8)], list(draw(500_000, "correlated", rng).T), 0.65)
        flipped = model.count(list(draw(10_000, "correlated", rng, rho=-0.8).T))
        assert flipped.error > model.band(flipped.rows, MonitorConfig().multivariate_sigmas)[1]


def test_a_profile_with_the_chunk_statistics_of_earlier_versions_loads():
    reference = build_reference(correlated(3000, 0.8, 18))
    stored = reference.to_dict()
    model = stored["multivariate"]
    for key in ("fit_rows", "held_out_rows", "held_out_mean", "held_out_std"):
        del model[key]
    model.update(chunk_rows=300, chunk_mean=1.25, chunk_std=0.02)
    old = DatasetProfile.from_json(json.dumps(stored)).multivariate
    assert (old.held_out_rows, old.held_out_mean, old.fit_rows) == (300, 1.25, model["rows"])
    assert old.held_out_std == pytest.approx(0.02 * np.sqrt(300))
    assert old.band(300, 3.0) == pytest.approx((1.25 - 3 * 0.02 * np.sqrt(2), 1.25 + 3 * 0.02 * np.sqrt(2)))
    assert compare(DatasetProfile.from_json(json.dumps(stored)), correlated(3000, -0.8, 19)).multivariate.drifted
