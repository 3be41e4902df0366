"""``launchbay plugin new``: every kind's package installs, registers through its real entry
point and passes its own tests.

Generated packages are installed into a folder of the test's own (``pip install --target``)
and tested in a subprocess with that folder on ``PYTHONPATH``, never into the virtualenv the
suite runs in. The metric kind runs in the fast suite; the other five under ``-m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from launchbay.cli.plugin import KINDS, write_plugin

FAST_KIND = "metric"


def launchbay(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launchbay", *args], capture_output=True, text=True, cwd=cwd)


def install(package: Path, site: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(package)],
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("kind", [pytest.param(k, marks=() if k == FAST_KIND else pytest.mark.slow) for k in KINDS])
def test_a_generated_plugin_installs_and_passes_its_tests(kind, tmp_path):
    package = write_plugin(f"acme-{kind}", kind, tmp_path)
    site = tmp_path / "site"
    install(package, site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    listed = subprocess.run([sys.executable, "-m", "launchbay", "plugins", "list"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and f"acme_{kind}" in listed.stdout, listed.stderr
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], capture_output=True, text=True,
                            cwd=package, env=env)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert " passed" in tested.stdout and "failed" not in tested.stdout and "skipped" not in tested.stdout


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
