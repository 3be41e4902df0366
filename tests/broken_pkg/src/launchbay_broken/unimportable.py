"""Imports a dependency that is not installed."""

import launchbay_no_such_dependency  # noqa: F401
