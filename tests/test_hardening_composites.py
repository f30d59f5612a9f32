"""Composite gates nested deep: they run to the limit, and past it the error comes at build time."""

from __future__ import annotations

import math

import pytest

import gatekit
from gatekit.composite import MAX_COMPOSITE_DEPTH
from cli_helpers import invoke, run_json
from helpers import write_plugin

NESTING = """
import gatekit

@gatekit.hookimpl
def gatekit_register_gates(register):
    registry = gatekit.load_registry(env={}, entry_points=())
    name = None
    for level in range(1, DEPTH + 1):
        c = gatekit.Composer(registry)
        x = c.input("x")
        inner = x if name is None else c.gate(name, x)
        gate = c.build(inner * 1.01).as_gate(f"lvl{level}")
        registry.add_gate(gate, "nest")
        register(gate)
        name = gate.name
"""


def _nest(registry: gatekit.Registry, depth: int) -> str:
    name = None
    for level in range(1, depth + 1):
        c = gatekit.Composer(registry)
        x = c.input("x")
        inner = x if name is None else c.gate(name, x)
        registry.add_gate(c.build(inner * 1.01).as_gate(f"lvl{level}"), "nest")
        name = f"lvl{level}"
    return name


def test_composites_run_and_differentiate_to_the_depth_limit(registry):
    name = _nest(registry, MAX_COMPOSITE_DEPTH)
    circuit = gatekit.parse(f"{name}(x)", registry=registry)
    output, grads = circuit.gradient(x=2.0)
    assert math.isclose(output, 2.0 * 1.01**MAX_COMPOSITE_DEPTH, rel_tol=1e-12)
    assert math.isclose(grads["x"], 1.01**MAX_COMPOSITE_DEPTH, rel_tol=1e-12)
    assert gatekit.check_circuit(circuit, {"x": 2.0}).ok
    assert registry.gate(name).depth == MAX_COMPOSITE_DEPTH


def test_one_level_past_the_limit_is_refused_when_built(registry):
    name = _nest(registry, MAX_COMPOSITE_DEPTH)
    c = gatekit.Composer(registry)
    with pytest.raises(gatekit.CircuitError, match=f"nest composite gates {MAX_COMPOSITE_DEPTH + 1} deep"):
        c.build(c.gate(name, c.input("x"))).as_gate("too_deep")


def _plugin(tmp_path, depth: int) -> str:
    return write_plugin(tmp_path, "nesting", NESTING.replace("DEPTH", str(depth)))


def test_cli_a_plugin_nesting_to_the_limit_runs(tmp_path):
    data = run_json("--plugin", _plugin(tmp_path, MAX_COMPOSITE_DEPTH), "run", f"lvl{MAX_COMPOSITE_DEPTH}(x)", "x=1")
    assert math.isclose(data["output"], 1.01**MAX_COMPOSITE_DEPTH, rel_tol=1e-12)


def test_cli_a_plugin_nesting_past_the_limit_is_its_load_error(tmp_path):
    result = invoke("--plugin", _plugin(tmp_path, MAX_COMPOSITE_DEPTH + 1), "run", "lvl1(x)", "x=1")
    warning, error = result.stderr.splitlines()
    assert warning.startswith("Warning: plugin 'nesting' failed (hook)") and "101 deep" in warning
    assert result.exit_code == 2 and error.startswith("Error: unknown gate 'lvl1'")
