"""The array variant made for one kind of inputs: the general variant's numbers, never used for another kind."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import plugin_registry
from test_random_circuits import KINKED_OPS, RANDOM, SMOOTH_OPS, build, operations

from gatekit import Composer, Gate, codegen, nn
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
    n_inputs = data.draw(st.integers(2, 4), label="inputs")
    steps = data.draw(st.lists(operations, min_size=1, max_size=15), label="steps")
    circuit = build(registry, n_inputs, steps, {**SMOOTH_OPS, **KINKED_OPS})
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


def test_the_moons_mlps_loss_and_gradients_are_the_interpreters(registry):
    net = nn.Network((2, 4, 3, 1))
    circuit = net.loss_circuit("hinge", 1e-4)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 2))
    values = {**net.data(X), "y": np.sign(rng.normal(size=20)), **net.initial_parameters()}
    compiled = _agree(circuit, values)
    assert _made(compiled, values) is not None
    # The code for this kind, as the compiled call makes it: no share summed at run time,
    # a weight's share of the batch one dot product, a weight's square a float product.
    xs = [values[name] for name in circuit.inputs]
    recording = ShapePlan(circuit, tuple(map(type, xs)))
    recorder = codegen._compiled(*generate_source(circuit, True, plan=recording))
    recorder(*xs)
    text = generate_source(circuit, True, plan=recording.resolved(circuit))[0]
    body = text[text.index("def forward_backward"):]
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
    assert made == [0, 3 * 3 + 4]  # every weight and bias, once
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
