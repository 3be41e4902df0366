"""``launchbay plugin new NAME --kind KIND``: a plugin package that installs, registers and passes its tests.

The templates are plain package data (``launchbay/templates/plugin``) filled in with
``string.Template``: a shared ``pyproject.toml`` and ``README.md``, and per kind the plugin
module and its tests, each a readable file with a few ``$names`` in it. Six fixed variants
with no questions to ask need neither copier's nor cookiecutter's machinery (prompts,
hooks, a dependency and its own CLI), nor Jinja2's conditionals: one folder per kind keeps
every template the very file its author will read, and ``tests/test_scaffold.py`` installs
and runs what each one generates.
"""

from __future__ import annotations

import argparse
import importlib.util
import keyword
import re
import shutil
import tempfile
from importlib import metadata, resources
from pathlib import Path
from string import Template

from launchbay.errors import LaunchbayError

# kind -> what the README says selects the component
KINDS = {
    "source": "launchbay run job=train data=$component data.path=train.jsonl",
    "sink": "launchbay run job=pipeline sink=$component",
    "model": "launchbay run job=train model=$component model.max_depth=4",
    "metric": "launchbay run job=pipeline 'monitor.metrics=[$component]'",
    "alert": "launchbay run job=pipeline +alerts.$component.path=alerts.md",
    "lifecycle": "${variable}=events.jsonl launchbay run job=train",
}
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


def add_parser(sub) -> None:
    plugin = sub.add_parser("plugin", help="write a new plugin package").add_subparsers(dest="action", required=True)
    new = plugin.add_parser(
        "new",
        help="a plugin package: pyproject with the entry point, the component, a README, tests using launchbay.testing",
        description="Write NAME/ (distribution NAME, module NAME with _ for -): install it with pip install -e NAME, "
        "then run pytest inside it.",
    )
    new.add_argument("name", metavar="NAME", help="the distribution's name, e.g. acme-thing (module acme_thing)")
    new.add_argument("--kind", required=True, metavar="KIND", help=f"what the plugin provides: {', '.join(KINDS)}")
    new.add_argument("--dir", default=".", help="where NAME/ is written (default: the current directory)")
    new.set_defaults(func=plugin_new)


def plugin_new(args: argparse.Namespace) -> None:
    package = write_plugin(args.name, args.kind, Path(args.dir))
    print(f"wrote {package}: pip install -e {package} && (cd {package} && pytest)")


def name_taken(module: str, kind: str) -> str | None:
    """Why ``module`` cannot name a new plugin of ``kind`` here: a plugin of that name, or a component
    of that kind and name, is installed already (built-ins included); None when it is free."""
    from launchbay.plugins import manager_for

    manager = manager_for(quiet=True)
    if module in manager.plugins:
        return f"a plugin named {module} is installed already"
    catalogue_kind = {"source": "data"}.get(kind, kind)
    if catalogue_kind in manager.catalogue and module in manager.catalogue[catalogue_kind]:
        return f"{catalogue_kind} '{module}' is provided by plugin '{manager.provider(catalogue_kind, module)}' already"
    return None


def write_plugin(name: str, kind: str, where: Path) -> Path:
    """Write the package ``where/name`` for a plugin of ``kind``; returns its folder."""
    if not NAME.fullmatch(name) or keyword.iskeyword(module := name.replace("-", "_")):
        raise LaunchbayError(f"plugin new: NAME '{name}' must be lowercase letters and digits, words joined by - or _, "
                             "starting with a letter (e.g. acme-thing)")
    if importlib.util.find_spec(module) is not None:  # the package's tests would import that one
        raise LaunchbayError(f"plugin new: NAME '{name}': a module {module} is already installed here; choose another NAME")
    if kind not in KINDS:
        raise LaunchbayError(f"plugin new: unknown kind '{kind}' (kinds: {', '.join(KINDS)})")
    if taken := name_taken(module, kind):  # the new plugin would be left out of its own name
        raise LaunchbayError(f"plugin new: NAME '{name}': {taken}; choose another NAME")
    package = where / name
    if package.exists():
        raise LaunchbayError(f"plugin new: {package} already exists; choose another NAME or --dir")
    values = {
        "distribution": name,
        "module": module,
        "component": module,
        "title": "".join(word.capitalize() for word in re.split(r"[-_]", name)),
        "kind": kind,
        "variable": f"{module.upper()}_EVENTS",
        "launchbay_version": metadata.version("launchbay"),
    }
    values["usage"] = Template(KINDS[kind]).substitute(values)
    templates = resources.files("launchbay") / "templates" / "plugin"
    files = {
        "pyproject.toml": templates / "pyproject.toml.tmpl",
        "README.md": templates / "README.md.tmpl",
        f"src/{module}/__init__.py": templates / kind / "plugin.py.tmpl",
        f"tests/test_{module}.py": templates / kind / "test_plugin.py.tmpl",
    }
    rendered = {path: Template(template.read_text()).substitute(values) for path, template in files.items()}
    try:
        where.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=where))  # renamed into place once whole
    except OSError as exc:
        raise LaunchbayError(f"plugin new: cannot write into {where}: {exc}") from exc
    try:
        staging.chmod(0o755)
        for path, text in rendered.items():
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_text(text)
        staging.rename(package)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise LaunchbayError(f"plugin new: cannot write {package}: {exc}") from exc
    return package
