"""Golden tests: the figures of reference-numbers.md, sections 3 to 6, built with the Composer.

Each circuit is also gradient-checked against central differences (check_circuit),
so a golden figure and the engine cannot drift apart silently.
"""

from __future__ import annotations

import pytest

from gatekit import Composer, check_circuit, numerical_gradient

EXACT = 1e-12


def close(actual: float, expected: float, tol: float = EXACT) -> bool:
    return abs(float(actual) - expected) <= tol


# -- section 3: f(x, y, z) = (x + y) * z at (-2, 5, -4) ------------------------------------
@pytest.fixture
def recursive_case(registry):
    c = Composer(registry)
    x, y, z = c.inputs("x", "y", "z")
    q = (x + y).named("q")
    f = (q * z).named("f")
    return c.build(f)


POINT3 = {"x": -2.0, "y": 5.0, "z": -4.0}


def test_section3_forward_and_backward(recursive_case):
    trace = recursive_case.forward(POINT3).backward()
    assert trace.value("q") == 3.0
    assert trace.output == -12.0
    assert trace.grad("q") == -4.0  # df/dq = z
    assert trace.input_grads() == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_section3_numerical_check_with_h_1e4_agrees_to_1e8(recursive_case):
    analytic = recursive_case.gradient(POINT3)[1]
    numeric = numerical_gradient(lambda v: recursive_case(v), POINT3, h=1e-4)
    for name in "xyz":
        assert abs(numeric[name] - analytic[name]) < 1e-8, name
    assert check_circuit(recursive_case, POINT3).ok


def test_section3_one_ascent_step(recursive_case):
    _, grads = recursive_case.gradient(POINT3)
    stepped = {k: v + 0.01 * grads[k] for k, v in POINT3.items()}
    assert close(recursive_case(stepped), -11.5924, 5e-5)


# -- section 4: the sigmoid neuron, eight gates and one ---------------------------------------
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
G = 0.19661193324148188
NEURON_STAGES = [  # (stage, forward value, gradient of f w.r.t. it), as the table gives them
    ("mult1", -2.0, G),
    ("mult2", 6.0, G),
    ("add1", 4.0, G),
    ("add2", 1.0, G),
    ("neg", -1.0, -G),
    ("exp1", 0.36787944117144233, -0.534446645388523),
    ("add3", 1.3678794411714423, -0.534446645388523),
    ("f", 0.7310585786300049, 1.0),
]
NEURON_INPUT_GRADS = {
    "x0": 0.39322386648296376,
    "w0": -0.19661193324148188,
    "x1": -0.5898357997244457,
    "w1": -0.39322386648296376,
    "w2": 0.19661193324148188,
}


def eight_gate_neuron(registry):
    """mul, mul, add, add, neg, exp, add 1, reciprocal: the table's decomposition."""
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs("w0", "x0", "w1", "x1", "w2")
    mult1 = (w0 * x0).named("mult1")
    mult2 = (w1 * x1).named("mult2")
    add1 = (mult1 + mult2).named("add1")
    add2 = (add1 + w2).named("add2")
    neg = (-add2).named("neg")
    exp1 = c.exp(neg).named("exp1")
    add3 = (1 + exp1).named("add3")
    f = c.reciprocal(add3, label="f")
    return c.build(f)


def sigmoid_gate_neuron(registry):
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs("w0", "x0", "w1", "x1", "w2")
    return c.build(c.sigmoid(w0 * x0 + w1 * x1 + w2))


def test_section4_eight_gate_build_uses_exactly_the_tables_gates(registry):
    circuit = eight_gate_neuron(registry)
    gates = [node.name for node in circuit.nodes if node.kind == "gate"]
    assert gates == ["mul", "mul", "add", "add", "neg", "exp", "add", "reciprocal"]


def test_section4_every_stage_value_and_gradient(registry):
    trace = eight_gate_neuron(registry).forward(NEURON_POINT).backward()
    stages = trace.stages()
    assert [s.name for s in stages] == [name for name, _, _ in NEURON_STAGES]
    for stage, (name, value, grad) in zip(stages, NEURON_STAGES):
        assert close(stage.value, value), (name, stage.value, value)
        assert close(stage.grad, grad), (name, stage.grad, grad)
    for name, grad in NEURON_INPUT_GRADS.items():
        assert close(trace.grad(name), grad), name


def test_section4_the_table_is_one_line(registry):
    table = eight_gate_neuron(registry).forward(NEURON_POINT).backward().table()
    lines = table.splitlines()
    for name, value, grad in NEURON_STAGES:
        row = next(line for line in lines if line.split()[0] == name)
        assert repr(value) in row and repr(grad) in row, row
    for name, grad in NEURON_INPUT_GRADS.items():
        row = next(line for line in lines if line.split()[0] == name)
        assert repr(grad) in row, row


def test_section4_one_sigmoid_gate_gives_the_same_input_gradients(registry):
    output, grads = sigmoid_gate_neuron(registry).gradient(NEURON_POINT)
    assert close(output, 0.7310585786300049)
    assert set(grads) == set(NEURON_INPUT_GRADS)
    for name, grad in NEURON_INPUT_GRADS.items():
        assert close(grads[name], grad), name


@pytest.mark.parametrize("build", [eight_gate_neuron, sigmoid_gate_neuron])
def test_section4_gradient_check(registry, build):
    result = check_circuit(build(registry), NEURON_POINT)
    assert result.ok, result.describe()


def test_section4_one_ascent_step_with_w2_held(registry):
    circuit = eight_gate_neuron(registry)
    _, grads = circuit.gradient(NEURON_POINT)
    stepped = {k: v + (0.001 * grads[k] if k != "w2" else 0.0) for k, v in NEURON_POINT.items()}
    assert close(circuit(stepped), 0.7317538522828431)


# -- section 5: the classic write-up's numbers ------------------------------------------------
CLASSIC_POINT = {"a": 1.0, "b": 2.0, "c": -3.0, "x": -1.0, "y": 3.0}
CLASSIC_GRADS = {
    "a": -0.10499358540350662,
    "b": 0.31498075621051985,
    "c": 0.10499358540350662,
    "x": 0.10499358540350662,
    "y": 0.20998717080701323,
}


@pytest.fixture
def classic_neuron(registry):
    c = Composer(registry)
    a, b, cc, x, y = c.inputs("a", "b", "c", "x", "y")
    return c.build(c.sigmoid(a * x + b * y + cc))


def test_section5_value_and_gradients(classic_neuron):
    output, grads = classic_neuron.gradient(CLASSIC_POINT)
    assert close(output, 0.8807970779778823)
    for name, grad in CLASSIC_GRADS.items():
        assert close(grads[name], grad), name
    result = check_circuit(classic_neuron, CLASSIC_POINT)
    assert result.ok, result.describe()


def test_section5_one_ascent_step(classic_neuron):
    _, grads = classic_neuron.gradient(CLASSIC_POINT)
    stepped = {k: v + 0.01 * grads[k] for k, v in CLASSIC_POINT.items()}
    assert close(classic_neuron(stepped), 0.8825, 1e-4)  # "f ~ 0.8825"


# -- section 6: the larger expression ----------------------------------------------------------
@pytest.fixture
def larger_expression(registry):
    """The README expression, line for line: ``c += e`` becomes ``c = c + (e)``."""
    k = Composer(registry)
    a, b = k.inputs("a", "b")
    c = a + b
    d = a * b + b**3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + k.relu(b + a))
    d = d + (3 * d + k.relu(b - a))
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return k.build(g)


def test_section6_uses_the_gates_it_needs(larger_expression):
    used = {node.name for node in larger_expression.nodes if node.kind == "gate"}
    assert {"pow", "relu", "sub", "div", "neg", "add", "mul"} <= used
    assert {node.value for node in larger_expression.nodes if node.kind == "const"} >= {1.0, 2.0, 3.0, 10.0}


def test_section6_value_and_gradients(larger_expression):
    output, grads = larger_expression.gradient(a=-4, b=2)
    assert round(float(output), 4) == 24.7041
    assert round(float(grads["a"]), 4) == 138.8338
    assert round(float(grads["b"]), 4) == 645.5773


def test_section6_gradient_check(larger_expression):
    result = check_circuit(larger_expression, {"a": -4.0, "b": 2.0})
    assert result.ok, result.describe()
