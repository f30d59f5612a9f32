"""Composite gates: a circuit registered and used as one gate."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from gatekit import CircuitError, Composer, Domain, Interval, check_circuit, check_gate, hookimpl
from gatekit.registry import validate_gate

NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
NEURON_INPUT_GRADS = {  # reference-numbers.md section 4
    "w0": -0.19661193324148188,
    "x0": 0.39322386648296376,
    "w1": -0.39322386648296376,
    "x1": -0.5898357997244457,
    "w2": 0.19661193324148188,
}


def eight_gate_neuron(registry) -> gatekit.Circuit:
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs("w0", "x0", "w1", "x1", "w2")
    return c.build(c.reciprocal(1 + c.exp(-(w0 * x0 + w1 * x1 + w2))))


@pytest.fixture
def neuron(registry):
    return eight_gate_neuron(registry).as_gate("neuron", "neuron(w0, x0, w1, x1, w2) = sigmoid(w0*x0 + w1*x1 + w2)")


def test_a_composite_is_a_valid_gate(neuron):
    assert validate_gate(neuron) == []
    assert isinstance(neuron, gatekit.Gate)
    assert (neuron.name, neuron.arity, neuron.symbol) == ("neuron", 5, None)
    assert neuron.doc.startswith("neuron(w0, x0")


def test_the_default_doc_says_what_it_is(registry):
    gate = eight_gate_neuron(registry).as_gate("neuron")
    assert gate.doc == "neuron(w0, x0, w1, x1, w2): a circuit of 8 gates"


def test_forward_and_backward_reproduce_the_lesson(neuron):
    args = tuple(NEURON_POINT.values())
    out = neuron.forward(*args)
    assert abs(out - 0.7310585786300049) < 1e-12
    grads = neuron.backward(1.0, out, *args)
    for grad, expected in zip(grads, NEURON_INPUT_GRADS.values()):
        assert abs(grad - expected) < 1e-12
    scaled = neuron.backward(2.0, out, *args)
    assert scaled == tuple(2 * g for g in grads)


def test_registered_into_a_registry_and_used_inside_another_circuit(registry, neuron):
    registry.add_gate(neuron, "my_neurons")
    assert registry.entry("gate", "neuron").plugin.name == "my_neurons"
    c = Composer(registry)
    w0, x0, w1, x1, w2, t = c.inputs("w0", "x0", "w1", "x1", "w2", "t")
    prediction = c.neuron(w0, x0, w1, x1, w2)
    loss = (prediction - t) ** 2
    circuit = c.build(loss)
    assert [n.name for n in circuit.nodes if n.kind == "gate"] == ["neuron", "sub", "pow"]
    point = dict(NEURON_POINT, t=1.0)
    out, grads = circuit.gradient(point)
    f = 0.7310585786300049
    assert out == pytest.approx((f - 1.0) ** 2, rel=1e-12)
    for name, grad in NEURON_INPUT_GRADS.items():  # chain rule: dloss/df = 2 (f - t)
        assert grads[name] == pytest.approx(2 * (f - 1.0) * grad, rel=1e-12)
    assert grads["t"] == pytest.approx(-2 * (f - 1.0), rel=1e-12)
    assert check_circuit(circuit, point).ok


def test_registered_by_a_plugin_hook_like_any_gate(registry):
    neuron = eight_gate_neuron(registry).as_gate("neuron")

    class NeuronPlugin:
        @hookimpl
        def gatekit_register_gates(self, register):
            register(neuron)

    loaded = gatekit.load_registry(extra=[NeuronPlugin()], env={}, entry_points=())
    assert loaded.entry("gate", "neuron").plugin.name == "NeuronPlugin"
    c = Composer(loaded)
    xs = c.inputs("a", "b", "c", "d", "e")
    circuit = c.build(c.gate("neuron", *xs))
    assert circuit(a=2.0, b=-1.0, c=-3.0, d=-2.0, e=-3.0) == pytest.approx(0.7310585786300049, abs=1e-12)


def test_it_passes_check_gate(neuron):
    result = check_gate(neuron)
    assert result.ok, result.describe()
    assert result.points_checked > 5


def test_used_several_times_in_one_circuit_its_gradients_add_up(registry, neuron):
    registry.add_gate(neuron, "my_neurons")
    c = Composer(registry)
    a, b = c.inputs("a", "b")
    h = c.neuron(a, b, b, a, 0.5)
    circuit = c.build(c.neuron(h, a, h, b, h))  # the same instance in two nodes, h fanned out
    result = check_circuit(circuit, {"a": 0.3, "b": -0.8})
    assert result.ok, result.describe()


def test_arrays_and_broadcasting_pass_through(registry, neuron):
    registry.add_gate(neuron, "my_neurons")
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs("w0", "x0", "w1", "x1", "w2")
    circuit = c.build(c.neuron(w0, x0, w1, x1, w2))
    x0s = np.array([-1.0, 0.5, 2.0])
    x1s = np.array([[-2.0], [1.0]])
    out, grads = circuit.gradient(dict(NEURON_POINT, x0=x0s, x1=x1s))
    assert out.shape == (2, 3)
    assert grads["x0"].shape == (3,) and grads["x1"].shape == (2, 1) and isinstance(grads["w0"], float)
    z = 2.0 * x0s - 3.0 * x1s - 3.0
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(out, s, rtol=1e-14)
    np.testing.assert_allclose(grads["w0"], np.sum(s * (1 - s) * x0s), rtol=1e-13)
    np.testing.assert_allclose(grads["x1"], np.sum(s * (1 - s) * -3.0, axis=1, keepdims=True), rtol=1e-13)


def test_a_composite_of_composites(registry, neuron):
    registry.add_gate(neuron, "my_neurons")
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    layer = c.build(c.neuron(x, 1.5, y, -0.5, 0.1) + c.neuron(y, 0.7, x, 2.0, -0.3))
    registry.add_gate(layer.as_gate("layer"), "my_neurons")
    c2 = Composer(registry)
    a, b = c2.inputs("a", "b")
    outer = c2.build(c2.layer(a * b, a - b))
    assert outer(a=0.4, b=0.9) == pytest.approx(layer(x=0.36, y=-0.5), rel=1e-15)
    assert check_circuit(outer, {"a": 0.4, "b": 0.9}).ok


def test_a_domain_keeps_the_check_where_the_circuit_is_defined(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.log(x) * x)
    unsafe = circuit.as_gate("xlogx")  # default points include x <= 0, where log is nan
    assert not check_gate(unsafe).ok
    safe = circuit.as_gate("xlogx", domain=Domain((Interval(0.1, 3.0),)))
    assert safe.domain.interval(0) == Interval(0.1, 3.0)
    result = check_gate(safe)
    assert result.ok, result.describe()


@pytest.mark.parametrize(
    "name, message",
    [("Neuron", "not a valid gate name"), ("has space", "not a valid gate name"), (3, "not a valid gate name")],
)
def test_invalid_names_are_refused(registry, name, message):
    with pytest.raises(CircuitError, match=message):
        eight_gate_neuron(registry).as_gate(name)


def test_a_circuit_without_inputs_and_a_junk_domain_are_refused(registry):
    c = Composer(registry)
    constant = c.build(c.const(2.0) * 3)
    with pytest.raises(CircuitError, match="at least one input"):
        constant.as_gate("two")
    with pytest.raises(CircuitError, match="gatekit.Domain"):
        eight_gate_neuron(registry).as_gate("neuron", domain=(0, 1))


def test_an_inner_gate_failure_names_the_inner_gate(registry):
    class Broken(gatekit.Gate):
        name, arity = "broken", 1
        doc = "broken(x): backward returns nothing useful"

        def forward(self, x):
            return x

        def backward(self, grad, out, x):
            return ()

    registry.add_gate(Broken(), "broken_plugin")
    c = Composer(registry)
    (x,) = c.inputs("x")
    registry.add_gate(c.build(c.broken(x) * 2).as_gate("wrapper"), "wrappers")
    c2 = Composer(registry)
    (y,) = c2.inputs("y")
    with pytest.raises(gatekit.errors.GateContractError, match="gate 'broken' \\(plugin 'broken_plugin'\\)"):
        c2.build(c2.wrapper(y)).gradient(y=1.0)


class _CountingTanh:
    """tanh that counts its forward calls (in a list the test owns; the gate holds no trace)."""

    name, arity, symbol, doc, grad_doc, domain = "counted_tanh", 1, None, "tanh, counted", "1 - out**2", Domain()

    def __init__(self, calls: list[int]) -> None:
        self.calls = calls

    def forward(self, x):
        self.calls.append(1)
        return np.tanh(x)

    def backward(self, grad, out, x):
        return (grad * (1 - out**2),)


def test_nested_composites_backpropagate_once_per_level_not_once_per_ancestor(registry):
    calls: list[int] = []
    registry.add_gate(_CountingTanh(calls), "counting")
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(c.counted_tanh(x * y + x))
    depth = 30
    for level in range(depth):
        registry.add_gate(circuit.as_gate(f"level{level}"), "nest")
        c = Composer(registry)
        x, y = c.inputs("x", "y")
        circuit = c.build(c.gate(f"level{level}", x, y) * 0.5 + y * 0.1)
    assert check_circuit(circuit, {"x": 0.3, "y": -0.7}).ok  # against central differences
    circuit.gradient(x=0.3, y=-0.7)  # the first backward inlines each level once
    del calls[:]
    circuit.gradient(x=0.3, y=-0.7)
    assert len(calls) == 2  # one forward, one backward that ran the innermost forward once (was depth + 1)
