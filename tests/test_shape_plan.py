"""The array variant made for one kind of inputs: the general variant's numbers, never used for another kind."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import plugin_registry
from test_random_circuits import RANDOM, build, draw_circuit

from gatekit import Composer, Gate, Source, UsageError, codegen, nn
from gatekit.circuit_source import generate_source
from gatekit.shape_plan import ShapePlan, input_kind

FEW = settings(RANDOM, max_examples=25)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * max(1.0, float(np.max(np.abs(want)))))


def _agree(circuit, values):
    """The compiled call and the interpreter give the same output and gradients, of the same kinds."""
    compiled = circuit.compile()
    want_out, want = circuit.gradient(values)
    compiled.gradient(values)  # the first call of a kind: the interpreter
    for _ in range(2):  # the call that makes the variant, and one that only runs it
        out, grads = compiled.gradient(values)
        _close(out, want_out)
        assert type(out) is type(want_out)
        for name in circuit.inputs:
            _close(grads[name], want[name])
            assert type(grads[name]) is type(want[name]) and np.shape(grads[name]) == np.shape(want[name])
    return compiled


def _made(compiled, values):
    return compiled._kinds.get((input_kind([values[name] for name in compiled.circuit.inputs]), None))


@FEW
@given(data=st.data())
def test_random_circuits_of_numbers_and_arrays_agree_with_the_interpreter(registry, data):
    circuit, n_inputs = draw_circuit(data, registry, inputs=(2, 4), max_steps=15)
    size = data.draw(st.integers(1, 4), label="size")
    # Each input a number (a weight) or an array in one of three shapes that broadcast together.
    shapes = data.draw(st.lists(st.sampled_from([None, (size,), (1, size), (3, 1)]), min_size=n_inputs,
                                max_size=n_inputs), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = {name: float(rng.uniform(-2, 2)) if shape is None else rng.uniform(-2, 2, shape)
              for name, shape in zip(circuit.inputs, shapes)}
    compiled = _agree(circuit, values)
    # Numbers among arrays, every gate with templates: the variant for the kind served.
    mixed = any(shape is not None for shape in shapes) and any(shape is None for shape in shapes)
    if mixed and not any(key.startswith("_g") for key in generate_source(circuit, True)[1]):
        assert _made(compiled, values) is not None


def _moons_mlp(layers, seed):
    """A small moons MLP's loss circuit and the values of one call (20 points)."""
    net = nn.Network((2, 4, 3, 1), layers=layers)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 2))
    return net.loss_circuit("hinge", 1e-4), {**net.data(X), "y": np.sign(rng.normal(size=20)), **net.initial_parameters()}


def _variant_source(circuit, values):
    """The body of the code made for these values' kind, as the compiled call makes it."""
    text, bound = codegen.kind_source(circuit, [values[name] for name in circuit.inputs])
    return text[text.index("def forward_backward"):], bound


def test_the_moons_mlps_loss_and_gradients_are_the_interpreters(registry):
    circuit, values = _moons_mlp(layers=False, seed=1)
    compiled = _agree(circuit, values)
    assert _made(compiled, values) is not None
    # The code for this kind, as the compiled call makes it: no share summed at run time,
    # a weight's share of the batch one dot product, a weight's square a float product.
    body = _variant_source(circuit, values)[0]
    assert "unbroadcast(" not in body and "unbroadcast(" in compiled.source(True)
    assert len(re.findall(r"float\(\w+\.dot\(", body)) == 4 * 2 + 3 * 4 + 1 * 3  # every weight's (the biases' are sums)
    assert "np.vdot" not in body and body.count("float(np.add.reduce(") == 4 + 3 + 1


def test_a_variant_made_for_one_kind_of_inputs_is_never_used_for_another(registry, monkeypatch):
    c = Composer(registry)
    w, x, y = c.inputs("w", "x", "y")
    circuit = c.build(c.relu(w * x) * y + w * w)
    compiled = circuit.compile()
    made_for = []
    make = codegen._ForKind.make
    monkeypatch.setattr(codegen._ForKind, "make", staticmethod(
        lambda circuit, xs, wanted=None: made_for.append(input_kind(xs)) or make(circuit, xs, wanted)))
    line = np.linspace(-1, 1, 5)
    # Same classes, other shapes (one that broadcasts x against y) or another dtype: each a kind of its own.
    calls = [{"w": 0.5, "x": line, "y": line}, {"w": 0.5, "x": line.reshape(5, 1), "y": line},
             {"w": 0.5, "x": line[:3], "y": line[:3]}, {"w": 0.5, "x": line.astype(np.float32), "y": line}]
    for values in calls + calls:
        out, grads = compiled.gradient(values)
        want_out, want = circuit.gradient(values)
        _close(out, want_out)
        for name in "wxy":
            _close(grads[name], want[name])
            assert np.shape(grads[name]) == np.shape(values[name])
    kinds = [input_kind(list(values.values())) for values in calls]
    assert len(set(kinds)) == len(calls)
    assert sorted(map(repr, made_for)) == sorted(map(repr, kinds))  # each kind's variant made once, for it
    assert all(compiled._kinds[(kind, None)] is not None for kind in kinds)


def test_results_unlike_the_recordings_go_to_the_general_variant(registry):
    c = Composer(registry)
    w, x = c.inputs("w", "x")
    circuit = c.build(w * x)
    compiled = circuit.compile()
    values = {"w": 2.0, "x": np.arange(3.0)}
    for _ in range(3):
        compiled.gradient(values)
    made = _made(compiled, values)
    made.classes = (np.ndarray, np.ndarray)  # as if this kind's results had been two arrays
    out, grads = compiled.gradient(values)
    assert grads["w"] == 3.0 and isinstance(grads["w"], float)  # the general variant's answer


class Scaled(Gate):
    """A gate with no templates: called through its methods, so its shapes may follow its values."""

    name, arity, doc = "scaled", 2, "scaled(x, y) = x * y"

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        return grad * y, grad * x


def test_a_circuit_with_a_gate_called_by_its_methods_gets_no_variant_for_a_kind():
    registry = plugin_registry(Scaled())
    c = Composer(registry)
    w, x = c.inputs("w", "x")
    circuit = c.build(c.gate("scaled", w, x) + w)
    values = {"w": 2.0, "x": np.arange(3.0)}
    compiled = _agree(circuit, values)
    assert _made(compiled, values) is None


def test_where_a_float_template_raises_the_interpreters_inf_comes_back(registry):
    c = Composer(registry)
    w, x = c.inputs("w", "x")
    circuit = c.build((1.0 / w) * x)  # 1.0 / 0.0 raises in Python, is inf in numpy
    values = {"w": 0.0, "x": np.arange(1.0, 4.0)}
    _agree(circuit, values)


def test_a_numbers_gradient_through_a_part_before_the_batch_joins_is_summed_over_the_batch():
    # The general variant (a gate called by method keeps the circuit on it) once seeded the
    # output with the number 1.0, so d(abs(w) + x)/dw came out 1 where the batch of 3 gives 3.
    c = Composer(plugin_registry(Scaled()))
    w, x = c.inputs("w", "x")
    circuit = c.build(c.abs(w) + c.gate("scaled", x, x))
    values = {"w": 0.5, "x": np.arange(3.0)}
    _agree(circuit, values)
    assert circuit.compile().gradient(values)[1]["w"] == 3.0


# -- gates whose templates depend on their arguments' shapes (linear) ------------------------------
def test_the_code_for_a_layers_kind_is_the_hand_written_layer(registry):
    c = Composer(registry)
    w, x, b = c.inputs("W x b")
    circuit = c.build(c.sum(c.tanh(c.linear(w, x, b))))
    rng = np.random.default_rng(0)
    values = {"W": rng.normal(size=(3, 2)), "x": rng.normal(size=(5, 2)), "b": rng.normal(size=3)}
    body, bound = _variant_source(circuit, values)
    assert bound == {"_lit0": 1.0}  # nothing called through its methods; tanh's 1.0 a 0-d array made once
    assert body == '''def forward_backward(W, x, b, d_f=1.0):
    linear1 = x @ W.T + b
    tanh1 = np.tanh(linear1)
    del linear1
    f = np.sum(tanh1)
    d_tanh1 = np.full_like(tanh1, d_f)
    d_linear1 = d_tanh1 * (_lit0 - tanh1 * tanh1)
    del tanh1
    del d_tanh1
    d_W = d_linear1.T @ x
    d_x = d_linear1 @ W
    d_b = np.add.reduce(d_linear1, 0)
    del d_linear1
    return f, (d_W, d_x, d_b)
'''
    # The printed source (any shapes) still calls the gate's methods.
    assert "_g" in circuit.source(True) and "x @ W.T" not in circuit.source(True)
    compiled = _agree(circuit, values)
    assert _made(compiled, values) is not None


def test_the_layer_gate_moons_mlps_kind_runs_without_a_gate_called_by_method(registry):
    circuit, values = _moons_mlp(layers=True, seed=2)
    compiled = _agree(circuit, values)
    assert _made(compiled, values) is not None
    body, bound = _variant_source(circuit, values)
    assert not [key for key in bound if key.startswith("_g")] and "unbroadcast(" not in body
    # The last layer is a vector of weights and one bias: a dot product per point, the bias's share one sum.
    assert "score = layer2 @ W3 + b3" in body and "d_layer2 = np.multiply.outer(d_score, W3)" in body
    assert "d_b3 = d_b3 + np.add.reduce(d_score, 0)" in body


@FEW
@given(data=st.data())
def test_random_layer_circuits_agree_with_the_interpreter(registry, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    n, width = data.draw(st.integers(1, 4), label="points"), data.draw(st.integers(1, 4), label="width")
    c = Composer(registry)
    (x,) = c.inputs("x")
    batch = data.draw(st.booleans(), label="batch")
    values: dict = {"x": rng.normal(size=(n, width) if batch else (width,))}
    h, inputs = x, width
    for k in range(data.draw(st.integers(1, 3), label="layers")):
        matrix = data.draw(st.booleans(), label="matrix") if k else True
        out = data.draw(st.integers(1, 4), label="outputs") if matrix else 1
        w = c.input(f"W{k}")
        values[f"W{k}"] = rng.normal(size=(out, inputs) if matrix else (inputs,))
        bias = data.draw(st.sampled_from(["vector", "number", "zero", "one"]) if matrix else
                         st.sampled_from(["number", "zero"]), label="bias")
        if bias == "zero":
            b = 0.0
        else:
            b = c.input(f"b{k}")
            values[f"b{k}"] = float(rng.normal()) if bias == "number" else rng.normal(size=out if bias == "vector" else 1)
        h = c.gate(data.draw(st.sampled_from(["tanh", "relu", "sigmoid"]), label="activation"), c.linear(w, h, b))
        if not matrix:
            break
        inputs = out
    circuit = c.build(c.gate(data.draw(st.sampled_from(["sum", "mean", "sumsq"]), label="loss"), h))
    if data.draw(st.booleans(), label="some float32"):  # float32 stays float32, mixed with float64 or not
        values = {name: v.astype(np.float32) if v.__class__ is np.ndarray and rng.random() < 0.7 else v
                  for name, v in values.items()}
    compiled = _agree(circuit, values)
    # Every layer has templates for its shapes but one with a bias of shape (1,) against
    # more outputs; sigmoid has no array forward template (it is called by its methods).
    odd = any(np.shape(values[f"b{k}"]) == (1,) and values[f"W{k}"].ndim == 2 and values[f"W{k}"].shape[0] > 1
              for k in range(3) if f"b{k}" in values)
    by_method = "sigmoid" in {str(node.name) for node in circuit.nodes}
    assert (_made(compiled, values) is not None) is not (odd or by_method)


class ShapedScale(Scaled):
    """Scaled, with templates for any shapes it meets (as ``linear`` gives them for its own)."""

    name = "shaped"
    texts = ("x * y", ("g * y", "g * x"))

    def source_for_shapes(self, shapes):
        forward, backward = self.texts
        return Source(None, args=("x", "y"), array_forward=forward, array_backward=backward)


def test_a_third_party_gates_templates_for_shapes_are_checked_and_used():
    good = ShapedScale()
    bad = ShapedScale()
    bad.name, bad.texts = "hostile", ("__import__('os').system('true')", ("g", "g"))
    for gate, used in ((good, True), (bad, False)):
        c = Composer(plugin_registry(gate))
        w, x = c.inputs("w", "x")
        circuit = c.build(c.gate(gate.name, w, x) + w)
        values = {"w": 2.0, "x": np.arange(3.0)}
        compiled = _agree(circuit, values)
        assert (_made(compiled, values) is not None) is used  # refused: the general variant serves


def test_a_kind_of_shapes_linear_refuses_is_its_one_clear_error_in_the_compiled_call(registry):
    c = Composer(registry)
    w, x, b = c.inputs("W x b")
    compiled = c.build(c.sum(c.linear(w, x, b))).compile()
    good = {"W": np.ones((3, 2)), "x": np.ones((4, 2)), "b": 0.5}
    for _ in range(3):
        compiled.gradient(good)
    with pytest.raises(UsageError, match=r"got W \(3, 2\), x \(4, 3\) and b \(\)"):
        compiled.gradient({**good, "x": np.ones((4, 3))})
    with pytest.raises(UsageError, match=r"b of shape \(out,\) or one number"):
        compiled.gradient({**good, "b": np.ones((4, 3))})


def test_numbers_among_float64_arrays_are_read_as_0d_arrays_with_the_same_bits(registry):
    net = nn.Network((2, 3, 1))
    circuit = net.loss_circuit("hinge", 1e-4)
    rng = np.random.default_rng(5)
    values = {**net.data(rng.normal(size=(12, 2))), "y": np.sign(rng.normal(size=12)), **net.initial_parameters()}
    xs = [values[name] for name in circuit.inputs]
    recording = ShapePlan(circuit, tuple(map(type, xs)))
    codegen._compiled(*generate_source(circuit, True, plan=recording))(*xs)
    plan = recording.resolved(circuit)
    texts = [generate_source(circuit, True, plan=plan, numbers_as_arrays=lift) for lift in (False, True)]
    made = [len(re.findall(r"^    _a_\w+ = np\.array\(\w+\)$", text, re.M)) for text, _ in texts]
    assert made == [0, 3 * 3]  # every weight, once (a bias is read once: its conversion would cost what it saves)
    # The array templates' constants too (relu's 0.0 and 0.5, the hinge's 1.0), one 0-d array per value.
    literals = {key: float(value) for key, value in texts[1][1].items() if key.startswith("_lit")}
    assert sorted(literals.values()) == [0.0, 0.5, 1.0] and "np.maximum(l1_n1_sum, _lit" in texts[1][0]
    assert not [key for key in texts[0][1] if key.startswith("_lit")]
    # Each forward value deleted after its last read (a product's once the sum has it), the output kept.
    text = texts[1][0]
    for value in ("mul1", "l1_n1_sum", "l1_n1"):
        last = max(k for k, line in enumerate(text.splitlines()) if re.search(rf"(?<![.\w]){value}\b", line) and "del " not in line)
        assert re.fullmatch(rf"    del (\w+, )*{value}(, \w+)*", text.splitlines()[last + 1])
    assert not re.search(r"del .*\bloss\b", text)
    (out, grads), (lifted_out, lifted_grads) = (codegen._compiled(*text)(*xs) for text in texts)
    # The same float64 arithmetic: the same bits, of the same classes.
    assert lifted_out == out and list(map(type, lifted_grads)) == list(map(type, grads))
    assert [np.asarray(g).tobytes() for g in lifted_grads] == [np.asarray(g).tobytes() for g in grads]
    # float32 data: no 0-d float64 arrays (they would widen it); the interpreter's dtype and numbers.
    values32 = {name: v.astype(np.float32) if isinstance(v, np.ndarray) else v for name, v in values.items()}
    compiled = circuit.compile()
    want_out, want = circuit.gradient(values32)
    for _ in range(3):
        out32, grads32 = compiled.gradient(values32)
    assert _made(compiled, values32) is not None
    assert np.asarray(out32).dtype == np.asarray(want_out).dtype
    _close(out32, want_out)
