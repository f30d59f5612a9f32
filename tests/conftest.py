"""Shared fixtures: every test gets a fresh registry; nothing leaks between tests."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import settings

import gatekit
from gatekit.plugins import reset_default_registry
from gatekit.pytest_plugin import isolate

pytest_plugins = ["pytester"]  # tests/test_bug_zoo.py runs plugin authors' test files


# CI (which sets CI=true) runs the same examples every time, so a run that passed here
# passes there: a failure found by exploring is fixed, never left to chance.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# A suite started as a background job of a script (`pytest &`) inherits SIGINT ignored.
# gatekit's CLI then cannot tell a real Ctrl-C from a plugin's KeyboardInterrupt (it
# watches SIGINT only over Python's own handler), and every containment test would see
# a plugin's interrupt taken for the user's; the suite runs as it would in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


#: The modules that build environments and rerun tests in them, the longest by far (the
#: rerun alone is about a third of the suite). They go first, so that under `make test`'s
#: two workers (pytest-xdist, a module per worker) the other worker takes the many short
#: modules meanwhile, instead of one long module starting last and running on alone.
LONG_MODULES = ("test_examples_integration.py", "test_scaffold.py", "test_wheel_install.py", "test_plugin_types.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)  # stable: within a module, and among the rest, the order stays


@pytest.fixture
def registry() -> gatekit.Registry:
    """A fresh registry with only the built-in plugins (no installed third-party ones)."""
    return gatekit.load_registry(env={}, entry_points=())


@pytest.fixture(scope="session", autouse=True)
def _isolated_session():
    """The same isolation for the whole session, so module- and session-scoped fixtures have it too."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch)
        yield


@pytest.fixture(autouse=True)
def _isolated_default_registry(monkeypatch):
    """Every test is isolated from the plugins installed here, as gatekit's pytest plugin isolates a plugin's.

    The process-wide registry is rebuilt per test from the built-ins only, and discovery no
    longer sees the installed plugins (a distribution a test creates is still found).
    """
    monkeypatch.delenv("GATEKIT_DEBUG", raising=False)
    isolate(monkeypatch)
    yield
    reset_default_registry()


@pytest.fixture
def product(registry) -> gatekit.Circuit:
    """The lesson's first circuit: ``x * y``."""
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(x * y)
