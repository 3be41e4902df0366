"""Loads fine, but its model_promoted hook raises: every promotion is a warning, never undone."""

from launchbay import hookimpl


@hookimpl
def launchbay_model_promoted(alias, version):
    raise RuntimeError(f"cannot tell anyone that {alias} is v{version}")
