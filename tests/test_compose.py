"""The builder: operators bound to the registry, gates by name, numbers, errors, pruning."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from helpers import DoublingMul, plugin_registry
from gatekit import CircuitError, Composer, Gate, UnknownNameError, UsageError, check_circuit


def gates_of(circuit) -> list[str]:
    return [node.name for node in circuit.nodes if node.kind == "gate"]


# -- operators and numbers ----------------------------------------------------------------
@pytest.mark.parametrize(
    "build, gate, expected",
    [
        (lambda x, y: x + y, "add", 3.0 + -2.0),
        (lambda x, y: x - y, "sub", 3.0 - -2.0),
        (lambda x, y: x * y, "mul", 3.0 * -2.0),
        (lambda x, y: x / y, "div", 3.0 / -2.0),
        (lambda x, y: x**y, "pow", 3.0**-2.0),
        (lambda x, y: -x, "neg", -3.0),
    ],
)
def test_operators_use_the_gates_that_bind_their_symbols(registry, build, gate, expected):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(build(x, y))
    assert gates_of(circuit) == [gate]
    assert circuit(x=3.0, y=-2.0) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "build, gate, value, grad",
    [
        (lambda x: 2 * x, "mul", 2 * 3.0, 2.0),
        (lambda x: x * 2, "mul", 3.0 * 2, 2.0),
        (lambda x: x + 1, "add", 4.0, 1.0),
        (lambda x: 1 + x, "add", 4.0, 1.0),
        (lambda x: 1 - x, "sub", -2.0, -1.0),
        (lambda x: x - 0.5, "sub", 2.5, 1.0),
        (lambda x: 2**x, "pow", 8.0, 8.0 * np.log(2.0)),
        (lambda x: x**2, "pow", 9.0, 6.0),
        (lambda x: 1 / x, "div", 1 / 3.0, -1 / 9.0),
        (lambda x: x / 4, "div", 0.75, 0.25),
        (lambda x: np.float64(2.0) * x, "mul", 6.0, 2.0),
        (lambda x: x + np.int64(1), "add", 4.0, 1.0),
    ],
)
def test_python_numbers_mix_in_as_constants(registry, build, gate, value, grad):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(build(x))
    assert gates_of(circuit) == [gate]
    assert sum(node.kind == "const" for node in circuit.nodes) == 1
    out, grads = circuit.gradient(x=3.0)
    assert out == pytest.approx(value, rel=1e-15)
    assert grads["x"] == pytest.approx(grad, rel=1e-15)


def test_a_constant_is_shared_but_zero_and_minus_zero_stay_apart(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    f = (x + 1) * 1 + 1 / (x * 0.0) + 1 / (x * -0.0)
    circuit = c.build(f)
    consts = [node.value for node in circuit.nodes if node.kind == "const"]
    assert sorted(map(repr, consts)) == ["-0.0", "0.0", "1.0"]
    assert circuit(x=2.0) != circuit(x=2.0)  # inf + -inf: the two signs really are different


def test_a_plugin_overriding_mul_changes_what_star_does():
    registry = plugin_registry(DoublingMul(), override=True)
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y)
    assert circuit(x=3.0, y=4.0) == 24.0
    assert circuit.gradient(x=3.0, y=4.0)[1] == {"x": 8.0, "y": 6.0}
    plain = Composer(gatekit.load_registry(env={}, entry_points=()))  # other registries keep the built-in
    a, b = plain.inputs("a", "b")
    assert plain.build(a * b)(a=3.0, b=4.0) == 12.0


def test_a_plugin_binding_star_to_a_new_gate_changes_what_star_does():
    class Hadamard(Gate):
        name, arity, symbol = "hadamard", 2, "*"
        doc = "hadamard(x, y) = x * y + 1 (a test gate)"

        def forward(self, x, y):
            return x * y + 1

        def backward(self, grad, out, x, y):
            return grad * y, grad * x

    c = Composer(plugin_registry(Hadamard(), override=True))
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y)
    assert gates_of(circuit) == ["hadamard"]
    assert circuit(x=3.0, y=4.0) == 13.0


def test_an_operator_no_gate_binds_is_a_clear_error(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    registry.symbols.pop(("**", 2))
    with pytest.raises(CircuitError, match=r"no registered gate binds the binary operator '\*\*'"):
        x**2


# -- gates by name --------------------------------------------------------------------------
def test_any_gate_by_name_two_ways(registry):
    c = Composer(registry)
    a, b = c.inputs("a", "b")
    m1 = c.gate("max", a, b)
    m2 = c.max(a, 0)
    circuit = c.build(m1 * m2)
    assert gates_of(circuit) == ["max", "max", "mul"]
    assert circuit(a=2.0, b=5.0) == 10.0
    assert circuit(a=-2.0, b=5.0) == 0.0


def test_a_stage_label_from_gate_or_named(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    q = c.gate("add", x, y, label="q")
    f = c.exp(q, label="e").named("f")  # named() relabels
    trace = c.build(f).forward(x=1.0, y=-1.0)
    assert trace.value("q") == 0.0 and trace.value("f") == 1.0
    with pytest.raises(UnknownNameError, match="'e'"):
        trace.value("e")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c, x: c.gate("max", x), r"gate 'max' takes 2 argument\(s\), got 1"),
        (lambda c, x: c.exp(x, x), r"gate 'exp' takes 1 argument\(s\), got 2"),
        (lambda c, x: c.gate("add", x, x, x), r"gate 'add' takes 2 argument\(s\), got 3"),
    ],
)
def test_wrong_arity_names_the_gate_and_its_arity(registry, call, message):
    c = Composer(registry)
    (x,) = c.inputs("x")
    with pytest.raises(CircuitError, match=message):
        call(c, x)


def test_an_unknown_gate_suggests_the_closest_names(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    with pytest.raises(UnknownNameError, match="unknown gate 'sigmoidd'; did you mean 'sigmoid'"):
        c.gate("sigmoidd", x)
    with pytest.raises(AttributeError, match="did you mean 'sigmoid'"):
        c.sigmoidd(x)
    assert not hasattr(c, "no_such_gate_or_method")


def test_arguments_must_be_wires_of_this_composer_or_numbers(registry):
    c1, c2 = Composer(registry), Composer(registry)
    (x,) = c1.inputs("x")
    (y,) = c2.inputs("y")
    with pytest.raises(CircuitError, match="another Composer"):
        x + y
    with pytest.raises(CircuitError, match="another Composer"):
        c2.build(x)
    for junk in ["2", None, True, [1.0]]:
        with pytest.raises(CircuitError, match="expected a wire or a number"):
            c1.gate("add", x, junk)


def test_wires_have_no_truth_value_and_no_order(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    with pytest.raises(UsageError, match="no truth value"):
        bool(x)
    with pytest.raises(UsageError, match="max, min or relu"):
        x < y  # noqa: B015
    with pytest.raises(UsageError):
        x >= 0  # noqa: B015


def test_inputs_names_and_constants_are_validated(registry):
    c = Composer(registry)
    x, y, z = c.inputs("x y, z")
    assert [x.id, y.id, z.id] == [0, 1, 2]
    with pytest.raises(CircuitError, match="duplicate input name 'x'"):
        c.input("x")
    with pytest.raises(CircuitError, match="must be an identifier"):
        c.input("2x")
    with pytest.raises(CircuitError, match="a constant must be a real number"):
        c.const("1")
    with pytest.raises(CircuitError, match="a constant must be a real number"):
        c.const(True)
    with pytest.raises(CircuitError, match="too large for a float"):
        c.inputs("w")[0] * 2**2000
    with pytest.raises(CircuitError, match="only gate nodes take stage labels"):
        x.named("input_label")
    with pytest.raises(CircuitError, match="non-empty string"):
        (x + 1).named("")


# -- build ----------------------------------------------------------------------------------
def test_build_prunes_unreachable_nodes_and_keeps_every_input_when_asked(registry):
    c = Composer(registry)
    x, y, unused = c.inputs("x", "y", "unused")
    dead = c.exp(x) * 100  # never reaches the output
    q = (x + y).named("q")
    f = q * 3
    later = f + 1  # built after the output: dropped too
    assert c.build(f).inputs == ("x", "y")  # by default only the inputs the output reads
    circuit = c.build(f, keep_inputs=True)
    assert circuit.inputs == ("x", "y", "unused")
    assert gates_of(circuit) == ["add", "mul"]
    assert [node.value for node in circuit.nodes if node.kind == "const"] == [3.0]
    out, grads = circuit.gradient(x=1.0, y=2.0, unused=5.0)
    assert out == 9.0 and grads == {"x": 3.0, "y": 3.0, "unused": 0.0}
    assert dead.id != later.id  # both really were added to the composer
    assert len(c.build(later, keep_inputs=True)) == len(circuit) + 2  # later: + const 1 + add


def test_build_defaults_to_the_last_node(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    x * 2
    x + 5
    assert c.build()(x=1.0) == 6.0


def test_build_an_empty_composer_is_an_error(registry):
    with pytest.raises(CircuitError, match="empty"):
        Composer(registry).build()
    (x,) = Composer(registry).inputs("x")
    with pytest.raises(CircuitError, match="another Composer"):
        Composer(registry).build(x)


def test_composer_uses_the_default_registry_when_none_given():
    c = Composer()
    assert c.registry is gatekit.default_registry()


def test_a_built_circuit_does_not_change_when_building_goes_on(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    f = (x * 2).named("f")
    first = c.build(f)
    f.named("renamed")
    c.exp(f)
    assert first.find("f") == first.output
    assert gates_of(first) == ["mul"]


def test_a_built_circuit_passes_check_circuit_with_arrays(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    f = c.tanh(x * y + c.sigmoid(x) - y / 3) ** 2 + c.log(1 + c.exp(y))
    result = check_circuit(c.build(f), {"x": np.array([0.3, -1.2, 2.0]), "y": np.array([[0.5], [-0.7]])})
    assert result.ok, result.describe()


def test_build_keeps_only_the_inputs_the_output_reads(registry):
    c = Composer(registry)
    x, y, *unused = c.inputs(*[f"v{k}" for k in range(340)])
    f = c.build(x * y)
    assert f.inputs == ("v0", "v1") and "v2" in f.unread_inputs
    with pytest.raises(UsageError) as info:  # the missing-input error names only what is read
        f(v0=2.0)
    assert "'v1'" in str(info.value) and "v2" not in str(info.value)
    assert f(v0=2.0, v1=3.0, v7=1.0) == 6.0  # a value for a declared, unread input is ignored
    with pytest.raises(UnknownNameError, match="did you mean 'v1'"):
        f(v0=2.0, v1=3.0, v1x=1.0)  # a name nobody declared is still an error
    assert c.build(x * y, keep_inputs=True).inputs == tuple(f"v{k}" for k in range(340))
    assert c.build(x * y, defaults={"v9": 1.0}).inputs == ("v0", "v1", "v9")  # a default keeps its input


# -- the lean builder: columns, the tape laid once, caches that must not go stale -------------
def test_many_inputs_at_once_are_checked_like_one_at_a_time(registry):
    c = Composer(registry)
    wires = c.inputs(*[f"a{k}" for k in range(20)])
    assert [w.id for w in wires] == list(range(20)) and c.build(wires[3] * wires[19]).inputs == ("a3", "a19")
    for names, message in [
        ([f"b{k}" for k in range(10)] + ["b3"], "duplicate input name 'b3'"),
        ([f"c{k}" for k in range(10)] + ["a7"], "duplicate input name 'a7'"),  # declared before
        ([f"d{k}" for k in range(10)] + ["lambda"], "must be an identifier"),
        ([f"e{k}" for k in range(10)] + ["2e"], "must be an identifier"),
        ([f"f{k}" for k in range(10)] + [3], "must be an identifier"),
    ]:
        with pytest.raises(CircuitError, match=message):
            Composer(registry).inputs(*[f"a{k}" for k in range(20)], *names) if "a7" in names else \
                Composer(registry).inputs(*names)


def test_numbers_take_the_fast_path_only_once_they_are_constants(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    f = 0.5 * x + x * 2 + 2 * x + x * 0.5 + x * 0.0 + x * -0.0 + 1 / (x + 2.0)
    circuit = c.build(f)
    constants = [node.value for node in circuit.nodes if node.kind == "const"]
    assert sorted(map(str, constants)) == ["-0.0", "0.0", "0.5", "1.0", "2.0"]  # shared; the zeros apart
    out, grads = circuit.gradient(x=2.0)
    assert out == 1.0 + 4.0 + 4.0 + 1.0 + 0.0 + -0.0 + 1 / 4.0
    assert grads["x"] == 0.5 + 2 + 2 + 0.5 + 0.0 - 0.0 - 1 / 16.0
    with pytest.raises(CircuitError, match="expected a wire or a number"):
        x * True  # a bool is no number, even where 1 would be a constant already


def test_an_unconsumed_node_is_dropped_even_when_everything_else_reaches_the_output(registry):
    # Every node but one is an argument of a later gate: the quick "all reach the
    # output" count must not be fooled by the kept inputs.
    c = Composer(registry)
    x = c.input("x")
    c.const(5.0)  # nobody reads it
    y = c.input("y")
    circuit = c.build(y, keep_inputs=True)
    assert [node.kind for node in circuit.nodes] == ["input", "input"] and circuit.inputs == ("x", "y")
    c2 = Composer(registry)
    a, b = c2.inputs("a", "b")
    dead = a * b
    out = a + b
    assert dead.id < out.id and gates_of(c2.build(out)) == ["add"]


def test_a_gate_registered_later_is_seen_by_the_next_composer(registry):
    # Composers of one registry share what they resolved; an override must not go unseen.
    (x,) = (c := Composer(registry)).inputs("x")
    assert c.build(x * x)(x=3.0) == 9.0
    registry.add_gate(DoublingMul(), "late_plugin", override=True)
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.mul(x, x) + x * x)
    assert circuit(x=3.0) == 36.0 and circuit.gate_plugins["mul"] == "late_plugin"


def test_the_circuit_names_only_the_gates_its_nodes_use(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    with pytest.raises(CircuitError):
        c.tanh(x, x)  # resolved, then refused: no node
    circuit = c.build(c.exp(x))
    assert set(circuit.gate_plugins) == {"exp"}


def test_nodes_read_back_from_the_columns(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    f = c.build(c.max((x * 2).named("double"), y) - 1)
    assert f.nodes[:] == tuple(f.nodes) and f.nodes[-1] == f.nodes[len(f.nodes) - 1]
    assert [tuple(node) for node in f.nodes] == [
        ("input", "x", (), None, None), ("input", "y", (), None, None), ("const", None, (), 2.0, None),
        ("gate", "mul", (0, 2), None, "double"), ("gate", "max", (3, 1), None, None),
        ("const", None, (), 1.0, None), ("gate", "sub", (4, 5), None, None),
    ]
    with pytest.raises(IndexError):
        f.nodes[7]
    assert f.nodes == gatekit.Circuit(list(f.nodes), f.output, registry).nodes


def test_a_large_circuit_costs_a_few_hundred_bytes_a_gate(registry):
    import tracemalloc

    c = Composer(registry)
    (x,) = c.inputs("x")
    total = x
    tracemalloc.start()
    try:
        for _ in range(20_000):
            total = total + x
        circuit = c.build(total)
        del c, total
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # A step (6 slots), an argument tuple, an int id and a few pointers: ~200 bytes.
    assert len(circuit.steps) == 20_000 and size / 20_000 < 320
