"""Diagnoses on random mistakes: the factor, sign or swap found is the one put in, checked at several points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import check_circuit, check_gate

#: One-input functions and their derivatives, to build wrong gates from.
FUNCTIONS = {
    "sin": (np.sin, np.cos),
    "exp": (np.exp, np.exp),
    "cube": (lambda x: x ** 3, lambda x: 3 * x ** 2),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
}


def _gate(function: str, factor: float) -> gatekit.Gate:
    f, df = FUNCTIONS[function]

    class Scaled(gatekit.Gate):
        name, arity, doc = "scaled", 1, f"scaled(x) = {function}(x)"

        def forward(self, x: Any) -> Any:
            return f(x)

        def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
            return (factor * grad * df(x),)

    return Scaled()


@settings(max_examples=30, deadline=None)
@given(function=st.sampled_from(sorted(FUNCTIONS)),
       factor=st.floats(-8, 8).filter(lambda c: abs(c) > 0.05 and abs(abs(c) - 1) > 0.01),
       seed=st.integers(0, 2**16))
def test_a_constant_factor_is_found_and_named(function, factor, seed):
    result = check_gate(_gate(function, factor), seed=seed, plugin="mine")
    assert not result.ok and result.diagnosis is not None
    assert result.diagnosis.kind == "constant-factor", result.describe()
    assert f"it gives {factor:.6g} times the derivative" in result.diagnosis.summary


@settings(max_examples=10, deadline=None)
@given(function=st.sampled_from(sorted(FUNCTIONS)), seed=st.integers(0, 2**16))
def test_a_wrong_sign_is_found(function, seed):
    result = check_gate(_gate(function, -1.0), seed=seed, plugin="mine")
    assert result.diagnosis is not None and result.diagnosis.kind == "wrong-sign", result.describe()


def test_a_derivative_wrong_in_another_way_is_not_called_a_factor():
    class Wrong(gatekit.Gate):
        name, arity, doc = "wrong", 1, "wrong(x) = sin(x)"

        def forward(self, x: Any) -> Any:
            return np.sin(x)

        def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
            return (grad * np.sin(x),)  # sin for cos: no constant ratio

    result = check_gate(Wrong(), plugin="mine")
    assert result.diagnosis is not None and result.diagnosis.kind == "wrong", result.describe()


@pytest.mark.parametrize("gate", ["relu", "abs", "max"])
def test_built_in_kinks_use_the_mean_so_a_check_there_passes_clean(registry, gate):
    # relu'(0) = 0.5, abs'(0) = 0, max(x, x) halves: what central differences measure at the kink.
    obj = registry.gate(gate)
    result = check_gate(obj, at=[(0.0,) * obj.arity])
    assert result.ok and result.kink is None, result.describe()


def test_a_kink_in_a_circuit_is_reported_as_a_kink(tmp_path):
    source = '''
import numpy as np
import gatekit

class Step(gatekit.Gate):
    name, arity, doc = "onesided", 1, "onesided(x) = max(x, 0)"
    def forward(self, x): return np.maximum(x, 0.0)
    def backward(self, grad, out, x): return (grad * (x >= 0),)   # relu'(0) = 1

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Step())
'''
    path = tmp_path / "onesided.py"
    path.write_text(source, encoding="utf-8")
    registry = gatekit.load_registry([str(path)], env={}, entry_points=())
    circuit = gatekit.parse("onesided(x - 1) * y", registry=registry)
    result = check_circuit(circuit, {"x": 1.0, "y": 2.0})
    assert result.ok and result.kink is not None and result.kink.kind == "kink" and not result.kink.is_bug
    assert "the slope is 0 on the left and 2 on the right" in result.describe()


@pytest.mark.parametrize("x", [0.0, 3e-6, -4e-6])  # on the kink, and just inside the step (6e-6) of it
def test_a_kink_within_a_step_is_a_kink_and_a_curve_is_not(x):
    class OneSidedAbs(gatekit.Gate):
        name, arity, doc = "onesided_abs", 1, "onesided_abs(x) = |x|"

        def forward(self, x: Any) -> Any:
            return np.abs(x)

        def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
            return (grad * np.where(x >= 0, 1.0, -1.0),)

    result = check_gate(OneSidedAbs(), at=[(x,)], plugin="mine")
    assert result.ok and result.kink is not None and result.kink.kind == "kink", result.describe()


@pytest.mark.parametrize("x", [1.2, 2.9])
def test_a_steep_curve_is_no_kink(x):
    result = check_gate(_gate("exp", 2.0), at=[(x * 2,)], plugin="mine")  # exp(5.8): large curvature
    assert result.diagnosis is not None and result.diagnosis.kind == "constant-factor", result.describe()


def test_a_broken_protocol_is_probed_on_the_gate_not_read_from_a_message():
    from gatekit.diagnosis import probe_contract

    class NoTuple(gatekit.Gate):
        name, arity, doc = "notuple", 2, "notuple(x, y) = x + y"

        def forward(self, x: Any, y: Any) -> Any:
            return x + y

        def backward(self, grad: Any, out: Any, x: Any, y: Any) -> Any:
            return grad  # not a tuple

    class ExtraAxis(NoTuple):
        def backward(self, grad: Any, out: Any, x: Any, y: Any) -> Any:
            return grad, np.stack([grad, grad])

    class Raises(NoTuple):
        def backward(self, grad: Any, out: Any, x: Any, y: Any) -> Any:
            raise ZeroDivisionError("oops")

    class Exits(NoTuple):
        def backward(self, grad: Any, out: Any, x: Any, y: Any) -> Any:
            raise SystemExit(3)  # a plugin's exit ends nothing but its own check

    xs = [np.array([1.0, 2.0]), 3.0]
    assert [probe_contract(gate, xs, "").kind for gate in (NoTuple(), ExtraAxis(), Raises(), Exits())] == [
        "wrong-count", "wrong-shape", "raised", "raised"]
