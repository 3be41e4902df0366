"""The plugin authors' testing kit, used as its authors use it: test files run by pytest's
``pytester`` in a pytest process of their own, which gets the fixtures through the kit's
``pytest11`` entry point (and the test plugin through its ``launchbay`` one)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


def test_the_kit_is_a_pytest_plugin_found_through_its_entry_point(pytester):
    pytester.makepyfile(
        """
        import launchbay.testing.plugin as kit

        def test_loaded(request):
            assert request.config.pluginmanager.get_plugin("launchbay") is kit
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_importing_the_kit_loads_nothing_heavy():
    heavy = ("ray", "hydra", "omegaconf", "pandas", "pyarrow", "sklearn", "numba", "scipy")
    code = f"import sys, launchbay.testing.plugin; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_config_plugins_and_their_assertions(pytester):
    pytester.makepyfile(
        """
        import pytest
        from launchbay.errors import LaunchbayError
        from launchbay.plugins import PluginError
        from launchbay.testing import assert_composes, assert_registered

        def test_config(launchbay_config):
            cfg = launchbay_config("data.rows=123", "model=gbm")
            assert cfg.data.rows == 123 and cfg.model.estimator._target_.endswith("HistGradientBoostingClassifier")
            assert "hydra" not in cfg

        def test_config_that_does_not_compose(launchbay_config):
            with pytest.raises(LaunchbayError, match=r"^config: Could not find 'data/nope' \\(available: .*parquet"):
                launchbay_config("data=nope")

        def test_plugins_named_and_no_others(launchbay_plugins):
            manager = launchbay_plugins("testplugin")
            assert_registered("data", "constant", plugin="testplugin", manager=manager)
            assert_registered("lifecycle", "launchbay_job_finished", plugin="testplugin", manager=manager)
            assert "webhook" not in manager.plugins and "webhook" in launchbay_plugins(autoload=True).plugins
            assert_registered("data", "constant", plugin="launchbay_testplugin", manager=launchbay_plugins("launchbay_testplugin"))
            with pytest.raises(PluginError, match="^launchbay_plugins: plugin 'no_such_module' is broken: cannot be loaded: "):
                launchbay_plugins("no_such_module")

        def test_composes_fails(launchbay_plugins):
            assert_composes("data=parquet")

        def test_unknown_name_fails(launchbay_plugins):
            assert_registered("metric", "nope", manager=launchbay_plugins())

        def test_other_provider_fails(launchbay_plugins):
            assert_registered("metric", "psi", plugin="launchbay.data", manager=launchbay_plugins())

        def test_plugin_not_loaded_fails(launchbay_plugins):
            assert_registered("data", "constant", plugin="testplugin", manager=launchbay_plugins())

        def test_hook_nobody_implements_fails(launchbay_plugins):
            assert_registered("lifecycle", "launchbay_job_finished", manager=launchbay_plugins())
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=5)
    result.stdout.fnmatch_lines_random([
        "E * AssertionError: launchbay run data=parquet does not compose: data: *path*",
        "E * AssertionError: unknown metric 'nope' (available: *psi*)",
        "E * AssertionError: metric 'psi' is provided by plugin 'launchbay.drift.metrics', not by 'launchbay.data'",
        "E * AssertionError: data 'constant': plugin 'testplugin' is not loaded (plugins: launchbay.data, *)",
        "E * AssertionError: no plugin implements launchbay_job_finished (plugins: launchbay.data, *)",
    ])


def test_synthetic_data_with_chosen_drift(pytester):
    pytester.makepyfile(
        """
        import os

        import numpy as np

        def test_synthetic(launchbay_synthetic, tmp_path):
            plain = launchbay_synthetic(rows=500, seed=3)
            drifted = launchbay_synthetic(rows=500, seed=3, drift=1.0)
            assert plain.path.suffix == ".parquet" and os.fspath(plain) == str(plain) == str(plain.path)
            assert plain.path != drifted.path and len(plain.frame) == 500
            shift = (drifted.frame["num_0"] - plain.frame["num_0"]).to_numpy()
            assert np.allclose(shift, shift[0]) and 0.85 < shift[0] / plain.frame["num_0"].std(ddof=0) < 1.15
            assert drifted.frame["num_2"].equals(plain.frame["num_2"]) and drifted.frame["cat_0"].equals(plain.frame["cat_0"])
            folder = launchbay_synthetic(rows=500, path=tmp_path / "parts", chunk_rows=200, categorical=1)
            assert sorted(p.name for p in folder.path.iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
            assert len(folder.frame) == 500 and [c for c in folder.frame if c.startswith("cat_")] == ["cat_0"]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow  # a whole run in a process of its own: the fast suite keeps under about 5 minutes
def test_jobs_run_in_a_directory_of_their_own_and_fail_in_one_line(pytester, tmp_path):
    pytester.makepyfile(
        """
        import os

        import pytest
        from launchbay.testing import RunFailed

        def test_a_job_runs_in_its_own_directory(launchbay_run):
            here = os.getcwd()
            summary = launchbay_run("job=train", "data.rows=1500")
            assert os.getcwd() == here
            assert summary["run_dir"].startswith(str(launchbay_run.home / "runs"))
            assert (launchbay_run.home / ".launchbay/registry/demo/1").is_dir()
            assert launchbay_run("job=train", "data.rows=1500")["model"]["version"] == 2

        def test_a_bad_override_is_its_one_line(launchbay_run):
            with pytest.raises(RunFailed) as raised:
                launchbay_run("job=train", "data.rows=abc")
            print("MESSAGE:" + str(raised.value))

        def test_a_failing_job_reads_as_its_cause(launchbay_run):
            launchbay_run("job=train", "data=parquet", "data.path=nope.parquet")
        """
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["E * launchbay.testing.RunFailed: data: *nope.parquet*"])
    assert "launchbay/app.py" not in result.stdout.str(), "the failure shows launchbay's traceback"
    (message,) = [line.split("MESSAGE:", 1)[1] for line in result.outlines if "MESSAGE:" in line]  # printed after the progress dots
    cli = subprocess.run([sys.executable, "-m", "launchbay", "run", "job=train", "data.rows=abc"], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 1 and cli.stderr.strip() == f"launchbay: error: {message}"


def test_assert_registered_rejects_what_it_cannot_check():
    from launchbay.testing import assert_registered

    with pytest.raises(AssertionError, match=r"^unknown kind 'source' \(kinds: data, sink, model, metric, alert, lifecycle\)$"):
        assert_registered("source", "jsonl")
    with pytest.raises(AssertionError, match=r"^'launchbay_nope' is not a lifecycle hook \(hooks: launchbay_job_started, "):
        assert_registered("lifecycle", "launchbay_nope")
