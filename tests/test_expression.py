"""gatekit.parse: the expression language, its golden figures, and every rejection."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import expression_flat
from helpers import DoublingMul, SECTION6, plugin_registry
from gatekit import (
    ExpressionError,
    Gate,
    check_circuit,
    expression_chains,
    parse,
)

EXACT = 1e-12


def gates_of(circuit: gatekit.Circuit) -> list[str]:
    return [node.name for node in circuit.nodes if node.kind == "gate"]


def labels_of(circuit: gatekit.Circuit) -> list[str]:
    return [node.label for node in circuit.nodes if node.label]


# -- reference-numbers.md, written as expressions --------------------------------------------
POINT3 = {"x": -2.0, "y": 5.0, "z": -4.0}


def test_section3_as_one_expression(registry):
    circuit = parse("(x + y) * z", registry)
    assert circuit.inputs == ("x", "y", "z")
    assert gates_of(circuit) == ["add", "mul"]
    output, grads = circuit.gradient(POINT3)
    assert output == -12.0
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert check_circuit(circuit, POINT3).ok


def test_section3_as_named_stages_labels_q_and_f(registry):
    circuit = parse("q = x + y; f = q * z", registry)
    assert labels_of(circuit) == ["q", "f"]
    trace = circuit.forward(POINT3).backward()
    assert (trace.value("q"), trace.value("f")) == (3.0, -12.0)
    assert trace.grad("q") == -4.0  # df/dq = z
    assert [stage.name for stage in trace.stages()] == ["q", "f"]
    assert trace.input_grads() == {"x": -4.0, "y": -4.0, "z": 3.0}


NEURON_STAGES = """
    mult1 = w0 * x0
    mult2 = w1 * x1
    add1 = mult1 + mult2
    add2 = add1 + w2
    neg = -add2
    exp1 = exp(neg)
    add3 = 1 + exp1
    f = reciprocal(add3)
"""
G = 0.19661193324148188
NEURON_TABLE = [
    ("mult1", -2.0, G), ("mult2", 6.0, G), ("add1", 4.0, G), ("add2", 1.0, G), ("neg", -1.0, -G),
    ("exp1", 0.36787944117144233, -0.534446645388523), ("add3", 1.3678794411714423, -0.534446645388523),
    ("f", 0.7310585786300049, 1.0),
]  # fmt: skip


def test_section4_staged_table_from_an_indented_multiline_expression(registry):
    circuit = parse(NEURON_STAGES, registry)
    assert gates_of(circuit) == ["mul", "mul", "add", "add", "neg", "exp", "add", "reciprocal"]
    point = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    trace = circuit.forward(point).backward()
    got = [(s.name, s.value, s.grad) for s in trace.stages()]
    assert [name for name, _, _ in got] == [name for name, _, _ in NEURON_TABLE]
    for (name, value, grad), (_, want_value, want_grad) in zip(got, NEURON_TABLE):
        assert abs(value - want_value) <= EXACT and abs(grad - want_grad) <= EXACT, name
    grads = trace.input_grads()
    assert abs(grads["x0"] - 0.39322386648296376) <= EXACT
    assert abs(grads["w1"] - -0.39322386648296376) <= EXACT
    assert check_circuit(circuit, point).ok


def test_section5_sigmoid_neuron(registry):
    circuit = parse("sigmoid(a*x + b*y + c)", registry)
    point = {"a": 1.0, "b": 2.0, "c": -3.0, "x": -1.0, "y": 3.0}
    output, grads = circuit.gradient(point)
    assert abs(output - 0.8807970779778823) <= EXACT
    want = {"a": -0.10499358540350662, "b": 0.31498075621051985, "c": 0.10499358540350662,
            "x": 0.10499358540350662, "y": 0.20998717080701323}  # fmt: skip
    assert all(abs(grads[k] - v) <= EXACT for k, v in want.items())
    assert check_circuit(circuit, point).ok


def test_section6_written_as_in_its_source(registry):
    circuit = parse(SECTION6, registry)
    assert circuit.inputs == ("a", "b")
    point = {"a": -4.0, "b": 2.0}
    output, grads = circuit.gradient(point)
    assert abs(output - 24.7041) <= 5e-5
    assert abs(grads["a"] - 138.8338) <= 5e-5
    assert abs(grads["b"] - 645.5773) <= 5e-5
    assert check_circuit(circuit, point).ok
    # each rebinding labels a new node; lookups by name see the latest one
    assert labels_of(circuit).count("c") == 3 and labels_of(circuit).count("d") == 3
    trace = circuit.forward(point)
    assert trace.value("g") == output


# -- stages, names and inputs -----------------------------------------------------------------
def test_a_stage_may_rebind_its_name(registry):
    circuit = parse("c = a + b; c = c + c + 1", registry)
    trace = circuit.forward(a=1.0, b=2.0).backward()
    assert trace.output == 7.0 and trace.value("c") == 7.0
    assert trace.input_grads() == {"a": 2.0, "b": 2.0}
    assert [s.name for s in trace.stages()] == ["c", None, "c"]


def test_augmented_assignment_follows_python(registry):
    # c += e is c = c + (e): the right side is built first, then added to c
    circuit = parse("c = x * 1; c -= 2 * x; c /= 4; c **= 2; c *= y", registry)
    assert gates_of(circuit) == ["mul", "mul", "sub", "div", "pow", "mul"]
    x, y = 3.0, 5.0
    assert circuit(x=x, y=y) == ((x * 1 - 2 * x) / 4) ** 2 * y


def test_inputs_are_free_names_in_order_of_first_appearance(registry):
    circuit = parse("q = z * x\nr = q + y * x\nr - w", registry)
    assert circuit.inputs == ("z", "x", "y", "w")
    assert [n.kind for n in circuit.nodes[:4]] == ["input"] * 4


def test_declared_inputs_fix_the_order_and_keep_unused_ones(registry):
    circuit = parse("y * x", registry, inputs=["x", "y", "unused"])
    assert circuit.inputs == ("x", "y", "unused")
    assert circuit(x=2.0, y=3.0, unused=0.0) == 6.0


def test_gates_and_values_have_separate_names(registry):
    circuit = parse("exp = x + 1; exp(exp)", registry)
    assert circuit.inputs == ("x",)
    assert gates_of(circuit) == ["add", "exp"]


def test_a_renaming_stage_adds_no_node_and_a_dead_stage_is_dropped(registry):
    circuit = parse("q = x + y; r = q; unused = x * 3; r * 2", registry)
    assert gates_of(circuit) == ["add", "mul"]
    assert labels_of(circuit) == ["q"]
    assert circuit.inputs == ("x", "y")


def test_comments_blank_lines_crlf_and_trailing_semicolons(registry):
    circuit = parse("# the product\r\n\r\nq = x * y;  # stage q\r\n  q + 1;", registry)
    assert circuit(x=2.0, y=3.0) == 7.0
    assert labels_of(circuit) == ["q"]


# -- numbers and operators ------------------------------------------------------------------
def test_numbers_and_signs_of_literals(registry):
    circuit = parse("1e-3 * x + -3 * y + 2.5 ** -1", registry)
    consts = [node.value for node in circuit.nodes if node.kind == "const"]
    assert consts == [0.001, -3.0, 2.5, -1.0]
    assert "neg" not in gates_of(circuit)  # -3 is a number, not neg(3)
    assert gates_of(parse("-x", registry)) == ["neg"]
    assert gates_of(parse("- -3 * x", registry)) == ["mul"]
    assert gates_of(parse("+x * 2", registry)) == ["mul"]  # unary plus: the identity


def test_nothing_is_evaluated_not_even_numbers(registry):
    circuit = parse("2 * 3", registry)
    assert gates_of(circuit) == ["mul"] and circuit() == 6.0
    constant = parse("2 ** 10", registry)  # no inputs: a value and no gradients
    assert constant.inputs == () and constant() == 1024.0 and constant.gradient() == (1024.0, {})


def test_parse_never_runs_a_gate():
    class Loud(Gate):
        name, arity = "loud", 1
        doc = "loud(x) = x, but forward raises"

        def forward(self, x):
            raise AssertionError("forward ran while parsing")

        def backward(self, grad, out, x):
            raise AssertionError("backward ran while parsing")

    circuit = parse("loud(x) * 2", plugin_registry(Loud()))
    assert gates_of(circuit) == ["loud", "mul"]


@pytest.mark.parametrize("gate_name", ["add", "sub", "mul", "div", "neg", "reciprocal", "pow", "max", "min",
                                       "exp", "log", "sigmoid", "tanh", "relu", "abs"])  # fmt: skip
def test_every_registered_gate_is_callable_by_name(registry, gate_name):
    gate = registry.gate(gate_name)
    names = [f"x{k}" for k in range(gate.arity)]
    circuit = parse(f"{gate_name}({', '.join(names)})", registry)
    assert gates_of(circuit) == [gate_name]
    point = {name: 0.5 + k for k, name in enumerate(names)}
    assert circuit(point) == gate.forward(*point.values())


def test_a_plugin_overriding_mul_changes_what_star_means():
    registry = plugin_registry(DoublingMul(), override=True)
    circuit = parse("x * y", registry)
    assert circuit(x=3.0, y=4.0) == 24.0
    assert circuit.gradient(x=3.0, y=4.0)[1] == {"x": 8.0, "y": 6.0}
    assert parse("x * y", gatekit.load_registry(env={}, entry_points=()))(x=3.0, y=4.0) == 12.0


def test_a_plugin_overriding_neg_changes_unary_minus_but_not_negative_numbers():
    class LoudNeg(Gate):
        name, arity, symbol = "neg", 1, "-"
        doc = "neg(x) = -10 * x (a test override)"

        def forward(self, x):
            return -10 * x

        def backward(self, grad, out, x):
            return (-10 * grad,)

    circuit = parse("-x + -3", plugin_registry(LoudNeg(), override=True))
    assert gates_of(circuit) == ["neg", "add"]
    assert circuit(x=2.0) == -23.0


# -- rejections ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, message, line, column",
    [
        ("x + a.b", "attribute access", 1, 5),
        ("x * y[0]", "subscripts", 1, 5),
        ("x + 'two'", "strings are not allowed", 1, 5),
        ("f = lambda t: t", "lambdas", 1, 5),
        ("max(x < y, 1)", "comparisons", 1, 5),
        ("max(x, y=1)", "keyword arguments", 1, 8),
        ("exp(**k)", "**kwargs", 1, 5),
        ("max(*xs)", "starred arguments", 1, 5),
        ("[t for t in x]", "comprehensions", 1, 1),
        ("relu(t for t in x)", "generator expressions", 1, 5),
        ("import os", "imports", 1, 1),
        ("from os import path", "imports", 1, 1),
        ("x + f'{y}'", "f-strings", 1, 5),
        ("x and y", "boolean operators", 1, 1),
        ("not x", "'not'", 1, 1),
        ("q = (y := 2) * x", "assignment expressions", 1, 6),
        ("x if y else 2", "conditional expressions", 1, 1),
        ("x, y", "tuples", 1, 1),
        ("[x]", "lists", 1, 1),
        ("{x: 1}", "dicts", 1, 1),
        ("x + True", "the constant True", 1, 5),
        ("None", "the constant None", 1, 1),
        ("2j * x", "the constant 2j", 1, 1),
        ("def f(): pass", "function definitions", 1, 1),
        ("if x: y", "if statements", 1, 1),
        ("for t in x: t", "loops", 1, 1),
        ("x: float = 1", "annotations", 1, 1),
        ("del x", "'del'", 1, 1),
        ("x.y = 1", "one plain name", 1, 1),
        ("a, b = x, y", "one plain name", 1, 1),
        ("a = b = x", "chained assignment", 1, 5),
        ("x % 2", "the binary operator '%' is not supported", 1, 3),
        ("x // 2", "the binary operator '//' is not supported", 1, 3),
        ("q = (x\n  ^ 2)", "for a power, write x ** 2", 2, 3),
        ("~x", "unary operator '~'", 1, 1),
        ("x @ y", "binary operator '@'", 1, 3),
        ("c += 1", "'c' has no value yet", 1, 1),
        ("y = x + 1; x = 2", "cannot assign 'x': it is an input (first read at line 1, column 5)", 1, 12),
        ("x + 1; y * 2", "only the last statement may be a bare expression", 1, 1),
        ("q = x + y; q(2)", "'q' is a value here", 1, 12),
        ("(lambda: 1)()", "only registered gates can be called", 1, 2),
        ("x +* 2", "invalid syntax", 1, 4),
        ("1e999 * x", "too large for a float", 1, 1),
        ("x * 1" + "0" * 5000, "too large for a float", 1, None),
        ("αβ + γ.x", "attribute access", 1, 6),  # columns count characters, not bytes
        ("\n    a = 1\n      b = a.c", "attribute access", 3, 11),  # indentation counts
    ],
)
def test_rejected_with_a_clear_message_and_position(registry, text, message, line, column):
    with pytest.raises(ExpressionError) as info:
        parse(text, registry)
    error = info.value
    assert message in str(error)
    assert (error.line, error.column) == (line, column)
    assert isinstance(error, gatekit.UsageError)


def test_unknown_gate_says_did_you_mean(registry):
    with pytest.raises(ExpressionError, match=r"unknown gate 'sigmod'; did you mean 'sigmoid'\?") as info:
        parse("y = 2 * sigmod(x)", registry)
    assert (info.value.line, info.value.column) == (1, 9)


def test_wrong_argument_count_names_the_gate_and_its_arity(registry):
    with pytest.raises(ExpressionError, match=r"gate 'max' takes 2 argument\(s\), got 3") as info:
        parse("max(x, y, z)", registry)
    assert info.value.column == 1
    with pytest.raises(ExpressionError, match=r"gate 'exp' takes 1 argument\(s\), got 0"):
        parse("exp()", registry)


def test_declared_inputs_make_other_free_names_errors(registry):
    with pytest.raises(ExpressionError, match=r"unknown name 'xx'.*did you mean 'x'\?") as info:
        parse("q = x + 1; q * xx", registry, inputs=["x", "y"])
    assert (info.value.line, info.value.column) == (1, 16)
    with pytest.raises(ExpressionError, match="it is an input \\(declared in inputs=\\)"):
        parse("x = 1; x", registry, inputs=["x"])
    with pytest.raises(ExpressionError, match="duplicate input name 'x'"):
        parse("x", registry, inputs=["x", "x"])


@pytest.mark.parametrize("text", ["", "   \n\n", "# nothing but a comment"])
def test_an_empty_expression_is_an_error(registry, text):
    with pytest.raises(ExpressionError, match="the expression is empty"):
        parse(text, registry)


def test_a_non_string_is_an_error(registry):
    with pytest.raises(ExpressionError, match="must be a string, got bytes"):
        parse(b"x + y", registry)  # type: ignore[arg-type]


def test_null_bytes_are_an_error_not_a_crash(registry):
    with pytest.raises(ExpressionError, match="null bytes"):
        parse("x\x00 + y", registry)


# -- size and depth ---------------------------------------------------------------------------
def test_a_flat_sum_of_10000_terms_parses(registry):
    circuit = parse(" + ".join(["x"] * 10_000), registry)
    assert gates_of(circuit) == ["add"] * 9_999
    output, grads = circuit.gradient(x=1.5)
    assert output == 15_000.0 and grads == {"x": 10_000.0}


def test_long_chains_at_every_level_and_inside_calls(registry):
    product = " * ".join(["x"] * 3_000)
    differences = " - ".join(["y"] * 3_000)
    circuit = parse(f"q = relu({product}) + max({differences}, 0)\nq / 2", registry)
    assert circuit(x=1.0, y=-1.0) == (1.0 + 2_998.0) / 2


def test_too_deep_for_the_parser_is_a_clear_error(registry):
    with pytest.raises(ExpressionError, match="too many nested parentheses") as info:
        parse("(" * 300 + "x" + ")" * 300, registry)
    assert info.value.line == 1
    for text in ["-" * 20_000 + "x", "x" + " ** x" * 5_000]:  # beyond every parser limit of 3.10-3.13
        with pytest.raises(ExpressionError, match="nested too deeply"):
            parse(text, registry)


def test_positions_point_into_the_users_text_after_flattening(registry):
    text = "q = " + " + ".join(["x"] * 40) + " + (a.b) + x"
    with pytest.raises(ExpressionError, match="attribute access") as info:
        parse(text, registry)
    assert (info.value.line, info.value.column) == (1, text.index("a.b") + 1)
    text = "  f = " + " * ".join(["x"] * 40) + " % y"
    with pytest.raises(ExpressionError, match="operator '%'") as info:
        parse(text, registry)
    assert (info.value.line, info.value.column) == (1, text.index("%") + 1)


# Random expressions: flattening (threshold 1, every chain) and plain ast (never)
# must build identical circuits, node for node.
_atoms = st.sampled_from(["a", "b", "c", "2", "0.5", "1e-3"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children).map(" ".join)
    unary = children.map(lambda t: f"-{t}")
    call = st.tuples(st.sampled_from(["max", "min"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})")
    chain = st.lists(children, min_size=2, max_size=6).map(" + ".join)
    return st.one_of(binary, unary, call, chain, children.map(lambda t: f"({t})"), children.map(lambda t: f"relu({t})"))


@settings(max_examples=150, deadline=None)
@given(st.recursive(_atoms, _combine, max_leaves=24), st.sampled_from(["", "s = ", "s = a; s += "]))
def test_flattening_builds_the_same_circuit_as_plain_ast(expression, prefix):
    registry = gatekit.default_registry()
    text = prefix + expression
    with mock.patch.object(expression_chains, "CHAIN_THRESHOLD", 1):
        flat = parse(text, registry)
    with mock.patch.object(expression_chains, "CHAIN_THRESHOLD", 10**9):
        plain = parse(text, registry)
    assert flat.nodes == plain.nodes and flat.output == plain.output


# -- the flat-chain fast path (gatekit.expression_flat) ----------------------------------------
def test_a_flat_sum_of_100000_terms_parses_and_its_gradient_is_right(registry):
    circuit = parse(" + ".join(["x"] * 50_000 + ["y"] * 50_000), registry)
    assert len(circuit.steps) == 99_999 and circuit.inputs == ("x", "y")
    output, grads = circuit.gradient(x=1.5, y=-2.0)
    assert output == 50_000 * 1.5 - 100_000.0 and grads == {"x": 50_000.0, "y": 50_000.0}
    assert check_circuit(circuit, {"x": 0.5, "y": 0.25}).ok  # against central differences


_flat_atoms = st.sampled_from(["a", "b", "c", "x_1", "2", "0.5", "1e-3", "1.", ".5", "10", "1e999", "if", "None"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["+", "-", "*", "/"]), _flat_atoms), min_size=1, max_size=12),
       _flat_atoms, st.sampled_from([None, ("a", "b", "c", "x_1")]))
def test_the_flat_chain_path_builds_what_the_general_reader_builds(terms, first, inputs):
    registry = gatekit.default_registry()
    text = first + "".join(f" {symbol} {atom}" for symbol, atom in terms)

    def outcome(threshold: int) -> object:
        with mock.patch.object(expression_flat, "FLAT_MIN_OPERATORS", threshold):
            try:
                circuit = parse(text, registry, inputs=inputs)
            except ExpressionError as exc:
                return str(exc), exc.line, exc.column
            return circuit.nodes, circuit.output, circuit.inputs

    assert outcome(0) == outcome(10**9)


def test_a_long_chain_the_fast_path_cannot_take_gets_the_general_error(registry):
    text = " + ".join(["x"] * 100) + " + 1e999"
    with pytest.raises(ExpressionError, match="too large for a float") as info:
        parse(text, registry)
    assert info.value.column == text.index("1e999") + 1
    text = " * ".join(["x"] * 100) + " * y"
    with pytest.raises(ExpressionError, match="unknown name 'y'") as info:
        parse(text, registry, inputs=["x"])
    assert info.value.column == text.index("y") + 1


def test_a_10000_term_chain_is_the_same_circuit_from_both_readers(registry):
    # The flat reader (gatekit.expression_flat) and the general one (tokenizer + ast)
    # must agree node for node, constants, spacing and tabs included.
    terms = [("x", "y", "2", "0.5", "x_1")[k % 5] for k in range(10_000)]
    text = "\t " + "".join(f"{t} {'+-'[k % 3 == 0]}\t" for k, t in enumerate(terms[:-1])) + terms[-1] + "  "
    flat = parse(text, registry)
    with mock.patch.object(expression_flat, "FLAT_MIN_OPERATORS", 10**9):
        general = parse(text, registry)
    assert flat.nodes == general.nodes and flat.output == general.output and flat.inputs == ("x", "y", "x_1")
    assert flat.gradient(x=1.0, y=2.0, x_1=3.0) == general.gradient(x=1.0, y=2.0, x_1=3.0)


@pytest.mark.parametrize("text, message", [
    (" + ".join(["x"] * 100) + " y", "invalid syntax"),  # two operands in a row
    ("+ " + " + ".join(["x"] * 100), None),  # a leading sign: unary plus, fine for the general reader
    (" + ".join(["x"] * 100) + " +", "invalid syntax"),
    (" + ".join(["x"] * 100) + " + 2x", "invalid syntax"),
    (" + ".join(["x"] * 100) + " ! x", "invalid syntax"),
])
def test_a_long_chain_that_is_not_flat_after_all_goes_the_general_way(registry, text, message):
    if message is None:
        assert parse(text, registry)(x=1.0) == 100.0
        return
    with pytest.raises(ExpressionError, match=message):
        parse(text, registry)
