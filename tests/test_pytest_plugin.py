"""gatekit's pytest plugin, run as a plugin author runs it: test files through pytester.

The positive path (a good plugin passes every generated test) is also run for real by
tests/test_scaffold.py, in a venv where the scaffold's output is installed.
"""

from __future__ import annotations

import pytest

import gatekit
from cli_helpers import FIXTURES
from gatekit import plugins as gatekit_plugins
from gatekit.pytest_plugin import isolated_environ, isolated_registry, plugin_tests
from test_broken_plugins import _fake_distribution, site  # noqa: F401  (the fixture)

HEADER = f"""
import sys

import numpy as np
import pytest

import gatekit
from gatekit.pytest_plugin import plugin_tests

sys.path.insert(0, {str(FIXTURES)!r})
"""

STRATEGIES = HEADER + '''
class Stuck(gatekit.Strategy):
    name, doc = "stuck", "never moves"

    def step(self, problem, state):
        return problem.current


class Wandering(gatekit.Strategy):
    name, doc = "wandering", "climbs, with a step that grows across runs (state kept on the instance)"
    calls = 0

    def step(self, problem, state):
        self.calls += 1
        return problem.current + 1e-3 * self.calls * np.sign(problem.gradient(problem.current))


class Climber(gatekit.Strategy):
    name, doc = "climber", "gradient steps"

    def step(self, problem, state):
        return problem.current + 0.1 * problem.gradient(problem.current)


@gatekit.hookimpl
def gatekit_register_strategies(register):
    for strategy in (Stuck(), Wandering(), Climber()):
        register(strategy)


TestMine = plugin_tests(sys.modules[__name__])
'''


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_good_plugin_passes_every_generated_test(pytester):
    pytester.makepyfile(test_author_good=HEADER + f"TestCube = plugin_tests({str(FIXTURES / 'good_plugin.py')!r})\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)  # loading; cube's gradient, determinism and doc (no strategy tests)
    result.stdout.fnmatch_lines(["*TestCube::test_gate_gradient?cube? PASSED*",
                                 "*TestCube::test_gate_is_deterministic?cube? PASSED*"])


def test_a_name_clash_fails_the_loading_test(pytester):
    pytester.makepyfile(test_author_clash=HEADER + f"TestMul = plugin_tests({str(FIXTURES / 'takes_builtin_name.py')!r})\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # it registered nothing, so there is nothing else to test
    assert "conflicts with the one from plugin 'gatekit_gates'" in _flat(result.stdout.str())


def test_strategies_that_do_not_climb_or_do_not_repeat_fail(pytester):
    pytester.makepyfile(test_author_strategies=STRATEGIES)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    output = _flat(result.stdout.str())
    result.assert_outcomes(passed=1 + 2 + 2, failed=1 + 1)  # loading; climbs x3; repeats x3
    assert "strategy 'stuck' (plugin 'test_author_strategies'): did not climb" in output
    assert "strategy 'wandering' (plugin 'test_author_strategies'): two runs with seed 0 took different paths" in output


def test_a_nondeterministic_gate_and_one_without_a_formula_fail(pytester):
    pytester.makepyfile(test_author_gates=HEADER + '''
class Noisy(gatekit.Gate):
    name, arity, doc = "noisy", 1, "noisy(x) = x + tiny noise"

    def forward(self, x):
        return x + np.random.default_rng().normal(scale=1e-6)

    def backward(self, grad, out, x):
        return (grad * 1.0,)


class InPlace(gatekit.Gate):
    name, arity, doc = "inplace", 1, "no formula here"

    def forward(self, x):
        return 2 * x

    def backward(self, grad, out, x):
        if isinstance(x, np.ndarray):
            x += 1.0  # writes to the caller's array
        return (2 * grad,)


@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Noisy())
    register(InPlace())


TestMine = plugin_tests(sys.modules[__name__])
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    output = _flat(result.stdout.str())
    assert "gate 'inplace' (plugin 'test_author_gates'): its doc 'no formula here' has no formula" in output
    assert "gate 'inplace' (plugin 'test_author_gates'): forward or backward changed its inputs in place" in output
    assert "gate 'noisy' (plugin 'test_author_gates'): forward gave two different values" in output


def test_the_fixture_loads_the_plugins_named_by_the_marker_and_nothing_installed(pytester, site):  # noqa: F811
    _fake_distribution(site, "wrong_backward")  # installed before the run: it must not leak in
    pytester.makepyfile(test_author_fixture=HEADER + f'''
@pytest.mark.gatekit_plugins({str(FIXTURES / "good_plugin.py")!r})
def test_marker(gatekit_registry):
    assert "cube" in gatekit_registry and "badgrad" not in gatekit_registry
    assert gatekit.default_registry() is gatekit_registry
    assert gatekit.parse("cube(x)")(x=2.0) == 8.0


def test_nothing_named(gatekit_registry):
    assert "cube" not in gatekit_registry and "badgrad" not in gatekit_registry
    assert [p.name for p in gatekit_registry.plugins] == ["gatekit_gates", "gatekit_strategies"]
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_isolated_environ_disables_what_was_installed_at_the_start(monkeypatch):
    fake = type("EP", (), {"name": "ambient-one", "value": "ambient_one", "dist": None})()
    monkeypatch.setattr("gatekit.pytest_plugin._AMBIENT", {("ambient-one", "ambient_one", ""): fake})
    env = isolated_environ({"GATEKIT_STRICT_PLUGINS": "1", "HOME": "/x"})
    assert env == {"HOME": "/x", "GATEKIT_DISABLE_PLUGINS": "ambient-one"}


def test_isolated_registry_finds_an_installed_plugin_by_name_or_module(site):  # noqa: F811
    _fake_distribution(site, "good_plugin")  # entry point "good_plugin = good_plugin"
    monkeypatch_free = isolated_registry(["good_plugin"])
    assert monkeypatch_free.entry("gate", "cube").plugin.distribution == "fake-good-plugin"
    assert gatekit_plugins.installed_entry_points is not None


def test_plugin_tests_needs_a_plugin():
    with pytest.raises(gatekit.UsageError, match="at least one plugin"):
        plugin_tests()
