"""The built-in gates (plugins/gatekit_gates): gradients, reference numbers, kinks, IEEE edges."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gatekit
import gatekit_gates
from gatekit import Circuit, NonFiniteError, check_circuit, check_gate, numerical_gradient
from gatekit.circuit import Node

BUILTIN_GATES = (
    "add", "sub", "mul", "div", "neg", "reciprocal", "pow",
    "max", "min", "exp", "log", "sigmoid", "tanh", "relu", "abs", "sum", "mean", "sumsq", "linear",
)  # fmt: skip
#: Gates that are not elementwise (reductions, the matrix product): tests/test_gates_arrays.py.
ARRAY_GATES = ("sum", "mean", "sumsq", "linear")
ELEMENTWISE_GATES = tuple(name for name in BUILTIN_GATES if name not in ARRAY_GATES)
SYMBOLS = {("+", 2): "add", ("-", 2): "sub", ("*", 2): "mul", ("/", 2): "div", ("**", 2): "pow", ("-", 1): "neg"}

#: Read-only, shared by the hypothesis tests (which may not use function-scoped fixtures).
BUILTINS = gatekit.load_registry(env={}, entry_points=())


def one_gate(registry: gatekit.Registry, name: str) -> Circuit:
    """x0, x1, ... -> gate(x0, x1, ...): the gate node is the last one."""
    arity = registry.gate(name).arity
    nodes = [Node("input", name=f"x{k}") for k in range(arity)]
    nodes.append(Node("gate", name=name, args=tuple(range(arity)), label=name))
    return Circuit(nodes, arity, registry)


@pytest.fixture
def no_warnings():
    """Any warning fails the test, and numpy overflow, invalid and divide errors raise
    outside gatekit (underflow to 0 is what sigmoid is meant to do far from 0)."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


# -- what ships ---------------------------------------------------------------------------


def test_the_builtin_gates_are_registered_by_gatekit_gates(registry):
    assert sorted(registry.gate_names()) == sorted(BUILTIN_GATES)
    for name in BUILTIN_GATES:
        entry = registry.entry("gate", name)
        assert entry.plugin.name == "gatekit_gates"
        assert entry.plugin.builtin and entry.plugin.distribution == "gatekit"
        assert entry.overrides is None
        gate = entry.obj
        assert gate.name == name
        assert gate.doc.startswith(f"{name}(") and "=" in gate.doc and "\n" not in gate.doc
        assert gate.grad_doc and gate.grad_doc.startswith("d/d")
        assert isinstance(gate.domain, gatekit.Domain)


def test_operator_symbols_bind_the_builtin_gates(registry):
    assert registry.symbols == SYMBOLS
    for (symbol, arity), name in SYMBOLS.items():
        assert registry.operator(symbol, arity) is registry.gate(name)


# -- gradients against central differences ------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN_GATES)
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_builtin_gate_passes_check_gate(name, seed):
    gate = BUILTINS.gate(name)
    result = check_gate(gate, rounds=1, seed=seed)
    assert result.ok, result.describe()
    # one round: scalars, equal arrays and broadcast arrays (3 shape sets for 1 input, 4 for 2),
    # or the shapes a gate that is not elementwise names (linear: matrix and vector or batch)
    expected = len(gate.domain.shapes) if gate.domain.shapes else (3 if gate.arity == 1 else 4)
    assert result.points_checked == expected


def _domain_floats(interval: gatekit.Interval) -> st.SearchStrategy[float]:
    values = st.floats(interval.low, interval.high, allow_nan=False)
    if interval.away_from_zero:
        values = values.filter(lambda v: abs(v) >= interval.margin)
    return values


@pytest.mark.parametrize("name", BUILTIN_GATES)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_every_builtin_gate_agrees_with_central_differences_at_drawn_points(name, data):
    """Points drawn by hypothesis from the gate's domain: scalars, then broadcast arrays."""
    gate = BUILTINS.gate(name)
    circuit = one_gate(BUILTINS, name)
    domain = gate.domain
    # (3, 1) against (4,) broadcasts to (3, 4); a unary gate gets a (2, 3) array.
    shapes = [(3, 1), (4,)] if gate.arity == 2 else [(2, 3)]
    # A gate that is not elementwise (linear) names its own shapes.
    for shape_set in domain.shapes or ([()] * gate.arity, shapes):
        xs = []
        for k, shape in enumerate(shape_set):
            elements = _domain_floats(domain.interval(k))
            xs.append(data.draw(elements if shape == () else hnp.arrays(np.float64, shape, elements=elements)))
        if domain.kink is not None:
            # No finite difference agrees with anything within a step of a kink, and
            # hypothesis loves 0 and ties: move the last argument 0.01 off such points.
            # (Our shapes keep the last argument's shape as the trailing axes of the kink's.)
            near = np.asarray(domain.kink(*xs)) < 1e-3
            near_last = near.reshape((-1,) + np.shape(xs[-1])).any(axis=0)
            xs[-1] = xs[-1] + 0.01 * near_last
            assume(np.all(np.asarray(domain.kink(*xs)) > 1e-3))
        result = check_circuit(circuit, dict(zip(circuit.inputs, xs)), name=name)
        assert result.ok, result.describe()


# -- the lesson's reference numbers (reference-numbers.md section 1) ------------------------------


def test_the_multiply_gate_of_the_lesson(registry):
    mul = registry.gate("mul")
    out = mul.forward(1.0, -3.0)
    assert out == -3.0
    dx, dy = mul.backward(1.0, out, 1.0, -3.0)
    assert dx == -3.0  # d/dx = y
    assert dy == 1.0  # d/dy = x


def test_the_multiply_gate_through_a_circuit(registry):
    circuit = one_gate(registry, "mul")
    out, grads = circuit.gradient(x0=1, x1=-3)
    assert out == -3.0
    assert grads == {"x0": -3.0, "x1": 1.0}


# -- kinks and ties: the mean of the one-sided derivatives ---------------------------------------


def test_the_convention_is_documented_in_the_package_docstring():
    doc = " ".join(gatekit_gates.__doc__.split())
    assert "mean of the one-sided derivatives" in doc
    assert "relu'(0) = 0.5" in doc and "abs'(0) = 0" in doc and "half the gradient to each" in doc


@pytest.mark.parametrize("name", ["max", "min"])
def test_a_tie_splits_the_gradient_evenly(registry, name):
    gate = registry.gate(name)
    assert gate.backward(1.0, 2.0, 2.0, 2.0) == (0.5, 0.5)
    assert gate.backward(4.0, 2.0, 2.0, 2.0) == (2.0, 2.0)  # half of the upstream gradient
    gx, gy = gate.backward(1.0, None, np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    winner_x = [0.0, 0.5, 1.0] if name == "max" else [1.0, 0.5, 0.0]
    np.testing.assert_array_equal(gx, winner_x)
    np.testing.assert_array_equal(gy, 1.0 - np.array(winner_x))


@pytest.mark.parametrize("name", ["max", "min"])
def test_a_value_tied_with_itself_gets_its_whole_gradient(registry, name):
    # max(x, x) = x: the two halves meet again at x.
    nodes = [Node("input", name="x"), Node("gate", name=name, args=(0, 0))]
    out, grads = Circuit(nodes, 1, registry).gradient(x=1.5)
    assert out == 1.5 and grads == {"x": 1.0}


@pytest.mark.parametrize(
    ("name", "x", "slope"),
    [("relu", 0.0, 0.5), ("relu", -1.0, 0.0), ("relu", 2.0, 1.0), ("abs", 0.0, 0.0), ("abs", -2.0, -1.0), ("abs", 3.0, 1.0)],
)
def test_relu_and_abs_slopes(registry, name, x, slope):
    gate = registry.gate(name)
    (g,) = gate.backward(1.0, gate.forward(x), x)
    assert g == slope


@pytest.mark.parametrize(
    ("name", "point", "expected"),
    [("relu", {"x0": 0.0}, {"x0": 0.5}), ("abs", {"x0": 0.0}, {"x0": 0.0}),
     ("max", {"x0": 1.0, "x1": 1.0}, {"x0": 0.5, "x1": 0.5}), ("min", {"x0": -2.0, "x1": -2.0}, {"x0": 0.5, "x1": 0.5})],
)  # fmt: skip
def test_the_convention_is_what_a_central_difference_gives_at_the_kink(registry, name, point, expected):
    circuit = one_gate(registry, name)
    numeric = numerical_gradient(lambda v: circuit.forward(v).output, point)
    _, analytic = circuit.gradient(point)
    for key, value in expected.items():
        assert analytic[key] == value
        assert numeric[key] == pytest.approx(value, abs=1e-9)


# -- numerically sound ----------------------------------------------------------------------------


EXTREMES = [1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 710.0, -746.0, 1e300, -1e300, 40.0, -40.0]


@pytest.mark.parametrize("x", EXTREMES)
def test_sigmoid_never_overflows(registry, no_warnings, x):
    sigmoid = registry.gate("sigmoid")
    out = sigmoid.forward(x)
    assert np.ndim(out) == 0 and 0.0 <= out <= 1.0
    if abs(x) >= 710:
        assert out == (1.0 if x > 0 else 0.0)
    (g,) = sigmoid.backward(1.0, out, x)
    assert 0.0 <= g <= 0.25 and math.isfinite(g)


def test_sigmoid_of_an_array_of_extremes(registry, no_warnings):
    x = np.array(EXTREMES + [0.0])
    out = registry.gate("sigmoid").forward(x)
    assert out.shape == x.shape and np.all((out >= 0) & (out <= 1))
    assert out[-1] == 0.5
    trace = one_gate(registry, "sigmoid").forward({"x0": x}, check_finite=True).backward()
    assert np.all(np.isfinite(trace.grad("x0")))


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-1e308, 1e308))
def test_sigmoid_is_exact_and_symmetric(x):
    sigmoid = BUILTINS.gate("sigmoid")
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s, s_neg = float(sigmoid.forward(x)), float(sigmoid.forward(-x))
    assert 0.0 <= s <= 1.0
    assert s + s_neg == pytest.approx(1.0, abs=1e-15)
    if abs(x) < 700:
        assert s == pytest.approx(1.0 / (1.0 + math.exp(-x)), rel=1e-14, abs=1e-300)


OUT_OF_DOMAIN = [
    ("log", (-1.0,), math.nan),
    ("log", (0.0,), -math.inf),
    ("div", (1.0, 0.0), math.inf),
    ("div", (-1.0, 0.0), -math.inf),
    ("div", (0.0, 0.0), math.nan),
    ("reciprocal", (0.0,), math.inf),
    ("pow", (-1.0, 0.5), math.nan),
    ("pow", (0.0, -1.0), math.inf),
    ("exp", (1000.0,), math.inf),
    ("mul", (math.inf, 0.0), math.nan),
    ("sub", (math.inf, math.inf), math.nan),
]


def _same(value: float, expected: float) -> bool:
    return math.isnan(value) if math.isnan(expected) else value == expected


@pytest.mark.parametrize(("name", "args", "expected"), OUT_OF_DOMAIN)
def test_out_of_domain_inputs_give_ieee_values_not_exceptions(registry, no_warnings, name, args, expected):
    circuit = one_gate(registry, name)
    values = dict(zip(circuit.inputs, args))
    trace = circuit.forward(values)
    assert _same(float(trace.output), expected)
    trace.backward()  # gradients may be inf or nan too, but never raise or warn
    problem = trace.first_nonfinite()
    inputs_finite = all(math.isfinite(a) for a in args)
    assert problem is not None
    assert problem.node == (len(args) if inputs_finite else args.index(math.inf))
    if inputs_finite:
        with pytest.raises(NonFiniteError) as raised:
            circuit.forward(values, check_finite=True)
        assert raised.value.node == len(args) and name in str(raised.value)


def test_out_of_domain_elements_of_an_array(registry, no_warnings):
    trace = one_gate(registry, "log").forward(x0=np.array([1.0, -1.0, 0.0])).backward()
    out, grad = trace.output, trace.grad("x0")
    assert out[0] == 0.0 and np.isnan(out[1]) and out[2] == -np.inf
    assert grad[0] == 1.0 and grad[1] == -1.0 and grad[2] == np.inf


# -- pow's edges --------------------------------------------------------------------------------------


def test_pow_takes_integer_arguments(registry):
    assert registry.gate("pow").forward(2, -1) == 0.5
    assert registry.gate("pow").forward(2, 10) == 1024.0


@pytest.mark.parametrize(
    ("x", "y", "dx", "dy"),
    [(0.0, 0.0, 0.0, 0.0), (3.0, 0.0, 0.0, math.log(3.0)), (0.0, 1.0, 1.0, 0.0), (0.0, 2.0, 0.0, 0.0),
     (-2.0, 2.0, -4.0, math.nan), (2.0, 3.0, 12.0, 8.0 * math.log(2.0))],
)  # fmt: skip
def test_pow_local_gradients(registry, x, y, dx, dy):
    pow_gate = registry.gate("pow")
    with np.errstate(all="ignore"):  # as gatekit calls every gate
        out = pow_gate.forward(x, y)
        gx, gy = pow_gate.backward(1.0, out, x, y)
    assert _same(float(gx), dx) and (_same(float(gy), dy) if math.isnan(dy) else float(gy) == pytest.approx(dy))


# -- the protocol, as every built-in honours it --------------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE_GATES)
def test_gates_take_floats_and_broadcast_arrays_and_never_mutate_them(registry, name):
    gate = registry.gate(name)
    interval = gate.domain.interval
    scalars = [interval(k).high * 0.5 for k in range(gate.arity)]
    out = gate.forward(*scalars)
    assert np.ndim(out) == 0
    grads = gate.backward(1.0, out, *scalars)
    assert isinstance(grads, tuple) and len(grads) == gate.arity

    rng = np.random.default_rng(7)
    shapes = [(3, 1), (4,)] if gate.arity == 2 else [(3, 4)]
    arrays = [interval(k).sample(rng, shape) for k, shape in enumerate(shapes)]
    copies = [a.copy() for a in arrays]
    upstream = np.ones((3, 4))
    out = gate.forward(*arrays)
    assert np.shape(out) == (3, 4)
    grads = gate.backward(upstream, out, *arrays)
    assert len(grads) == gate.arity
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(upstream, 1.0)


def test_one_instance_serves_every_node(registry):
    # Stateless: one mul instance in two nodes, and the same instance in two registries.
    nodes = [Node("input", name="x"), Node("input", name="y"), Node("gate", name="mul", args=(0, 1)),
             Node("gate", name="mul", args=(2, 0))]  # fmt: skip
    circuit = Circuit(nodes, 3, registry)
    assert circuit.gates[2] is circuit.gates[3] is registry.gate("mul")
    out, grads = circuit.gradient(x=2.0, y=5.0)  # x * y * x
    assert out == 20.0 and grads == {"x": 20.0, "y": 4.0}
