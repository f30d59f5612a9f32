"""gatekit.check: numerical gradients, circuit and gate checks, the assertion helper."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import Circuit, UnknownNameError, UsageError, assert_gate_gradients, check_circuit, check_gate
from gatekit.circuit import Node
from gatekit import numerical_gradient

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"


def fixture_registry(*names: str) -> gatekit.Registry:
    registry = gatekit.load_registry([str(FIXTURES / f"{n}.py") for n in names], env={}, entry_points=())
    assert [e for e in registry.load_errors if e.plugin in names] == []
    return registry


class Square(gatekit.Gate):
    name, arity = "square", 1
    doc = "square(x) = x * x"

    def forward(self, x):
        return x * x

    def backward(self, grad, out, x):
        return (2.0 * grad * x,)


class IgnoresUpstream(gatekit.Gate):
    """mul with the right local gradients, but not multiplied by the upstream gradient."""

    name, arity = "ignores_upstream", 2
    doc = "ignores_upstream(x, y) = x * y"

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        return y, x


class RaisesInBackward(Square):
    name = "raises_in_backward"
    doc = "raises_in_backward(x) = x * x"

    def backward(self, grad, out, x):
        raise ZeroDivisionError("oops")


class SlightlyOff(Square):
    """square whose gradient is off by one part in a thousand."""

    name = "slightly_off"
    doc = "slightly_off(x) = x * x"

    def backward(self, grad, out, x):
        return (2.002 * grad * x,)


class DuckSquare:
    """A gate by duck typing: no base class, no symbol, no domain, no grad_doc."""

    name, arity, doc = "duck_square", 1, "duck_square(x) = x * x"

    def forward(self, x):
        return x * x

    def backward(self, grad, out, x):
        return (2.0 * grad * x,)


# -- numerical_gradient ------------------------------------------------------------------------


def test_forward_difference_reproduces_the_lesson():
    # reference-numbers.md section 2.3: h = 1e-4, forward difference, f = x * y at (1, -3).
    grads = numerical_gradient(lambda v: v["x"] * v["y"], {"x": 1.0, "y": -3.0}, h=1e-4, difference="forward")
    assert grads["x"] == pytest.approx(-3.00000000000189, abs=1e-12)
    assert grads["y"] == pytest.approx(1.0000000000021103, abs=1e-12)
    assert isinstance(grads["x"], float) and isinstance(grads["y"], float)


def test_central_difference_of_mul_is_exact_to_rounding():
    grads = numerical_gradient(lambda v: v["x"] * v["y"], {"x": 1.0, "y": -3.0})
    assert grads == {"x": pytest.approx(-3.0, abs=1e-10), "y": pytest.approx(1.0, abs=1e-10)}


@pytest.mark.parametrize(("method", "tolerance"), [("central", 1e-9), ("forward", 1e-6)])
def test_known_derivatives_elementwise(method, tolerance):
    x = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    y = np.array([[0.5], [2.0]])  # broadcasts against x: f sums over the (2, 5) result

    def f(v):
        return np.exp(v["x"]) * v["y"] + v["x"] ** 3

    grads = numerical_gradient(f, {"x": x, "y": y}, difference=method)
    expected_x = np.exp(x) * y.sum() + 2 * 3 * x**2
    expected_y = np.full((2, 1), np.exp(x).sum())
    assert grads["x"].shape == x.shape and grads["y"].shape == y.shape
    np.testing.assert_allclose(grads["x"], expected_x, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(grads["y"], expected_y, rtol=tolerance, atol=tolerance)


def test_central_is_more_accurate_than_forward():
    point = {"x": 1.3}
    exact = math.cos(1.3)
    central = numerical_gradient(lambda v: np.sin(v["x"]), point)["x"]
    forward = numerical_gradient(lambda v: np.sin(v["x"]), point, difference="forward")["x"]
    assert abs(central - exact) < 1e-10
    assert abs(central - exact) < abs(forward - exact) < 1e-7


@pytest.mark.parametrize("x", [1e-8, 1.0, 1e4, 1e8, -3e12])
def test_the_step_scales_with_the_value(x):
    # f = x ** 2: a fixed step would lose every digit at 1e8 or 1e-8.
    grad = numerical_gradient(lambda v: v["x"] ** 2, {"x": x})["x"]
    assert grad == pytest.approx(2 * x, rel=1e-8, abs=1e-12)


def test_names_select_inputs_and_the_point_is_left_unchanged():
    point = {"x": np.array([1.0, 2.0]), "y": 3.0}
    grads = numerical_gradient(lambda v: v["x"] * v["y"], point, names=["y"])
    assert list(grads) == ["y"] and grads["y"] == pytest.approx(3.0)
    np.testing.assert_array_equal(point["x"], [1.0, 2.0])
    assert point["y"] == 3.0


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"difference": "backward"}, UsageError, "valid: forward, central"),
        ({"h": 0.0}, UsageError, "positive finite"),
        ({"h": -1e-4}, UsageError, "positive finite"),
        ({"h": float("nan")}, UsageError, "positive finite"),
        ({"names": ["z"]}, UnknownNameError, "unknown input 'z'"),
    ],
)
def test_numerical_gradient_rejects_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        numerical_gradient(lambda v: v["x"], {"x": 1.0}, **kwargs)


# -- check_circuit ------------------------------------------------------------------------------


def test_check_circuit_with_fan_out(registry):
    # f = x * x * y: x is used three times.
    nodes = [Node("input", name="x"), Node("input", name="y"), Node("gate", name="mul", args=(0, 0)),
             Node("gate", name="mul", args=(2, 1)), Node("gate", name="add", args=(3, 0))]  # fmt: skip
    circuit = Circuit(nodes, 4, registry)
    result = check_circuit(circuit, {"x": np.array([0.5, -1.5, 2.0]), "y": -0.7})
    assert result.ok, result.describe()
    assert result.max_abs_error < 1e-8 and result.points_checked == 1


def test_check_circuit_tolerances_decide():
    registry = gatekit.Registry()
    registry.add_gate(SlightlyOff(), "test")
    circuit = Circuit([Node("input", name="x"), Node("gate", name="slightly_off", args=(0,))], 1, registry)
    strict = check_circuit(circuit, {"x": 1.5})
    assert not strict.ok and strict.max_rel_error == pytest.approx(0.001 / 1.001, rel=1e-4)
    assert check_circuit(circuit, {"x": 1.5}, rtol=1e-2).ok


# -- check_gate ---------------------------------------------------------------------------------


def test_check_gate_passes_a_correct_gate_and_reports_its_errors():
    result = check_gate(Square(), rounds=3, seed=1)
    assert result.ok and result.error is None
    assert result.points_checked == 3 * 3  # scalars, equal arrays, a 2-d array per round
    assert 0 < result.max_abs_error < 1e-6 and 0 < result.max_rel_error < 1e-6
    assert set(result.worst_point) == {"x0"}
    assert result.describe().startswith("gate 'square' (plugin 'test_check'): ok")  # the module, as nothing registered it


def test_check_gate_is_reproducible_by_seed():
    a, b = check_gate(Square(), seed=42), check_gate(Square(), seed=42)
    assert (a.max_abs_error, a.max_rel_error) == (b.max_abs_error, b.max_rel_error)
    np.testing.assert_array_equal(a.worst_point["x0"], b.worst_point["x0"])


def test_check_gate_draws_points_from_the_domain(registry):
    log = registry.gate("log")
    result = check_gate(log, rounds=2, seed=3)
    assert result.ok
    assert np.all((np.asarray(result.worst_point["x0"]) >= 0.1) & (np.asarray(result.worst_point["x0"]) <= 3.0))


def test_check_gate_catches_a_wrong_backward():
    badgrad = fixture_registry("wrong_backward").gate("badgrad")
    result = check_gate(badgrad)
    assert not result.ok and result.error is None
    assert result.worst_input == "x0"
    # badgrad says x where the truth is 2 * x (both for an upstream gradient of 1)
    assert result.numeric == pytest.approx(2 * result.analytic, rel=1e-6)
    x = result.worst_point["x0"]
    assert result.analytic == pytest.approx(float(np.ravel(x)[0]) if np.ndim(x) == 0 else result.analytic)
    lines = result.describe().splitlines()
    assert lines[0] == "gate 'badgrad' (plugin 'wrong_backward'): backward disagrees with central differences"
    assert lines[1].startswith("  at x0=")
    assert lines[2].startswith("  for an upstream gradient of 1: backward gives d/dx0")
    assert lines[3] == "  most likely: backward is off by a constant factor: it gives 0.5 times the derivative " \
                       "(at all 5 points tried)"
    assert result.diagnosis is not None and result.diagnosis.kind == "constant-factor"
    assert "FAILED" not in result.describe()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_check_gate_catches_a_backward_that_ignores_its_upstream_gradient(seed):
    # The upstream gradient is 1.5 to 2.5 in size, never close to 1: no seed lets it pass.
    result = check_gate(IgnoresUpstream(), rounds=1, seed=seed)
    assert not result.ok and result.error is None
    assert result.worst_input in ("x0", "x1")
    assert result.diagnosis is not None and result.diagnosis.kind == "ignores-upstream"


@pytest.mark.parametrize(("name", "fragment"), [("wrongcount", "returned 1 gradient(s) for 2 input(s)"),
                                                ("badshape", "gradient of shape")])  # fmt: skip
def test_check_gate_catches_a_broken_protocol(name, fragment):
    gate = fixture_registry("malformed_backward").gate(name)
    result = check_gate(gate)
    assert not result.ok
    assert fragment in result.error and name in result.error
    assert math.isinf(result.max_abs_error)
    assert result.describe().startswith(result.error + "\n  most likely: ")
    assert result.diagnosis is not None and result.diagnosis.kind == {"wrongcount": "wrong-count",
                                                                      "badshape": "wrong-shape"}[name]


def test_check_gate_reports_a_gate_that_raises():
    result = check_gate(RaisesInBackward())
    assert not result.ok and "ZeroDivisionError" in result.error and "oops" in result.error


def test_check_gate_reports_an_invalid_gate_instead_of_crashing():
    result = check_gate(Square)  # the class, not an instance
    assert not result.ok and "not an instance" in result.error


def test_check_gate_accepts_a_duck_typed_gate_without_a_domain():
    result = check_gate(DuckSquare(), rounds=2)
    assert result.ok, result.describe()


@pytest.mark.parametrize("points", [0, -1, 1.5, True])
def test_check_gate_needs_at_least_one_point(points):
    with pytest.raises(UsageError, match="rounds must be a positive integer"):
        check_gate(Square(), rounds=points)


# -- assert_gate_gradients ---------------------------------------------------------------------


def test_assert_gate_gradients_returns_the_result_of_a_good_gate():
    cube = fixture_registry("good_plugin").gate("cube")
    result = assert_gate_gradients(cube, rounds=2, seed=5)
    assert result.ok and result.points_checked == 2 * 3


def test_assert_gate_gradients_raises_a_useful_assertion_error():
    badgrad = fixture_registry("wrong_backward").gate("badgrad")
    with pytest.raises(AssertionError) as raised:
        assert_gate_gradients(badgrad)
    message = str(raised.value)
    assert message.startswith("gate 'badgrad' (plugin 'wrong_backward'): backward disagrees")
    assert "backward gives d/dx0" in message and "central differences give" in message


def test_assert_gate_gradients_raises_for_a_broken_protocol():
    gate = fixture_registry("malformed_backward").gate("wrongcount")
    with pytest.raises(AssertionError, match="wrongcount.*returned 1 gradient"):
        assert_gate_gradients(gate)
