"""The plugin as gatekit loads it: its hooks register every gate under its name."""

from __future__ import annotations

import math

import pytest

import gatekit
import gatekit_smooth
from gatekit.pytest_plugin import plugin_tests

#: gatekit's pytest plugin turns every gate and strategy this plugin registers into tests:
#: gradients, determinism, docs, the strategy climbing and repeating with a seed.
TestGatekitSmooth = plugin_tests("gatekit_smooth")


@pytest.fixture
def registry():
    """Built-in plugins plus this one, loaded by module (no install needed)."""
    return gatekit.load_registry([gatekit_smooth], env={}, entry_points=())


def test_hook_registers_every_gate(registry):
    assert registry.load_errors == []
    assert registry.provided_by("gatekit_smooth")["gate"] == ["cos", "sin", "softplus", "swish"]


def test_gates_work_in_a_circuit(registry):
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(c.sin(x) * y)
    out, grads = circuit.gradient(x=1.0, y=2.0)
    assert out == pytest.approx(2 * math.sin(1.0), abs=1e-12)
    assert grads["x"] == pytest.approx(2 * math.cos(1.0), abs=1e-12)
    assert grads["y"] == pytest.approx(math.sin(1.0), abs=1e-12)


def test_swish_gradient_matches_its_formula(registry):
    c = gatekit.Composer(registry)
    (x,) = c.inputs("x")
    _, grads = c.build(c.swish(x)).gradient(x=1.5)
    s = 1 / (1 + math.exp(-1.5))
    assert grads["x"] == pytest.approx(s + 1.5 * s * (1 - s), abs=1e-12)
