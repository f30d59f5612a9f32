"""Bounded work, and the smaller ones: each a clear error or a correct result (API and CLI)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from gatekit.pytest_plugin import isolated_environ  # no plugin installed here leaks in
import gatekit
from gatekit import CircuitFileError, ExpressionError, UsageError
from gatekit.circuit_file import loads
from gatekit.expression_source import MAX_EXPRESSION_CHARS
from gatekit.registry import MAX_ARITY
from cli_helpers import FIXTURES, assert_error, invoke, run_json
from helpers import write_plugin

REGISTRY = gatekit.load_registry(env={}, entry_points=())


WIDE = """
import gatekit
class Wide(gatekit.Gate):
    name, doc = "wide", "wide(*xs) = 0"
    arity = ARITY
    def forward(self, *xs):
        return 0.0
    def backward(self, grad, out, *xs):
        return tuple(0.0 for _ in xs)
@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Wide())
"""


# -- item 6: bounded work --------------------------------------------------------------------


def test_an_arity_past_the_limit_is_refused_at_registration(tmp_path):
    path = write_plugin(tmp_path, "wide", WIDE.replace("ARITY", "10**9"))
    registry = gatekit.load_registry(extra=[path], env={}, entry_points=())
    [error] = registry.load_errors
    assert error.stage == "register" and f"more than {MAX_ARITY}" in error.message
    assert "wide" not in registry


def test_the_largest_arity_still_works(tmp_path):
    registry = gatekit.load_registry(extra=[write_plugin(tmp_path, "wide", WIDE.replace("ARITY", str(MAX_ARITY)))],
                                     env={}, entry_points=())
    assert registry.gate("wide").arity == MAX_ARITY


def test_cli_eval_and_check_of_a_huge_arity_gate_end_at_once(tmp_path):
    path = write_plugin(tmp_path, "wide", WIDE.replace("ARITY", "10**9"))
    result = invoke("--plugin", path, "eval", "wide", "1")
    assert result.exit_code == 2 and f"more than {MAX_ARITY}, the most a gate may take" in result.stderr
    assert "unknown gate 'wide'" in result.stderr
    assert invoke("--plugin", path, "check", "--json").exit_code == 0  # the others pass


def test_an_expression_past_the_size_limit_is_one_clear_error(monkeypatch):
    import gatekit.expression as expression

    monkeypatch.setattr(expression, "MAX_EXPRESSION_CHARS", 100)
    with pytest.raises(ExpressionError, match="more than the 100 gatekit parses"):
        gatekit.parse(" + ".join(["x"] * 40), registry=REGISTRY)
    assert gatekit.parse(" + ".join(["x"] * 20), registry=REGISTRY)(x=1.0) == 20.0


def test_the_size_limit_holds_a_million_term_sum():
    assert len(" + ".join(["x"] * 10**6)) < MAX_EXPRESSION_CHARS


# -- item 9: the smaller ones ----------------------------------------------------------------


def _file(**changes: object) -> str:
    data = {"format": "gatekit-circuit", "version": 1, "inputs": ["x"],
            "nodes": [{"id": "f", "gate": "neg", "args": ["x"]}], "output": "f"}
    data.update(changes)
    return json.dumps(data)


def test_json_numbers_past_pythons_digit_limit_are_clear_errors():
    with pytest.raises(CircuitFileError, match=r"version: expected the number 1, got inf"):
        loads(_file().replace('"version": 1', '"version": ' + "9" * 5000), REGISTRY)
    with pytest.raises(CircuitFileError, match=r"nodes\[0\]\.args\[0\]: a constant must be a finite number"):
        loads(_file(nodes=[{"id": "f", "gate": "neg", "args": [0]}]).replace("[0]", "[" + "9" * 5000 + "]"),
              REGISTRY)


def test_duplicate_json_keys_are_refused():
    text = _file().replace('"output": "f"', '"output": "f", "output": "x"')
    with pytest.raises(CircuitFileError, match="the key 'output' appears twice"):
        loads(text, REGISTRY)


def test_cli_duplicate_keys_and_huge_numbers(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(_file().replace('"version": 1', '"version": 1, "version": 1'))
    assert_error(invoke("run", "--file", str(path), "x=1"), 2, "appears twice")
    path.write_text(_file().replace('"version": 1', '"version": ' + "9" * 5000))
    assert_error(invoke("run", "--file", str(path), "x=1"), 2, "version: expected the number 1")


def test_cli_unicode_input_names():
    data = run_json("run", "ñ * 2", "ñ=3")
    assert data["output"] == 6.0
    assert run_json("run", "\ufb01 * 2", "\ufb01=3")["output"] == 6.0  # 'ﬁ' is read as 'fi' by both
    assert_error(invoke("run", "x * 2", "x=1", "ñ=3"), 2, "unknown input 'ñ'")


def test_a_first_stage_that_reads_its_own_name_is_refused():
    with pytest.raises(ExpressionError, match="cannot assign 'c': it is an input"):
        gatekit.parse("c = c + 1", registry=REGISTRY)
    assert gatekit.parse("c = a + 1; c = c * 2", registry=REGISTRY)(a=1.0) == 4.0
    assert_error(invoke("run", "c = c + 1", "c=1"), 2, "cannot assign 'c'")


def test_arrays_that_cannot_broadcast_are_a_usage_error_about_the_inputs():
    circuit = gatekit.parse("q = x * y; f = q + z", registry=REGISTRY)
    with pytest.raises(UsageError, match=r"do not broadcast together \(x \(3,\), y \(4,\)\)") as info:
        circuit(x=np.ones(3), y=np.ones(4), z=1.0)
    assert not isinstance(info.value, gatekit.PluginError)
    assert np.array_equal(circuit(x=np.ones(3), y=np.ones((2, 1)), z=1.0), np.full((2, 3), 2.0))


def test_a_masked_array_is_one_clear_error():
    circuit = gatekit.parse("x * 2", registry=REGISTRY)
    with pytest.raises(UsageError, match="masked array"):
        circuit(x=np.ma.masked_array([1.0, 2.0], mask=[0, 1]))


COMPLEX = """
import gatekit
class Complex:
    name, doc = "complex-step", "a strategy that moves into the complex plane"
    def step(self, problem, state):
        return problem.current + 1j
@gatekit.hookimpl
def gatekit_register_strategies(register):
    register(Complex())
"""


def test_a_strategy_step_returning_complex_numbers_is_its_error(tmp_path):
    path = write_plugin(tmp_path, "complexity", COMPLEX)
    registry = gatekit.load_registry(extra=[path], env={}, entry_points=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw ComplexWarning either
        with pytest.raises(gatekit.PluginError, match="returned complex numbers from step"):
            gatekit.optimize(gatekit.parse("x * x", registry=registry), {"x": 1.0}, "complex-step", steps=2)
    result = invoke("--plugin", path, "optimize", "x * x", "x=1", "--strategy", "complex-step")
    assert_error(result, 1, "strategy 'complex-step' (plugin 'complexity') returned complex numbers")


def test_the_same_plugin_given_twice_loads_once():
    good = str(FIXTURES / "good_plugin.py")
    registry = gatekit.load_registry(extra=[good, good], env={}, entry_points=())
    assert registry.load_errors == [] and "cube" in registry
    module = type("twice", (), {})()
    registry = gatekit.load_registry(extra=[module, module], env={}, entry_points=())
    assert registry.load_errors == []
    result = invoke("--plugin", good, "--plugin", good, "gates", "--json")
    assert result.exit_code == 0 and result.stderr == ""


def test_two_plugins_with_one_name_is_a_short_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_plugin(tmp_path / "a", "same", "")
    second = write_plugin(tmp_path / "b", "same", "")
    registry = gatekit.load_registry(extra=[first, second], env={}, entry_points=())
    [error] = registry.load_errors
    assert "two plugins are named 'same'" in error.message and len(error.message) < 200


def test_a_dotted_plugin_under_a_plain_module_imports_nothing(capsys):
    with pytest.raises(UsageError, match="'this' is a module, not a package"):
        gatekit.load_registry(extra=["this.module.x"], env={}, entry_points=())
    assert "this" not in sys.modules or "Zen" not in capsys.readouterr().out
    result = invoke("--plugin", "this.module.x", "gates")
    assert_error(result, 2, "'this' is a module, not a package")
    assert "Beautiful is better than ugly" not in result.stdout


def test_repeated_strategy_on_optimize_is_refused():
    result = invoke("optimize", "x * x", "x=1", "--strategy", "random-search", "--strategy", "numerical-gradient")
    assert_error(result, 2, "optimize runs one strategy, got 2", "gatekit compare")
    assert run_json("optimize", "x * x", "x=1", "--steps", "2")["strategy"] == "analytic-gradient"


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii", "COLUMNS": "30"}, {"LC_ALL": "C", "COLUMNS": "30"}])
def test_an_ascii_terminal_gets_the_whole_table(env):
    script = Path(sys.executable).with_name("gatekit")
    done = subprocess.run([str(script), "gates"], capture_output=True, text=True, timeout=60,
                          env={**isolated_environ(), **env})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.rstrip().splitlines()[-1][0] in "+\u2514"  # down to the table's last border
    labelled = subprocess.run([str(script), "run", "ñ = x * 2", "x=1"], capture_output=True, timeout=60,
                              env={**isolated_environ(), **env})
    assert labelled.returncode == 0 and labelled.stderr == b""


def test_brackets_past_the_parsers_depth_are_refused_before_tokenising(monkeypatch):
    import gatekit.expression_source as source

    deep = "y +\n  " + "(" * 10**6 + "x"
    expected = "too many nested parentheses for Python's parser (at most 200)"

    def never(*args):
        raise AssertionError("tokenised input that is refused anyway")

    monkeypatch.setattr(source, "flatten_chains", never)
    with pytest.raises(ExpressionError, match=r"at most 200\).*\(at line 2, column 203\)"):
        gatekit.parse(deep, registry=REGISTRY)
    monkeypatch.undo()
    # The same message (and place) as the parser's own, just below and above the limit.
    assert gatekit.parse("(" * 200 + "x" + ")" * 200, registry=REGISTRY)(x=2.0) == 2.0
    with pytest.raises(ExpressionError, match=r"at most 200\).*column 201"):
        gatekit.parse("(" * 201 + "x" + ")" * 201, registry=REGISTRY)
    with pytest.raises(ExpressionError, match=re.escape(expected)):
        gatekit.parse("# (((\n" + "(" * 201 + "x" + ")" * 201, registry=REGISTRY)  # a comment: the parser decides
    assert_error(invoke("run", "(" * 5000 + "x"), 2, expected)
