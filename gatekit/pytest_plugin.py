"""gatekit's pytest plugin: isolated registries and ready-made tests for a plugin's gates.

pytest loads it by itself wherever gatekit is installed (the ``pytest11`` entry point);
it adds fixtures and helpers and changes nothing until a test asks for them.

- ``gatekit_registry`` (fixture): a fresh registry with gatekit's built-in plugins plus
  the plugins named by ``@pytest.mark.gatekit_plugins(...)`` (or the ``gatekit_plugins``
  ini option), and nothing else that is installed. It is also the default registry for
  the test, so ``gatekit.parse("sin(x)")`` sees the same gates.
- ``plugin_tests(*plugins)``: one line in a test module turns every gate and strategy
  those plugins register into parametrised tests::

      from gatekit.pytest_plugin import plugin_tests

      TestMyGates = plugin_tests("my-gates")

  Each gate: backward against central differences at random points of its domain (scalars
  and broadcast arrays, a random upstream gradient), with a diagnosis when it is wrong;
  forward and backward deterministic and leaving their inputs alone; a one-line doc with
  the formula. Each strategy: valid (doc, typed options), climbs and descends a bowl,
  and a seed repeats a run exactly. And the plugins load without an error or a name clash.
- ``isolate(monkeypatch, plugins=())``: what the fixture does, for a suite that wants every
  test isolated (gatekit's own suite does this in its ``conftest.py``): installed plugins
  are hidden from discovery for the test, while a distribution a test creates is still found.
- ``isolated_environ()``: the same for a subprocess (installed plugins disabled by name).

A plugin is named as its entry-point name (``"my-gates"``, for an installed distribution),
an importable module name (``"my_gates"``: the installed plugin whose module it is, if
any, so it keeps its name and version), a module object, or a ``.py`` path.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from . import plugins as _plugins
from .check import KinkWarning, check_gate, sample_point
from .errors import UsageError, warn_deprecated
from .registry import Entry, Registry

__all__ = ["isolate", "isolated_registry", "isolated_environ", "plugin_tests", "ambient_entry_points"]

_SWITCHES = ("GATEKIT_DISABLE_PLUGINS", "GATEKIT_LOAD_PLUGINS", "GATEKIT_STRICT_PLUGINS")


def _key(ep: Any) -> tuple[str, str, str]:
    dist = getattr(ep, "dist", None)
    where = str(dist.locate_file("")) if dist is not None else ""
    return ep.name, ep.value, where


#: The gatekit entry points installed when this plugin was imported (the session's start).
_AMBIENT: dict[tuple[str, str, str], Any] = {_key(ep): ep for ep in _plugins.installed_entry_points()}


def ambient_entry_points() -> list[Any]:
    """The gatekit plugins installed in this environment when the test session started."""
    return list(_AMBIENT.values())


#: Discovery itself, kept before isolate() replaces it for a test.
_REAL_DISCOVERY = _plugins.installed_entry_points


def _discovered_without_ambient() -> list[Any]:
    return [ep for ep in _REAL_DISCOVERY() if _key(ep) not in _AMBIENT]


def _split(plugins: Iterable[str | ModuleType | Any]) -> tuple[list[Any], list[Any]]:
    """Named plugins as (installed entry points, extras to import as modules or files)."""
    installed: dict[str, Any] = {}
    for ep in _REAL_DISCOVERY():  # by plugin name, and by module: "my-gates" or "my_gates"
        installed.setdefault(ep.value.split(":")[0].strip(), ep)
        installed[ep.name] = ep
    entry_points, extras = [], []
    for plugin in plugins:
        if isinstance(plugin, str) and plugin in installed:
            entry_points.append(installed[plugin])  # installed: its real name and version
        else:
            extras.append(plugin)
    return entry_points, extras


def isolated_registry(plugins: Iterable[str | ModuleType | Any] = ()) -> Registry:
    """Built-in plugins plus ``plugins``; nothing else installed, no ``GATEKIT_*`` switch."""
    entry_points, extras = _split(plugins)
    return _plugins.load_registry(extras, env={}, entry_points=entry_points)


def isolate(monkeypatch: pytest.MonkeyPatch, plugins: Iterable[str | ModuleType | Any] = ()) -> Registry:
    """Isolate the rest of a test from what is installed; returns its default registry.

    Discovery no longer sees the plugins installed when the session started (a
    distribution the test creates is still found), the ``GATEKIT_*`` switches are
    cleared, and the default registry is built-ins plus ``plugins``. A subprocess the test
    starts inherits ``GATEKIT_DISABLE_PLUGINS`` naming those installed plugins, so it is
    isolated too (a test that builds its own environment uses :func:`isolated_environ`).
    """
    for var in _SWITCHES:
        monkeypatch.delenv(var, raising=False)
    blocked = isolated_environ({}).get("GATEKIT_DISABLE_PLUGINS")
    if blocked:
        monkeypatch.setenv("GATEKIT_DISABLE_PLUGINS", blocked)
    monkeypatch.setattr(_plugins, "installed_entry_points", _discovered_without_ambient)
    registry = isolated_registry(plugins)
    monkeypatch.setattr(_plugins, "_default", registry)  # the process-wide registry, until the test ends
    return registry


def isolated_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a subprocess in which no plugin installed at the session's start loads."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("GATEKIT_")}
    names = sorted({ep.name for ep in _AMBIENT.values()})
    if names:
        env["GATEKIT_DISABLE_PLUGINS"] = ",".join(names)
    return env


# -- pytest hooks and fixtures -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("gatekit_plugins", "plugins the gatekit_registry fixture loads beside the built-ins",
                  type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "gatekit_plugins(*plugins): the plugins the gatekit_registry fixture loads beside the built-ins")


@pytest.fixture
def gatekit_registry(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry of the built-ins plus the plugins named (marker, else ini), isolated from the rest."""
    marker = request.node.get_closest_marker("gatekit_plugins")
    plugins = list(marker.args) if marker is not None else list(request.config.getini("gatekit_plugins"))
    return isolate(monkeypatch, plugins)


# -- plugin_tests --------------------------------------------------------------------------------


def _theirs(registry: Registry, kind: str) -> list[Entry]:
    return [entry for entry in registry.iter_entries(kind) if not entry.plugin.builtin]


def _ids(entries: Sequence[Entry]) -> list[str]:
    return [entry.name for entry in entries]


def _points(entry: Entry, seed: int) -> Iterator[list[Any]]:
    """A scalar point and a broadcast array point in the gate's domain."""
    rng = np.random.default_rng(seed)
    arity = entry.obj.arity
    yield sample_point(entry.obj, rng, tuple(() for _ in range(arity)))
    yield sample_point(entry.obj, rng, tuple((3, 1) if k == 0 else (4,) for k in range(arity)))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


BOWL = "-((x - 1) ** 2) - (y + 2) ** 2"  # largest (0) at x = 1, y = -2


def plugin_tests(*plugins: str | ModuleType | Any, rounds: int = 5, seed: int = 0, steps: int = 100,
                 points: int | None = None) -> type:
    """A test class with every gate and strategy of ``plugins`` as parametrised tests.

    Assign it to a name starting with ``Test`` in a test module:
    ``TestMyGates = plugin_tests("my-gates")``. ``rounds`` and ``seed`` go to the gradient
    check (``points=`` is the deprecated old name of ``rounds``); ``steps`` is how long
    each strategy may climb the bowl.
    """
    if points is not None:
        warn_deprecated("plugin_tests(points=...)", "rounds=...")
        rounds = points
    if not plugins:
        raise UsageError("plugin_tests needs at least one plugin (an entry-point name, module or .py path)")
    registry = isolated_registry(plugins)
    gates, strategies = _theirs(registry, "gate"), _theirs(registry, "strategy")
    load_errors = [str(error) for error in registry.load_errors]

    class GatekitPluginTests:
        """Generated by gatekit.pytest_plugin.plugin_tests."""

        def test_loads_without_errors_or_name_clashes(self) -> None:
            __tracebackhide__ = True
            if load_errors:
                pytest.fail("\n".join(load_errors), pytrace=False)
            if not gates and not strategies:
                pytest.fail(f"{', '.join(map(str, plugins))} registered no gate and no strategy", pytrace=False)

        @pytest.mark.parametrize("entry", gates, ids=_ids(gates))
        def test_gate_gradient(self, entry: Entry) -> None:
            __tracebackhide__ = True
            result = check_gate(entry.obj, rounds=rounds, seed=seed, plugin=entry.plugin.name)
            if not result.ok:
                pytest.fail(result.describe(), pytrace=False)
            if result.kink is not None:
                warnings.warn(KinkWarning(result.describe()), stacklevel=1)

        @pytest.mark.parametrize("entry", gates, ids=_ids(gates))
        def test_gate_is_deterministic(self, entry: Entry) -> None:
            __tracebackhide__ = True
            gate, where = entry.obj, f"gate {entry.name!r} (plugin {entry.plugin.name!r})"
            for xs in _points(entry, seed):
                kept = [np.copy(x) for x in xs]
                with np.errstate(all="ignore"):
                    out = gate.forward(*xs)
                    again = gate.forward(*xs)
                    grad = np.ones_like(np.asarray(out, dtype=np.float64))
                    grads = gate.backward(grad, out, *xs)
                    grads_again = gate.backward(grad, out, *xs)
                if not _same(out, again):
                    pytest.fail(f"{where}: forward gave two different values for the same inputs", pytrace=False)
                if not _same(grads, grads_again):
                    pytest.fail(f"{where}: backward gave two different results for the same inputs", pytrace=False)
                if not _same(xs, kept):
                    pytest.fail(f"{where}: forward or backward changed its inputs in place", pytrace=False)

        @pytest.mark.parametrize("entry", gates, ids=_ids(gates))
        def test_gate_doc_has_the_formula(self, entry: Entry) -> None:
            __tracebackhide__ = True
            doc = getattr(entry.obj, "doc", "")
            if "=" not in doc:
                pytest.fail(f"gate {entry.name!r} (plugin {entry.plugin.name!r}): its doc {doc!r} has no formula "
                            f"(write it as '{entry.name}(x) = ...')", pytrace=False)

        @pytest.mark.parametrize("entry", strategies, ids=_ids(strategies))
        def test_strategy_climbs_and_descends(self, entry: Entry) -> None:
            __tracebackhide__ = True
            from .expression import parse
            from .optimize import optimize

            where = f"strategy {entry.name!r} (plugin {entry.plugin.name!r})"
            bowl = parse(BOWL, registry=registry)
            for maximize, circuit in ((True, bowl), (False, parse(f"-({BOWL})", registry=registry))):
                result = optimize(circuit, {"x": 0.0, "y": 0.0}, entry.name, steps=steps, maximize=maximize,
                                  seed=seed, registry=registry)
                better = result.best_output > result.start_output if maximize else result.best_output < result.start_output
                if not better:
                    way = "climb" if maximize else "descend"
                    pytest.fail(f"{where}: did not {way} {'' if maximize else '-'}({BOWL}) from x=0, y=0 in "
                                f"{steps} steps (output {result.start_output} -> best {result.best_output}, "
                                f"stopped: {result.stop_reason})", pytrace=False)

        @pytest.mark.parametrize("entry", strategies, ids=_ids(strategies))
        def test_strategy_repeats_with_a_seed(self, entry: Entry) -> None:
            __tracebackhide__ = True
            from .expression import parse
            from .optimize import optimize

            bowl = parse(BOWL, registry=registry)
            runs = [optimize(bowl, {"x": 0.0, "y": 0.0}, entry.name, steps=20, seed=seed, registry=registry)
                    for _ in range(2)]
            paths = [([record.output for record in run.history], run.final) for run in runs]
            if paths[0] != paths[1]:
                pytest.fail(f"strategy {entry.name!r} (plugin {entry.plugin.name!r}): two runs with seed {seed} "
                            "took different paths (draw random numbers from problem.rng only)", pytrace=False)

    # A plugin with no strategies (or no gates) gets no such tests, rather than skipped ones.
    for kind, found in (("gate", gates), ("strategy", strategies)):
        if not found:
            for attr in [a for a in vars(GatekitPluginTests) if a.startswith(f"test_{kind}_")]:
                delattr(GatekitPluginTests, attr)
    return GatekitPluginTests
