"""Junk from a plugin's forward is blamed on that gate and its plugin, not on the next one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.gate_outputs import output_problem
from cli_helpers import assert_error, invoke
from helpers import write_plugin

JUNK = {
    "a string": "'abc'",
    "None": "None",
    "a dict": "{}",
    "a list": "[1.0]",
    "a complex number": "1j",
    "a (3, 4) array": "np.ones((3, 4))",
    "a boolean": "True",
    "a bool array": "np.ones(np.shape(x), dtype=bool)",
}

SOURCE = """
import numpy as np
import gatekit

class Junk(gatekit.Gate):
    name, arity, doc = "junk", 1, "junk(x) = ?"
    def forward(self, x):
        return RETURN
    def backward(self, grad, out, x):
        return (grad,)

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Junk())
"""


def _plugin(tmp_path: Path, returned: str) -> str:
    return write_plugin(tmp_path, "junky", SOURCE.replace("RETURN", returned))


def _registry(tmp_path: Path, returned: str) -> gatekit.Registry:
    return gatekit.load_registry(extra=[_plugin(tmp_path, returned)], env={}, entry_points=())


@pytest.mark.parametrize("what", sorted(JUNK))
@pytest.mark.parametrize("expression", ["junk(x)", "junk(x) * 2", "max(junk(x), x) + 1"])
def test_junk_is_blamed_on_the_gate_that_returned_it(tmp_path, what, expression):
    circuit = gatekit.parse(expression, registry=_registry(tmp_path, JUNK[what]))
    point = np.ones(3) if what == "a bool array" else 1.0
    with pytest.raises(gatekit.errors.GateContractError) as info:
        circuit(x=point)
    message = str(info.value)
    assert message.startswith("gate 'junk' (plugin 'junky') at node 1: forward returned")
    assert info.value.plugin == "junky"


def test_junk_that_comes_later_is_still_blamed_on_its_gate(tmp_path):
    # Checked on the first call and fine; junk on a later call trips the next gate.
    circuit = gatekit.parse("junk(x) * 2", registry=_registry(tmp_path, "x if x > 0 else 'negative'"))
    assert circuit(x=1.0) == 2.0
    with pytest.raises(gatekit.errors.GateContractError, match=r"gate 'junk' \(plugin 'junky'\).*returned str"):
        circuit(x=-1.0)


@pytest.mark.parametrize("returned", ["x", "int(x)", "np.float32(x)", "np.asarray(x)"])
def test_real_numbers_pass(tmp_path, returned):
    assert float(gatekit.parse("junk(x) * 2", registry=_registry(tmp_path, returned))(x=1.0)) == 2.0


@pytest.mark.parametrize("returned", ["x", "x.astype(np.int64)", "np.float32(x)", "x[:1]"])
def test_real_arrays_pass_in_any_shape(tmp_path, returned):
    # Arrays are checked for their dtype only: reductions and layer gates change shapes.
    out = gatekit.parse("junk(x) * 2", registry=_registry(tmp_path, returned))(x=np.array([1.0, 2.0]))
    assert np.array_equal(out, [2.0, 4.0][: np.size(out)])


def test_duck_arrays_pass():
    class Duck:
        shape, dtype = (3,), "float64"

    assert output_problem(Duck(), scalar_inputs=False) is None
    Duck.dtype = "complex128"
    assert output_problem(Duck(), scalar_inputs=False) == "an array of complex128"


@pytest.mark.parametrize("what", ["a string", "None", "a boolean", "a (3, 4) array"])
def test_cli_junk_is_one_line_naming_the_gate_and_its_plugin(tmp_path, what):
    result = invoke("--plugin", _plugin(tmp_path, JUNK[what]), "run", "junk(x) * 2", "x=1", "--json")
    assert_error(result, 1, "gate 'junk' (plugin 'junky')", "forward returned")
    assert result.stdout == ""


def test_cli_a_bool_never_lands_in_the_json(tmp_path):
    result = invoke("--plugin", _plugin(tmp_path, "True"), "eval", "junk", "1", "--json")
    assert result.exit_code == 1 and "true" not in result.stdout
    assert "forward returned a boolean" in result.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_junk_that_trips_a_backward_is_blamed_on_the_forward(tmp_path):
    circuit = gatekit.parse("junk(x) * 2", registry=_registry(tmp_path, "x if x > 0 else 'negative'"))
    assert circuit.gradient(x=1.0) == (2.0, {"x": 2.0})
    trace = gatekit.Trace(circuit, [-1.0, "negative", 2.0, None])  # as a forward left unchecked would give
    trace.values[3] = 4.0
    with pytest.raises(gatekit.errors.GateContractError, match=r"gate 'junk' \(plugin 'junky'\).*forward returned str"):
        trace.backward()
