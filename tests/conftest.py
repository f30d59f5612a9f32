"""Shared fixtures: every test gets a fresh registry; nothing leaks between tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

import gatekit
from gatekit.plugins import reset_default_registry


# CI (which sets CI=true) runs the same examples every time, so a run that passed here
# passes there: a failure found by exploring is fixed, never left to chance.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def registry() -> gatekit.Registry:
    """A fresh registry with only the built-in plugins (no installed third-party ones)."""
    return gatekit.load_registry(env={}, entry_points=())


@pytest.fixture(autouse=True)
def _isolated_default_registry(monkeypatch):
    """The process-wide registry is rebuilt per test, from the built-ins only."""
    for var in ("GATEKIT_DISABLE_PLUGINS", "GATEKIT_LOAD_PLUGINS", "GATEKIT_STRICT_PLUGINS", "GATEKIT_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    reset_default_registry(gatekit.load_registry(env={}, entry_points=()))
    yield
    reset_default_registry()


@pytest.fixture
def product(registry) -> gatekit.Circuit:
    """The lesson's first circuit: ``x * y``."""
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(x * y)
