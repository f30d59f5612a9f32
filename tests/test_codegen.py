"""Compiled circuits: golden source, the same numbers as the interpreter, hostile parts refused."""

from __future__ import annotations

import ast
import builtins
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from helpers import DoublingMul, plugin_registry
from test_random_circuits import RANDOM, build, draw_circuit, operations, points

import gatekit
from gatekit import Composer, Gate, Source, parse
from gatekit.errors import GateValidationError
from gatekit.templates import check_template

XYZ_SOURCE = '''\
import math

def forward_backward(x, y, z, d_f=1.0):
    q = x + y
    f = q * z
    d_q = z * d_f
    d_z = q * d_f
    d_x = d_q
    d_y = d_q
    return f, (d_x, d_y, d_z)
'''

NEURON = ("mult1 = w0 * x0; mult2 = w1 * x1; add1 = mult1 + mult2; add2 = add1 + w2; neg = -add2; "
          "exp1 = exp(neg); add3 = 1 + exp1; f = reciprocal(add3)")
NEURON_SOURCE = '''\
import math

def forward_backward(w0, x0, w1, x1, w2, d_f=1.0):
    mult1 = w0 * x0
    mult2 = w1 * x1
    add1 = mult1 + mult2
    add2 = add1 + w2
    neg = -add2
    exp1 = math.exp(neg)
    add3 = 1.0 + exp1
    f = 1.0 / add3
    d_add3 = -d_f * f * f
    d_exp1 = d_add3
    d_neg = d_exp1 * exp1
    d_add2 = -d_neg
    d_add1 = d_add2
    d_w2 = d_add2
    d_mult1 = d_add1
    d_mult2 = d_add1
    d_w1 = x1 * d_mult2
    d_x1 = w1 * d_mult2
    d_w0 = x0 * d_mult1
    d_x0 = w0 * d_mult1
    return f, (d_w0, d_x0, d_w1, d_x1, d_w2)
'''
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
#: reference-numbers.md section 4.
NEURON_GRADS = {"w0": -0.19661193324148188, "x0": 0.39322386648296376, "w1": -0.39322386648296376,
                "x1": -0.5898357997244457, "w2": 0.19661193324148188}


def run_printed(source: str, *args):
    """The printed source on its own: a fresh namespace, nothing of gatekit in it."""
    namespace: dict = {}
    exec(compile(source, "<printed>", "exec"), namespace)
    return namespace["forward_backward"](*args)


def test_the_source_of_x_plus_y_times_z_is_the_lessons_backward_pass(registry):
    circuit = parse("q = x + y; f = q * z", registry)
    assert circuit.source() == XYZ_SOURCE
    assert run_printed(circuit.source(), -2.0, 5.0, -4.0) == (-12.0, (-4.0, -4.0, 3.0))
    assert circuit.compile().gradient(x=-2, y=5, z=-4) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})


def test_the_source_of_the_neuron_is_golden_and_gives_the_lessons_figures(registry):
    circuit = parse(NEURON, registry)
    assert circuit.source() == NEURON_SOURCE
    out, grads = run_printed(circuit.source(), *NEURON_AT.values())
    assert out == pytest.approx(0.7310585786300049, rel=1e-12)
    assert grads == pytest.approx(tuple(NEURON_GRADS.values()), rel=1e-12)
    compiled_out, compiled_grads = circuit.compile().gradient(NEURON_AT)
    assert compiled_out == pytest.approx(0.7310585786300049, rel=1e-12)
    assert compiled_grads == pytest.approx(NEURON_GRADS, rel=1e-12)


def test_the_array_source_runs_on_its_own_and_sums_broadcast_gradients(registry):
    circuit = parse(NEURON, registry)
    rng = np.random.default_rng(0)
    batch = {name: rng.uniform(-1, 1, 7) for name in circuit.inputs}
    batch["w2"] = -3.0  # a scalar among arrays: its gradient is the sum over the batch
    out, grads = run_printed(circuit.source(arrays=True), *batch.values())
    want_out, want = circuit.gradient(batch)
    np.testing.assert_allclose(out, want_out, rtol=1e-12)
    for name, g in zip(circuit.inputs, grads):
        np.testing.assert_allclose(g, want[name], rtol=1e-12)
    assert isinstance(grads[-1], float)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@RANDOM
@given(data=st.data())
def test_interpreter_compiled_and_arrays_agree_on_random_circuits(registry, data):
    circuit, n_inputs = draw_circuit(data, registry)
    size = data.draw(st.integers(1, 4), label="size")
    batch = dict(zip(circuit.inputs, data.draw(points(n_inputs, size), label="batch")))
    compiled = circuit.compile()
    array_out, array_grads = circuit.gradient(batch)
    compiled_out, compiled_grads = compiled.gradient(batch)
    _close(compiled_out, array_out)
    for name in circuit.inputs:
        _close(compiled_grads[name], array_grads[name])
    for k in range(size):
        point = {name: float(v[k]) for name, v in batch.items()}
        out, grads = circuit.gradient(point)
        c_out, c_grads = compiled.gradient(point)
        assert isinstance(c_out, float)
        _close(c_out, out)
        for call in (compiled.gradient_list, circuit.gradient_list):  # the sequence call: the same numbers in order
            l_out, l_grads = call(list(point.values()))
            _close(l_out, out)
            _close(np.array(l_grads, dtype=float), np.array([grads[name] for name in circuit.inputs]))
        _close(out, array_out[k])
        for name in circuit.inputs:
            _close(c_grads[name], grads[name])
            _close(grads[name], array_grads[name][k])


@RANDOM
@given(data=st.data())
def test_a_batch_written_into_dead_arrays_gives_the_interpreters_numbers_and_leaves_the_inputs_alone(registry, data):
    circuit, n_inputs = draw_circuit(data, registry)
    dtype = data.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    batch = {name: np.asarray(v, dtype) for name, v in
             zip(circuit.inputs, data.draw(points(n_inputs, 3), label="batch"))}
    copies = {name: v.copy() for name, v in batch.items()}
    compiled = circuit.compile()
    want_out, want_grads = circuit.gradient(batch)  # also the first call of its kind: checks outputs
    # The variant that reuses dead arrays (None where a gradient is not in the batch's shape,
    # e.g. one only the seed reaches: the general variant then answers).
    result = compiled._function(True, "lean")(*batch.values())
    if result is not None:
        np.testing.assert_allclose(result[0], want_out, rtol=1e-5 if dtype is np.float32 else 1e-12)
    for _ in range(2):
        got_out, got_grads = compiled.gradient(batch)
        np.testing.assert_allclose(got_out, want_out, rtol=1e-5 if dtype is np.float32 else 1e-12)
        for name in circuit.inputs:
            np.testing.assert_allclose(got_grads[name], want_grads[name],
                                       rtol=1e-4 if dtype is np.float32 else 1e-12, atol=1e-6 if dtype is np.float32 else 1e-13)
    for name, v in batch.items():
        np.testing.assert_array_equal(v, copies[name])  # nothing was written into a caller's array


def test_the_lean_variant_of_the_neuron_writes_into_dead_arrays(registry):
    circuit = parse(NEURON, registry)
    text, _ = gatekit.codegen.generate_source(circuit, arrays=True, lean=True)
    assert "add2 = np.add(add1, w2, out=add1, casting='no')" in text  # the tight reference's z += w2
    assert "d_neg = np.multiply(d_exp1, exp1, out=d_exp1, casting='no')" in text  # backward too, from the seed on
    rng = np.random.default_rng(3)
    batch = {name: rng.uniform(-2, 2, 50) for name in circuit.inputs}
    compiled = circuit.compile()
    want = circuit.gradient(batch)
    out, grads = compiled._function(True, "lean")(*batch.values())
    np.testing.assert_allclose(out, want[0], rtol=1e-12)
    for name, g in zip(circuit.inputs, grads):
        np.testing.assert_allclose(g, want[1][name], rtol=1e-12)
    as_ints = {name: np.arange(3) for name in circuit.inputs}  # not floating: the general variant answers
    assert compiled._function(True, "lean")(*as_ints.values()) is None


def test_a_third_party_gate_without_templates_compiles_and_runs():
    registry = plugin_registry(DoublingMul(), override=True)
    circuit = parse("f = (x + y) * z", registry)
    assert "_g" in circuit.source()  # called through its methods, bound by reference
    assert circuit.compile().gradient(x=-2.0, y=5.0, z=-4.0) == circuit.gradient(x=-2.0, y=5.0, z=-4.0)
    assert circuit.compile().gradient(x=-2.0, y=5.0, z=-4.0)[0] == -24.0
    batch = {"x": np.array([1.0, 2.0]), "y": 5.0, "z": -4.0}
    got, want = circuit.compile().gradient(batch), circuit.gradient(batch)
    _close(got[0], want[0])
    for name in "xyz":
        _close(got[1][name], want[1][name])


def test_where_python_raises_the_compiled_call_gives_the_interpreters_inf_and_nan(registry):
    circuit = parse("f = x / y + exp(y * 1000) + log(x)", registry)
    for point in ({"x": 1.0, "y": 0.0}, {"x": -1.0, "y": 1.0}, {"x": 0.0, "y": 2.0}):
        got, want = circuit.compile().gradient(point), circuit.gradient(point)
        np.testing.assert_equal(got[0], want[0])
        np.testing.assert_equal(got[1], want[1])


def test_once_the_fast_gradient_is_installed_every_other_call_still_gets_the_interpreters_answer(registry):
    circuit = parse("f = x / y + exp(y * 1000) + log(x)", registry)
    compiled = circuit.compile()
    for _ in range(3):  # the first call checks outputs; the second installs the generated function
        assert compiled.gradient({"x": 2.0, "y": 0.5}) == circuit.gradient({"x": 2.0, "y": 0.5})
    assert "gradient" in vars(compiled)  # the generated function itself now answers
    for call in ({"x": 1.0, "y": 0.0}, {"x": -1.0, "y": 1.0}, {"x": 2, "y": 1}, {"x": np.array([1.0, 2.0]), "y": 0.5}):
        got, want = compiled.gradient(call), circuit.gradient(call)
        np.testing.assert_equal(got[0], want[0])
        np.testing.assert_equal(got[1], want[1])
    assert compiled.gradient(x=2.0, y=0.5) == circuit.gradient(x=2.0, y=0.5)
    with pytest.raises(gatekit.GatekitError, match="z"):  # an unknown name among the right number
        compiled.gradient({"x": 2.0, "z": 0.5})
    with pytest.raises(gatekit.GatekitError, match="z"):  # one too many
        compiled.gradient({"x": 2.0, "y": 0.5, "z": 1.0})


def test_a_circuit_of_many_inputs_takes_them_in_one_lookup_and_still_refuses_bad_ones(registry):
    c = Composer(registry)
    xs = c.inputs(*[f"x{k}" for k in range(40)])
    total = xs[0]
    for x in xs[1:]:
        total = c.tanh(total * x + 0.5)
    circuit = c.build(total)
    compiled = circuit.compile()
    point = {f"x{k}": 0.9 + 0.005 * k for k in range(40)}
    for _ in range(3):
        got, want = compiled.gradient(point), circuit.gradient(point)
        assert got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-12)
    assert "_inputs(_values)" in gatekit.codegen.generate_source(circuit, dict_call=True)[0]
    assert "gradient" in vars(compiled)  # installed: the generated function answers
    ints = {**point, "x3": 1}
    assert compiled.gradient(ints)[1] == pytest.approx(circuit.gradient(ints)[1], rel=1e-12)
    assert all(type(g) is float for g in compiled.gradient(ints)[1].values())
    with pytest.raises(gatekit.GatekitError, match="y"):
        compiled.gradient({**{k: v for k, v in point.items() if k != "x5"}, "y": 1.0})


def _chain(registry, kind: str, n: int):
    c = Composer(registry)
    if kind == "slots":  # W2's link: x = tanh(a_i * x + b_i), a_i and b_i inputs
        wires = c.inputs("x", *[f"a{i}" for i in range(n)], *[f"b{i}" for i in range(n)])
        x = wires[0]
        for i in range(n):
            x = c.tanh(wires[1 + i] * x + wires[1 + n + i])
        return c.build(x)
    if kind == "shared":  # the same weights in every link: their gradients are sums
        x, w, b = c.inputs("x", "w", "b")
        for _ in range(n):
            x = c.tanh(w * x + b)
        return c.build(x)
    if kind == "two":  # two values carried from link to link, one read twice
        wires = c.inputs("x", "y", *[f"a{i}" for i in range(n)])
        x, y = wires[0], wires[1]
        for i in range(n):
            x, y = c.tanh(x * y + wires[2 + i]), c.exp(x - y) * 0.5
        return c.build(x + y)
    wires = c.inputs("x", "y")  # reads two links back
    values = [wires[0], wires[1]]
    for _ in range(n):
        values.append(c.tanh(values[-1] * 0.9 + values[-2] * 0.1))
    return c.build(values[-1])


@pytest.mark.parametrize("kind", ["slots", "shared", "two", "skip"])
def test_runs_of_identical_links_become_loops_with_the_straight_line_codes_numbers(registry, kind):
    circuit = _chain(registry, kind, 30)
    text, bound = gatekit.codegen.generate_source(circuit, dict_call=True)
    assert "for _j in range(" in text  # the 28 links between the first and the last, as a loop
    flat_text, flat_bound = gatekit.codegen.generate_source(circuit, dict_call=True, rolled=False)
    assert "for _j" not in flat_text

    def made(source, names):
        namespace = {"__builtins__": builtins, **names, "_careful": None}
        exec(compile(source, "<generated>", "exec"), namespace)
        return namespace["gradient"]

    looped, flat = made(text, bound), made(flat_text, flat_bound)
    compiled = circuit.compile()
    rng = np.random.default_rng(5)
    for _ in range(3):
        point = {name: float(rng.uniform(-1.5, 1.5)) for name in circuit.inputs}
        got = looped(point)
        assert got == flat(point)  # the same operations in the same order: the same floats
        want = circuit.gradient(point)
        assert list(got[1]) == list(want[1]) and got[0] == pytest.approx(want[0], rel=1e-12)
        assert got[1] == pytest.approx(want[1], rel=1e-12, abs=1e-300)
        c_out, c_grads = compiled.gradient(point)
        assert c_out == pytest.approx(want[0], rel=1e-12) and c_grads == pytest.approx(want[1], rel=1e-12, abs=1e-300)
    assert "gradient" in vars(compiled)


def test_the_dict_of_many_gradients_is_new_each_call_in_the_inputs_order(registry):
    circuit = _chain(registry, "slots", 30)  # 61 inputs: the many-input path, and a loop
    compiled = circuit.compile()
    point = {name: 0.02 * k - 0.6 for k, name in enumerate(circuit.inputs)}
    for _ in range(2):
        compiled.gradient(point)
    first = compiled.gradient(point)[1]
    assert list(first) == list(circuit.inputs)
    first["x"] = 123.0  # the caller's own dict: the next call's is another
    second = compiled.gradient(point)[1]
    assert second is not first and second["x"] != 123.0
    assert second == pytest.approx(circuit.gradient(point)[1], rel=1e-12)
    shuffled = dict(reversed(list(point.items())))  # another order: looked up by name
    assert compiled.gradient(shuffled)[1] == second


def test_a_run_is_not_looped_where_a_link_reads_an_input_another_gate_reads_too(registry):
    c = Composer(registry)
    wires = c.inputs("x", *[f"a{i}" for i in range(20)])
    x = wires[0]
    for i in range(20):
        x = c.tanh(wires[1 + i] * x + wires[1 + (i + 1) % 20])  # each a_i read by two links
    circuit = c.build(x)
    text, _ = gatekit.codegen.generate_source(circuit, dict_call=True)
    point = {name: 0.1 * k - 0.9 for k, name in enumerate(circuit.inputs)}
    compiled = circuit.compile()
    want = circuit.gradient(point)
    for _ in range(3):
        got = compiled.gradient(point)
        assert got[0] == pytest.approx(want[0], rel=1e-12) and got[1] == pytest.approx(want[1], rel=1e-12)
    assert "for _j" not in text  # each link reads an input the next link reads too


HOSTILE_NAMES = ["math", "np", "abs", "print", "exec", "__import__", "d_x", "f", "forward_backward", "unbroadcast",
                 "x", "if_", "True_", "None_", "\u00b5", "\ufb01", "match", "case", "type", "_"]


def _names_in(source: str) -> set[str]:
    tree = ast.parse(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args
    }


def test_hostile_input_names_and_labels_are_renamed_never_emitted(registry):
    c = Composer(registry)
    names = [n for n in HOSTILE_NAMES if n.isidentifier()]
    wires = c.inputs(*names)
    total = wires[0]
    for k, w in enumerate(wires[1:]):
        total = (total * w).named(["exec", "__class__", "math", "d_x", "f", "print", "if"][k % 7])
    circuit = c.build(c.exp(total * 0.01).named("__builtins__"))
    for arrays in (False, True):
        source = circuit.source(arrays)
        used = _names_in(source)
        allowed = {"math", "np", "unbroadcast", "g", "x", "shape", "axes", "k", "n", "float", "tuple", "range",
                   "enumerate", "len"}
        suspicious = {n for n in used if n in dir(builtins) and n not in allowed} | {n for n in used if n.startswith("_")}
        assert suspicious == set(), source
        assert all(n.isascii() for n in used)
    point = {n: 0.5 + 0.01 * k for k, n in enumerate(names)}
    got, want = circuit.compile().gradient(point), circuit.gradient(point)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[1] == pytest.approx(want[1], rel=1e-12)
    # The printed source runs on its own too, with every hostile name renamed.
    out, grads = run_printed(circuit.source(), *point.values())
    assert out == pytest.approx(want[0], rel=1e-12)


@pytest.mark.parametrize("name", ["wrt", "gradient", "gradient_list", "forward", "forward_backward"])
def test_an_input_named_like_the_generated_calls_own_names_is_renamed_in_them(registry, name):
    # The generated calls' parameter ``wrt`` and their function names: an input of that name
    # must not become a local that shadows them (a float handed on as ``wrt``).
    circuit = parse(f"f = {name} * y + y", registry)
    compiled = circuit.compile()
    for _ in range(3):  # the first calls check, then the generated functions run
        assert compiled.gradient({name: 2.0, "y": 3.0}) == (9.0, {name: 3.0, "y": 3.0})
        assert compiled.gradient_list([2.0, 3.0]) == (9.0, [3.0, 3.0])
    for text in (gatekit.codegen.generate_source(circuit, dict_call=True)[0],
                 gatekit.codegen.generate_source(circuit, list_call=True)[0]):
        stored = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assert name not in stored, text  # never a variable of the generated code
    assert compiled.gradient({name: 2.0, "y": 1}) == (3.0, {name: 1.0, "y": 3.0})  # an int: the checked path
    assert compiled.gradient_list([2.0, 1]) == (3.0, [1.0, 3.0])
    assert compiled.gradient({name: 2.0, "y": 3.0}, wrt="y") == (9.0, {"y": 3.0})
    with pytest.raises(gatekit.UnknownNameError, match="'z'"):
        compiled.gradient({name: 2.0, "z": 3.0})


@pytest.mark.parametrize("value", [0.0, -0.0, 1e308, -1e308, 5e-324, -5e-324, 2.2250738585072014e-308,
                                   0.1, 1 / 3, math.pi, 123456789.0, 1.7976931348623157e308])
def test_constants_are_emitted_exactly(registry, value):
    c = Composer(registry)
    x = c.inputs("x")[0]
    circuit = c.build(x * value + value)
    source = circuit.source()
    _, bound = gatekit.codegen.generate_source(circuit)
    assert bound == {}
    namespace: dict = {}
    exec(compile(source, "<printed>", "exec"), namespace)
    out, (grad,) = namespace["forward_backward"](1.0)
    np.testing.assert_equal(out, value * 1.0 + value)
    np.testing.assert_equal(grad, value)
    if value == 0.0:  # -0.0 stays -0.0: 1 / x tells them apart
        assert math.copysign(1.0, circuit.compile().gradient(x=1.0)[1]["x"]) == math.copysign(1.0, value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_constants_no_file_can_hold_are_refused_before_any_code_is_made(registry, value):
    from gatekit import CircuitError, Circuit
    from gatekit.circuit import Node

    c = Composer(registry)
    x = c.inputs("x")[0]
    with pytest.raises(CircuitError, match="finite real number"):
        x * value
    with pytest.raises(CircuitError, match="finite real number"):
        Circuit([Node("input", name="x"), Node("const", value=value), Node("gate", name="mul", args=(0, 1))], 2, registry)


class Hostile(Gate):
    name, arity = "hostile", 1
    doc = "hostile(x) = x"

    def forward(self, x):
        return x

    def backward(self, grad, out, x):
        return (grad,)


@pytest.mark.parametrize("forward", [
    "__import__('os').system('true')", "x.__class__", "open('f')", "eval('1')", "x if 'a' else x", "lambda: x",
    "[x][0]", "math.__dict__", "y", "np.exp(x)", "math.exp(x, base=2)", "(x := 2)",
])
def test_templates_outside_the_vocabulary_are_refused_naming_the_gate(forward):
    gate = Hostile()
    gate.source = Source(forward, ("g",), args=("x",))  # type: ignore[misc]
    registry = plugin_registry(gate)
    circuit = parse("hostile(x)", registry)
    with pytest.raises(GateValidationError, match="gate 'hostile'"):
        circuit.source()


@pytest.mark.parametrize(("text", "module", "ok"), [
    ("g.T @ x", "np", True), ("np.add.reduce(g, 0)", "np", True), ("np.multiply.outer(g, x)", "np", True),
    ("x.T", "math", False),  # a float has no transpose
    ("np.pi.T", "np", False), ("(x + g).T", "np", False), ("x.T(g)", "np", False), ("z.T", "np", False),
    ("np.linalg.norm(x)", "np", False), ("np.add.at(x, 0)", "np", False), ("np.exp.__call__(x)", "np", False),
    ("np.add.reduce(x, axis=0)", "np", False),
])
def test_array_templates_may_transpose_a_name_and_reduce_with_a_ufunc_and_nothing_more(text, module, ok):
    if ok:
        assert check_template(text, ("x", "g", "out"), module, "gate 't'")
    else:
        with pytest.raises(GateValidationError, match="gate 't'"):
            check_template(text, ("x", "g", "out"), module, "gate 't'")


def test_every_built_in_gate_has_templates_for_floats(registry):
    from gatekit_gates import GATES

    for cls in GATES:
        if cls.name == "linear":  # a matrix product has no float case: compiled code calls its methods
            # (the code made for one kind of inputs asks it for templates for the shapes it met)
            assert getattr(cls, "source", None) is None
            continue
        assert cls.source is not None and cls.source.forward and cls.source.backward, cls.name
        assert cls.keeps_floats is True


# -- the CLI -------------------------------------------------------------------------------------
def test_cli_codegen_prints_the_source_and_its_json():
    from cli_helpers import invoke, run_json

    result = invoke("codegen", "q = x + y; f = q * z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == XYZ_SOURCE
    data = run_json("codegen", "q = x + y; f = q * z", "--arrays")
    assert data["arrays"] is True and data["inputs"] == ["x", "y", "z"]
    assert "unbroadcast(z * d_f, q)" in data["source"]


def test_cli_codegen_reads_a_circuit_file(tmp_path):
    from cli_helpers import invoke

    path = tmp_path / "c.json"
    gatekit.save(parse("q = x + y; f = q * z"), path)
    result = invoke("codegen", "--file", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == XYZ_SOURCE


def test_cli_codegen_errors_are_one_line():
    from cli_helpers import assert_error, invoke

    assert_error(invoke("codegen", "x *"), 2, "invalid syntax")
    assert_error(invoke("codegen", "x * y", "x=1"), 2, "no input values")


# -- where circuits run many times ------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["analytic-gradient", "numerical-gradient", "local-search", "adam"])
def test_optimize_compiled_gives_the_interpreters_run(registry, strategy, monkeypatch):
    from gatekit import runs as runs_module

    circuit = parse(NEURON, registry)
    runs = []
    for compile_from in (10**9, 1):  # never compiled, then always
        monkeypatch.setattr(runs_module, "COMPILE_FROM_STEPS", compile_from)
        runs.append(gatekit.optimize(circuit, NEURON_AT, strategy, steps=30, seed=3, registry=registry))
    interpreted, compiled = runs
    assert compiled.best_output == pytest.approx(interpreted.best_output, rel=1e-12)
    assert compiled.best == pytest.approx(interpreted.best, rel=1e-12)
    assert [h.output for h in compiled.history] == pytest.approx([h.output for h in interpreted.history], rel=1e-12)
    assert (compiled.forward_evals, compiled.backward_evals) == (interpreted.forward_evals, interpreted.backward_evals)


def test_a_compiled_run_still_names_the_node_where_it_went_non_finite(registry):
    circuit = parse("f = log(x) * y", registry)
    result = gatekit.optimize(circuit, {"x": 1e-300, "y": 1.0}, "analytic-gradient", steps=20, step_size=1.0,
                              maximize=False, registry=registry)
    assert result.stop_reason == "non-finite"
    assert "log" in (result.stop_detail or ""), result.stop_detail


XYZ_LIST_SOURCE = """\
import math

def gradient_list(_xs, *, wrt=_wrt):
    if wrt is _wrt and (_xs.__class__ is list or _xs.__class__ is tuple) and len(_xs) == 3:
        x, y, z, = _xs
        if (x.__class__ is y.__class__ is z.__class__ is float):
            try:
                q = x + y
                f = q * z
                return f, [z, z, q]
            except Exception:
                pass
    return _careful(_xs, wrt)
"""


def test_the_sequence_call_takes_and_gives_lists_in_the_inputs_order(registry):
    circuit = parse("q = x + y; f = q * z", registry)
    assert gatekit.codegen.generate_source(circuit, list_call=True)[0] == XYZ_LIST_SOURCE
    compiled = circuit.compile()
    want = (-12.0, [-4.0, -4.0, 3.0])
    for xs in ([-2.0, 5.0, -4.0], (-2.0, 5.0, -4.0), [-2, 5, -4], np.array([-2.0, 5.0, -4.0]), [-2.0, np.float64(5.0), -4]):
        for call in (circuit.gradient_list, compiled.gradient_list):
            out, grads = call(xs)
            assert (out, grads) == want and type(out) is float and all(type(g) is float for g in grads)
    assert "gradient_list" in vars(compiled)  # installed once floats are known to stay floats
    batch = [np.array([1.0, 2.0]), 1.0, 2.0]  # arrays too, through the checked path
    out, grads = compiled.gradient_list(batch)
    np.testing.assert_array_equal(out, [4.0, 6.0])
    assert grads[1] == 2.0 + 2.0 and isinstance(grads[1], float)  # a number's gradient summed over the batch
    assert compiled.gradient_list([1.0, 2.0, 0.0]) == circuit.gradient_list([1.0, 2.0, 0.0])


@pytest.mark.parametrize("bad, message", [
    ({"x": 1.0, "y": 2.0, "z": 3.0}, r"got dict; for a dict of values, call gradient\(values\)"),
    ([1.0, 2.0], r"takes 3 value\(s\), one per input in the order of circuit.inputs \(x, y, z\), got 2"),
    (np.zeros(4), r"takes 3 value\(s\).*got 4"),
    (3.0, "takes a sequence of values.*got float"),
    ("xyz", "takes a sequence of values.*got str"),
    ([1.0, "2", 3.0], "input 'y' must be a real number"),
])
def test_a_bad_sequence_is_one_clear_error(registry, bad, message):
    circuit = parse("q = x + y; f = q * z", registry)
    compiled = circuit.compile()
    compiled.gradient_list([1.0, 2.0, 3.0])
    compiled.gradient_list([1.0, 2.0, 3.0])  # the generated call installed: it hands what it cannot take on
    for call in (circuit.gradient_list, compiled.gradient_list):
        with pytest.raises(gatekit.UsageError, match=message):
            call(bad)


def test_the_sequence_call_of_a_long_chain_is_the_loop_with_the_dict_calls_numbers(registry):
    circuit = _chain(registry, "slots", 30)  # 61 inputs: the many-input path, and a loop
    compiled = circuit.compile()
    rng = np.random.default_rng(8)
    point = {name: float(rng.uniform(-1.5, 1.5)) for name in circuit.inputs}
    for _ in range(3):
        out, grads = compiled.gradient_list(list(point.values()))
    assert "for _j in range(" in gatekit.codegen.generate_source(circuit, list_call=True)[0]
    assert (out, grads) == (compiled.gradient(point)[0], list(compiled.gradient(point)[1].values()))
    want_out, want = circuit.gradient(point)
    assert out == pytest.approx(want_out, rel=1e-12) and grads == pytest.approx(list(want.values()), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("tiles", [1, 12])  # 100 numbers (heaviside's form), 1,200 (np.where's)
def test_relus_array_template_gives_the_interpreters_bits_at_kinks_and_non_finite_values(registry, dtype, tiles):
    # relu(x) * y hands relu the upstream gradient y: the template meets every pair of
    # special x (ties at +-0, nan, infinities, subnormals) and special g.
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-310, 2.5, -2.5]
    x, g = (np.tile(np.array(v, dtype=dtype), tiles) for v in zip(*[(a, b) for a in special for b in special]))
    circuit = parse("relu(x) * y", registry)
    compiled = circuit.compile()
    want_out, want = circuit.gradient(x=x, y=g)
    for _ in range(3):  # the interpreter's checking call, then the generated code
        out, got = compiled.gradient(x=x, y=g)
    assert "heaviside" in compiled.source(arrays=True)
    assert out.tobytes() == want_out.tobytes()
    assert got["x"].dtype == want["x"].dtype == dtype
    assert got["x"].tobytes() == want["x"].tobytes()
    # The share itself: 1 above the kink, 1/2 at it (0.0 and -0.0), 0 below and at nan.
    share = compiled.gradient(x=np.array([3.0, 0.0, -0.0, -3.0, np.nan], dtype=dtype), y=np.ones(5, dtype))[1]["x"]
    assert share.tolist() == [1.0, 0.5, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", [((8,), (8,)), ((8, 1), (1, 3))])  # one shape (the lean variant), broadcast (a kind's)
def test_relus_array_template_gives_the_interpreters_very_bits_at_ties_nans_and_infinities(registry, dtype, shapes):
    c = Composer(registry)
    x, w = c.inputs("x", "w")
    circuit = c.build(c.sum(c.relu(x) * w))  # relu's upstream gradient is w
    xs = np.array([-1.0, 0.0, -0.0, np.nan, 2.0, 0.0, -3.0, 1.0], dtype)
    ws = np.array([np.inf, -np.inf, np.nan, 2.0, -0.0, -2.0, -1.5, 0.0], dtype)
    values = {"x": xs.reshape(shapes[0]), "w": ws[:shapes[1][-1]].reshape(shapes[1])}
    want = circuit.gradient(values)[1]
    compiled = circuit.compile()
    for _ in range(3):  # the interpreter's checking call, the call that makes the variant, one that runs it
        got = compiled.gradient(values)[1]
        for name in "xw":
            assert got[name].dtype == want[name].dtype == dtype
            assert got[name].tobytes() == want[name].tobytes(), name
