"""The engine: circuits, forward and backward, shapes, fan-out, errors from gates."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gatekit
from helpers import plugin_registry
from gatekit import (
    Circuit,
    CircuitError,
    Composer,
    Gate,
    GatekitError,
    NonFiniteError,
    UnknownNameError,
    UsageError,
    check_circuit,
)
from gatekit.circuit import Node
from gatekit.errors import GateContractError

PLUGIN = "test_gates"


def one_gate_circuit(registry, gate_name: str, arity: int = 2) -> Circuit:
    c = Composer(registry)
    wires = c.inputs(*[f"x{k}" for k in range(arity)])
    return c.build(c.gate(gate_name, *wires))


# -- depth: loops, not recursion ------------------------------------------------------------
def test_a_chain_of_100000_gates_runs_forward_and_backward(registry):
    """x <- x * a, then x <- x + b, 50,000 times each: depth 100,000, fan-out 50,000."""
    links = 50_000
    c = Composer(registry)
    x, a, b = c.inputs("x", "a", "b")
    for _ in range(links):
        x = x * a
        x = x + b
    circuit = c.build(x)
    assert sum(node.kind == "gate" for node in circuit.nodes) == 2 * links
    point = {"x": 0.5, "a": 0.99999, "b": 0.001}

    # The same chain in plain floats, with forward-mode derivatives carried along.
    v, dx, da, db = point["x"], 1.0, 0.0, 0.0
    for _ in range(links):
        v, dx, da, db = v * point["a"], dx * point["a"], da * point["a"] + v, db * point["a"]
        v, db = v + point["b"], db + 1.0

    limit = sys.getrecursionlimit()
    assert limit < links  # so a recursive walk would have failed here
    trace = circuit.forward(point).backward()
    assert trace.output == pytest.approx(v, rel=1e-12)
    grads = trace.input_grads()
    assert grads["x"] == pytest.approx(dx, rel=1e-9)
    assert grads["a"] == pytest.approx(da, rel=1e-9)
    assert grads["b"] == pytest.approx(db, rel=1e-9)


# -- backward: repeatable, fan-out, seeds ------------------------------------------------------
@pytest.fixture
def fan_out(registry):
    """f = x * x + x * y + x: x feeds three gates, one of them twice."""
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(x * x + x * y + x)


def test_backward_twice_gives_the_same_gradients_never_doubled(fan_out):
    trace = fan_out.forward(x=3.0, y=-2.0)
    first = dict(trace.backward().input_grads())
    second = trace.backward().input_grads()
    assert first == second == {"x": 2 * 3.0 + -2.0 + 1, "y": 3.0}


def test_backward_twice_with_arrays_gives_the_same_gradients(fan_out):
    x = np.array([1.0, 2.0, -3.0])
    trace = fan_out.forward(x=x, y=0.5)
    first = {k: np.copy(v) for k, v in trace.backward().input_grads().items()}
    second = trace.backward().input_grads()
    np.testing.assert_array_equal(first["x"], 2 * x + 0.5 + 1)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_gradients_of_a_value_used_several_times_add_up(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    s = x + x
    f = s * s + x  # d/dx (4x^2 + x) = 8x + 1
    circuit = c.build(f)
    assert circuit.gradient(x=1.5)[1]["x"] == 8 * 1.5 + 1
    assert circuit.gradient(x=np.array([1.0, -2.0]))[1]["x"].tolist() == [9.0, -15.0]


def test_backward_scales_with_the_seed(fan_out):
    trace = fan_out.forward(x=3.0, y=-2.0)
    assert trace.backward(2.5).input_grads() == {"x": 2.5 * 5.0, "y": 2.5 * 3.0}
    assert trace.backward().input_grads() == {"x": 5.0, "y": 3.0}


def test_backward_leaves_values_inputs_and_seed_untouched(fan_out):
    x = np.array([1.0, 2.0, -3.0])
    y = np.array([0.5, 0.25, 4.0])
    seed = np.array([1.0, 2.0, 3.0])
    x0, y0, seed0 = x.copy(), y.copy(), seed.copy()
    trace = fan_out.forward(x=x, y=y)
    values_before = [np.copy(v) for v in trace.values]
    trace.backward(seed)
    trace.backward(seed)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(seed, seed0)
    for before, after in zip(values_before, trace.values):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(trace.grad("x"), seed0 * (2 * x0 + y0 + 1))


def test_a_seed_that_does_not_fit_the_output_is_refused(fan_out):
    trace = fan_out.forward(x=np.ones(3), y=1.0)
    with pytest.raises(UsageError, match=r"shape \(4,\).*\(3,\)"):
        trace.backward(np.ones(4))
    with pytest.raises(UsageError, match="real number"):
        trace.backward("1")
    scalar = fan_out.forward(x=1.0, y=1.0)
    with pytest.raises(UsageError, match="does not fit"):
        scalar.backward(np.ones(2))


# -- shapes: broadcasting and reduction --------------------------------------------------------
def test_broadcast_gradients_are_reduced_to_each_inputs_shape(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y + x)
    x_val = np.array([[1.0], [2.0], [3.0]])  # (3, 1)
    y_val = np.array([10.0, 20.0, 30.0, 40.0])  # (4,)
    out, grads = circuit.gradient(x=x_val, y=y_val)
    assert out.shape == (3, 4)
    assert grads["x"].shape == (3, 1)
    assert grads["y"].shape == (4,)
    np.testing.assert_array_equal(grads["x"], np.full((3, 1), y_val.sum() + 4))
    np.testing.assert_array_equal(grads["y"], np.full(4, x_val.sum()))
    assert check_circuit(circuit, {"x": x_val, "y": y_val}).ok


def test_a_scalar_input_among_array_inputs_gets_the_sum(registry):
    c = Composer(registry)
    w, x = c.inputs("w", "x")
    circuit = c.build(w * x + 3)
    xs = np.array([1.0, -2.0, 4.0, 0.5])
    out, grads = circuit.gradient(w=2.0, x=xs)
    np.testing.assert_array_equal(out, 2.0 * xs + 3)
    assert isinstance(grads["w"], float)
    assert grads["w"] == xs.sum()
    np.testing.assert_array_equal(grads["x"], np.full(4, 2.0))


def test_a_scalar_seed_reaching_an_array_input_is_broadcast(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x + y)  # add passes the scalar seed straight through
    grads = circuit.gradient(x=np.zeros((2, 3)), y=1.0)[1]
    np.testing.assert_array_equal(grads["x"], np.ones((2, 3)))
    assert grads["y"] == 6.0


def test_a_million_points_in_one_pass(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y + x)
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=10**6), rng.normal(size=10**6)
    out, grads = circuit.gradient(x=xs, y=ys)
    np.testing.assert_array_equal(out, xs * ys + xs)
    np.testing.assert_array_equal(grads["x"], ys + 1)
    np.testing.assert_array_equal(grads["y"], xs)


def test_inputs_not_on_any_path_get_zero_gradients_in_their_shape(registry):
    nodes = [
        Node("input", "x"),
        Node("input", "unused"),
        Node("gate", "exp", (1,)),  # a dead gate: nothing reads it
        Node("gate", "neg", (0,)),
    ]
    circuit = Circuit(nodes, 3, registry)
    trace = circuit.forward(x=2.0, unused=np.ones(3)).backward()
    assert trace.grad("x") == -1.0
    np.testing.assert_array_equal(trace.grad("unused"), np.zeros(3))
    np.testing.assert_array_equal(trace.grad(2), np.zeros(3))  # the dead exp node, in its shape


def test_input_values_are_refused_unless_real_numbers(fan_out):
    for bad in ["3", True, 1j, [1, "a"], None, {"a": 1}, 2**2000, [1, 2**2000], [[1, 2], [3]]]:
        with pytest.raises(UsageError, match="'x' must be a real number"):
            fan_out.forward(x=bad, y=1.0)
    assert fan_out(x=np.int64(2), y=[1, 2.5]).tolist() == [2 * 2 + 2 * 1 + 2, 4 + 5 + 2]


def test_missing_and_unknown_inputs(fan_out):
    with pytest.raises(UsageError, match="no value for input 'y'"):
        fan_out.forward(x=1.0)
    with pytest.raises(UnknownNameError, match="did you mean 'y'"):
        fan_out.forward(x=1.0, y=1.0, yy=2.0)


def test_defaults_fill_missing_inputs_and_are_checked(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y, defaults={"y": 4})
    assert circuit(x=2.0) == 8.0
    assert circuit(x=2.0, y=0.5) == 1.0
    with pytest.raises(UnknownNameError, match="'z'"):
        c.build(x * y, defaults={"z": 1.0})
    with pytest.raises(UsageError, match="'y' must be a real number"):
        c.build(x * y, defaults={"y": "four"})


# -- building a Circuit directly: validation ---------------------------------------------------
@pytest.mark.parametrize(
    "nodes, output, message",
    [
        ([Node("input", "x"), Node("gate", "mull", (0, 0))], 1, r"unknown gate 'mull' at node 1.*did you mean 'mul'"),
        ([Node("input", "x"), Node("gate", "mul", (0,))], 1, r"node 1: gate 'mul' takes 2 argument\(s\), got 1"),
        ([Node("input", "x"), Node("gate", "neg", (1,))], 1, "must refer to an earlier node"),
        ([Node("input", "x"), Node("gate", "neg", (True,))], 1, "must refer to an earlier node"),
        ([Node("input", "x"), Node("input", "x")], 1, "duplicate input name 'x'"),
        ([Node("input", "x"), Node("const", value="2")], 1, "real number"),
        ([Node("input", "x"), Node("const")], 1, "real number"),
        ([Node("input", "x"), Node("const", value=2**2000)], 1, "real number"),
        ([Node("input", "")], 0, "an input name must be an identifier"),
        ([Node("input", "x"), Node("wire", "x")], 1, "unknown node kind 'wire'"),
        ([Node("input", "x")], 3, "output node 3 does not exist"),
    ],
)
def test_invalid_circuits_are_refused_with_the_node(registry, nodes, output, message):
    with pytest.raises(CircuitError if "unknown gate" not in message else UnknownNameError, match=message):
        Circuit(nodes, output, registry)


def test_gates_are_looked_up_once_at_build_time(registry):
    class Triple(Gate):
        name, arity, symbol = "mul", 2, "*"
        doc = "mul(x, y) = 3 * x * y"

        def forward(self, x, y):
            return 3 * x * y

        def backward(self, grad, out, x, y):
            return 3 * grad * y, 3 * grad * x

    circuit = one_gate_circuit(registry, "mul")
    registry.add_gate(Triple(), "later", override=True)
    assert circuit(x0=2.0, x1=5.0) == 10.0
    assert one_gate_circuit(registry, "mul")(x0=2.0, x1=5.0) == 30.0


# -- non-finite values -----------------------------------------------------------------------
@pytest.fixture
def log_circuit(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    d = x - y
    r = c.log(d).named("r")
    return c.build(c.exp(r) * 2)


def test_check_finite_names_the_first_bad_node_its_gate_and_inputs(log_circuit):
    with pytest.raises(NonFiniteError) as info:
        log_circuit.forward(x=1.0, y=2.0, check_finite=True)
    message = str(info.value)
    assert info.value.node == log_circuit.find("r")
    assert "'r'" in message and "log(" in message and "=-1.0" in message and "nan" in message
    assert "gatekit_gates" in message


def test_check_finite_gives_the_position_of_an_unlabelled_node_and_the_element(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.reciprocal(x) + 1)
    with pytest.raises(NonFiniteError, match=r"node 1: reciprocal\(x=0.0\) gave inf at index 2") as info:
        circuit.forward(x=np.array([1.0, 2.0, 0.0, 0.0]), check_finite=True)
    assert info.value.node == 1


def test_without_check_finite_the_trace_holds_the_nan_and_says_where(log_circuit):
    trace = log_circuit.forward(x=1.0, y=2.0)
    assert np.isnan(trace.output)
    problem = trace.first_nonfinite()
    assert problem is not None and problem.node == log_circuit.find("r")
    assert log_circuit.forward(x=3.0, y=2.0).first_nonfinite() is None


def test_a_non_finite_input_is_reported_as_the_input(log_circuit):
    with pytest.raises(NonFiniteError, match="input 'y'.*inf") as info:
        log_circuit.forward(x=1.0, y=np.inf, check_finite=True)
    assert info.value.node == log_circuit.find("y")


# -- gates that break the contract -------------------------------------------------------------
class TwoInputGate(Gate):
    arity = 2
    doc = "a deliberately broken test gate"

    def forward(self, x, y):
        return x * y


class OneGradient(TwoInputGate):
    name = "one_gradient"

    def backward(self, grad, out, x, y):
        return (grad * y,)


class NotATuple(TwoInputGate):
    name = "not_a_tuple"

    def backward(self, grad, out, x, y):
        return grad * y


class WrongShape(TwoInputGate):
    name = "wrong_shape"

    def backward(self, grad, out, x, y):
        return np.ones(4), grad * x


class TooBig(TwoInputGate):
    name = "too_big"

    def backward(self, grad, out, x, y):
        return np.ones((5,) + np.shape(out)), grad * x


class NoneGradient(TwoInputGate):
    name = "none_gradient"

    def backward(self, grad, out, x, y):
        return None, grad * x


class RaisesForward(TwoInputGate):
    name = "raises_forward"

    def forward(self, x, y):
        raise ValueError("boom in forward")

    def backward(self, grad, out, x, y):
        return grad, grad


class RaisesBackward(TwoInputGate):
    name = "raises_backward"

    def backward(self, grad, out, x, y):
        return {}["missing"]


class RaisesGatekitError(TwoInputGate):
    name = "raises_usage"

    def forward(self, x, y):
        raise UsageError("this gate explains itself")

    def backward(self, grad, out, x, y):
        return grad, grad


@pytest.fixture
def broken_registry():
    gates = [OneGradient(), NotATuple(), WrongShape(), TooBig(), NoneGradient(), RaisesForward(), RaisesBackward()]
    return plugin_registry(*gates, RaisesGatekitError())


@pytest.mark.parametrize(
    "gate, x0, message",
    [
        ("one_gradient", 2.0, r"returned 1 gradient\(s\) for 2 input\(s\)"),
        ("not_a_tuple", 2.0, "must return a tuple of 2 gradient"),
        ("wrong_shape", np.ones(3), r"shape \(4,\) for an input of shape \(3,\)"),
        ("too_big", np.ones(3), r"shape \(5, 3\) for an input of shape \(3,\)"),
        ("none_gradient", 2.0, "returned None as a gradient"),
    ],
)
def test_a_backward_that_breaks_the_contract_names_the_gate_and_plugin(broken_registry, gate, x0, message):
    circuit = one_gate_circuit(broken_registry, gate)
    trace = circuit.forward(x0=x0, x1=3.0)
    with pytest.raises(GateContractError, match=message) as info:
        trace.backward()
    assert f"gate {gate!r} (plugin {PLUGIN!r})" in str(info.value)
    assert info.value.plugin == PLUGIN


@pytest.mark.parametrize(
    "gate, method, cause",
    [("raises_forward", "forward", ValueError), ("raises_backward", "backward", KeyError)],
)
def test_a_gate_that_raises_is_wrapped_with_its_name_plugin_and_cause(broken_registry, gate, method, cause):
    circuit = one_gate_circuit(broken_registry, gate)
    with pytest.raises(GateContractError) as info:
        circuit.gradient(x0=1.0, x1=2.0)
    message = str(info.value)
    assert f"gate {gate!r} (plugin {PLUGIN!r})" in message
    assert f"raised {cause.__name__} in {method}" in message
    assert isinstance(info.value.__cause__, cause)
    assert info.value.plugin == PLUGIN


def test_a_gatekit_error_from_a_gate_passes_through_unchanged(broken_registry):
    circuit = one_gate_circuit(broken_registry, "raises_usage")
    with pytest.raises(UsageError, match="^this gate explains itself$"):
        circuit(x0=1.0, x1=2.0)


def test_check_circuit_reports_a_broken_gate_instead_of_crashing(broken_registry):
    result = check_circuit(one_gate_circuit(broken_registry, "raises_backward"), {"x0": 1.0, "x1": 2.0})
    assert not result.ok
    assert "raises_backward" in result.error and PLUGIN in result.error


def test_check_circuit_catches_a_wrong_gradient():
    class HalfWrongMul(TwoInputGate):
        name = "half_wrong_mul"

        def backward(self, grad, out, x, y):
            return grad * y, grad * x * 1.01  # the second gradient is 1% off

    circuit = one_gate_circuit(plugin_registry(HalfWrongMul()), "half_wrong_mul")
    result = check_circuit(circuit, {"x0": 2.0, "x1": 3.0})
    assert not result.ok
    assert result.max_rel_error == pytest.approx(0.01 / 1.01, rel=1e-4)  # whatever the random upstream
    assert "backward disagrees with central differences" in result.describe()
    assert result.diagnosis is not None and result.diagnosis.kind == "constant-factor"


def test_check_circuit_passes_a_correct_circuit_with_arrays(fan_out):
    result = check_circuit(fan_out, {"x": np.array([0.5, -1.5]), "y": np.array([[2.0], [3.0]])})
    assert result.ok, result.describe()
    assert isinstance(check_circuit(fan_out, {"x": 1.0, "y": 2.0}), gatekit.CheckResult)


def test_gatekit_error_is_the_root_of_every_engine_error():
    assert issubclass(GateContractError, GatekitError)
    assert issubclass(NonFiniteError, GatekitError)
