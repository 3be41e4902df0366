"""``launchbay plugin new``: every kind's package installs, registers through its real entry
point and passes its own tests.

Generated packages are installed into a folder of the test's own (``pip install --target``)
and tested in a subprocess with that folder on ``PYTHONPATH``, never into the virtualenv the
suite runs in. The metric kind runs in the fast suite; the other five under ``-m slow``, in one pytest session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from site_install import pip_install

from launchbay.cli.plugin import KINDS, write_plugin

FAST_KIND = "metric"


def launchbay(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd)


def test_a_generated_metric_plugin_installs_and_passes_its_tests(tmp_path):
    passed = install_and_test(tmp_path, [FAST_KIND])
    assert passed == {FAST_KIND}


@pytest.mark.slow
def test_every_other_kind_installs_and_passes_its_tests(tmp_path):
    """The five other kinds, installed together and tested in one pytest session (one Ray start)."""
    kinds = [kind for kind in KINDS if kind != FAST_KIND]
    assert install_and_test(tmp_path, kinds) == set(kinds)


def install_and_test(tmp_path: Path, kinds: list[str]) -> set[str]:
    """Generate a package per kind, install them into ``tmp_path/site``, check ``plugins list`` names
    each, run their own tests (in the package's folder for one kind, else all in one session); returns the kinds whose tests all passed."""
    packages = {kind: write_plugin(f"acme-{kind}", kind, tmp_path) for kind in kinds}
    site = tmp_path / "site"
    pip_install(site, *packages.values())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    listed = subprocess.run([sys.executable, "-m", "launchbay", "plugins", "list"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and all(f"acme_{kind}" in listed.stdout for kind in kinds), listed.stderr
    cwd, paths = (packages[kinds[0]], []) if len(kinds) == 1 else (tmp_path, [str(p / "tests") for p in packages.values()])
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", *paths],
                            capture_output=True, text=True, cwd=cwd, env=env)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    outcomes = [line.split(" ", 1) for line in tested.stdout.splitlines() if line.startswith(("PASSED ", "FAILED ", "ERROR ", "SKIPPED "))]
    assert outcomes and all(outcome == "PASSED" for outcome, _ in outcomes), tested.stdout[-3000:]
    return {kind for kind in kinds if any(f"test_acme_{kind}.py::" in test for _, test in outcomes)}


def test_the_package_has_the_entry_point_and_the_module(tmp_path):
    out = launchbay("plugin", "new", "acme-thing", "--kind", "sink", "--dir", "out", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    package = tmp_path / "out/acme-thing"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "src/acme_thing/__init__.py", "tests/test_acme_thing.py"
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert 'name = "acme-thing"' in pyproject and '[project.entry-points.launchbay]\nacme_thing = "acme_thing"' in pyproject
    assert "launchbay run job=pipeline sink=acme_thing" in (package / "README.md").read_text()
    assert "$" not in (package / "src/acme_thing/__init__.py").read_text()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["acme-thing"]  # no staging folder left behind


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["Acme Thing", "--kind", "metric"], "launchbay: error: plugin new: NAME 'Acme Thing' must be lowercase letters and digits, "
         "words joined by - or _, starting with a letter (e.g. acme-thing)"),
        (["acme--thing", "--kind", "metric"], "launchbay: error: plugin new: NAME 'acme--thing' must be lowercase letters and digits, "
         "words joined by - or _, starting with a letter (e.g. acme-thing)"),
        (["class", "--kind", "metric"], "launchbay: error: plugin new: NAME 'class' must be lowercase letters and digits, "
         "words joined by - or _, starting with a letter (e.g. acme-thing)"),
        (["launchbay", "--kind", "metric"],
         "launchbay: error: plugin new: NAME 'launchbay': a module launchbay is already installed here; choose another NAME"),
        (["console", "--kind", "alert"],
         "launchbay: error: plugin new: NAME 'console': alert 'console' is provided by plugin 'launchbay.alerts' already; choose another NAME"),
        (["webhook", "--kind", "metric"], "launchbay: error: plugin new: NAME 'webhook': a plugin named webhook is installed already; choose another NAME"),
        (["acme-thing", "--kind", "monitor"],
         "launchbay: error: plugin new: unknown kind 'monitor' (kinds: source, sink, model, metric, alert, lifecycle)"),
    ],
)
def test_bad_name_or_kind_is_one_line(args, error, tmp_path):
    out = launchbay("plugin", "new", *args, cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.strip() == error
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "acme-thing").mkdir()
    (tmp_path / "acme-thing/notes.txt").write_text("mine")
    out = launchbay("plugin", "new", "acme-thing", "--kind", "model", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == "launchbay: error: plugin new: acme-thing already exists; choose another NAME or --dir"
    assert [p.name for p in (tmp_path / "acme-thing").iterdir()] == ["notes.txt"] and len(list(tmp_path.iterdir())) == 1


def test_help_names_the_kinds(tmp_path):
    out = launchbay("plugin", "new", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "source, sink, model, metric, alert, lifecycle" in " ".join(out.stdout.split())
    assert "plugin new acme-thing --kind metric" in launchbay("--help", cwd=tmp_path).stdout
