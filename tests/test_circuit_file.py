"""Circuit files: exact round trips, hand-written files, and every validation error."""

from __future__ import annotations

import copy
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from helpers import SECTION6
from gatekit import CircuitError, CircuitFileError, Composer, load, parse, save
from gatekit.circuit_file import circuit_from_dict, circuit_to_dict
from gatekit.circuit_file import dumps, loads

HAND_WRITTEN = """{
  "format": "gatekit-circuit",
  "version": 1,
  "description": "reference-numbers.md section 3",
  "inputs": [
    {"name": "x", "default": -2},
    {"name": "y", "default": 5.0},
    "z"
  ],
  "nodes": [
    {"id": "q", "gate": "add", "args": ["x", "y"]},
    {"id": "f", "gate": "mul", "args": ["q", "z"]}
  ],
  "output": "f"
}
"""


def same_circuit(a: gatekit.Circuit, b: gatekit.Circuit) -> None:
    assert a.nodes == b.nodes
    assert a.output == b.output and a.inputs == b.inputs and a.defaults == b.defaults
    for x, y in zip(a.nodes, b.nodes):  # == on floats would let 0.0 and -0.0 pass
        if x.kind == "const":
            assert math.copysign(1.0, x.value) == math.copysign(1.0, y.value)


def same_results(a: gatekit.Circuit, b: gatekit.Circuit, point: dict[str, float]) -> None:
    ta, tb = a.forward(point).backward(), b.forward(point).backward()
    assert ta.output == tb.output
    assert ta.input_grads() == tb.input_grads()


# -- round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    [SECTION6, "(x + y) * z", "q = x + y; f = q * z", "c = a + b; c = c + c + 1", "x * 2 + y",
     "q = x * 2; f = y + z; g = f * 2", "sigmoid(a*x + b*y + c)", "max(x, -0.0) + min(x, 0.0)", "x", "3.5",
     "2 ** 10", "q = x; q * q"],
)  # fmt: skip
def test_expression_to_file_to_circuit_is_identical(registry, tmp_path, expression):
    circuit = parse(expression, registry)
    path = tmp_path / "circuit.json"
    save(circuit, path)
    loaded = load(path, registry)
    same_circuit(circuit, loaded)
    point = {name: 0.25 + k for k, name in enumerate(circuit.inputs)}
    same_results(circuit, loaded, point)


def test_section6_survives_the_round_trip_with_its_golden_figures(registry, tmp_path):
    path = tmp_path / "section6.json"
    save(parse(SECTION6, registry), str(path))
    circuit = load(str(path), registry)
    output, grads = circuit.gradient(a=-4.0, b=2.0)
    assert abs(output - 24.7041) <= 5e-5
    assert abs(grads["a"] - 138.8338) <= 5e-5 and abs(grads["b"] - 645.5773) <= 5e-5
    assert gatekit.check_circuit(circuit, {"a": -4.0, "b": 2.0}).ok


def test_saved_files_are_readable_one_entry_per_line(registry):
    text = dumps(parse("q = x + y; f = q * 2", registry))
    assert '    {"id": "q", "gate": "add", "args": ["x", "y"]},' in text.splitlines()
    assert '    {"id": "f", "gate": "mul", "args": ["q", 2.0]}' in text.splitlines()
    assert json.loads(text)["output"] == "f"


def test_rebound_and_unlabelled_stages_get_unique_ids_and_keep_their_labels(registry):
    circuit = parse("c = a + b; c = c + c + 1", registry)
    data = circuit_to_dict(circuit)
    ids = [node["id"] for node in data["nodes"]]
    assert len(set(ids)) == len(ids)
    assert [node.get("label", "(id)") for node in data["nodes"]] == ["(id)", "(id)", "c"]
    assert ids[1].startswith("#")  # anonymous: shown by position
    same_circuit(circuit, circuit_from_dict(data, registry))


def test_open_files_text_and_binary(registry):
    circuit = parse("q = x + y; q * z", registry)
    text_file = io.StringIO()
    save(circuit, text_file)
    same_circuit(circuit, load(io.StringIO(text_file.getvalue()), registry))
    binary = io.BytesIO()
    save(circuit, binary)
    same_circuit(circuit, load(io.BytesIO(binary.getvalue()), registry))


def test_a_composer_circuit_with_defaults_round_trips(registry, tmp_path):
    c = Composer(registry)
    w, x, b = c.inputs("w", "x", "b")
    circuit = c.build(c.tanh(w * x + b) * 0.1, defaults={"w": 0.1, "b": 1 / 3})
    path = tmp_path / "neuron.json"
    save(circuit, path)
    loaded = load(path, registry)
    assert loaded.defaults == {"w": 0.1, "b": 1 / 3}
    same_circuit(circuit, loaded)
    same_results(circuit, loaded, {"x": 0.7})


def test_awkward_labels_round_trip(registry):
    # a label equal to an input name, one that looks anonymous, and a repeated one
    c = Composer(registry)
    (x,) = c.inputs("x")
    a = (x + 1).named("x")
    b = (a * 2).named("#1")
    d = (b - a).named("s")
    circuit = c.build((d * d).named("s"))
    data = circuit_to_dict(circuit)
    assert len({node["id"] for node in data["nodes"]} | {"x"}) == len(data["nodes"]) + 1
    same_circuit(circuit, circuit_from_dict(data, registry))


_finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(default=_finite, constant=_finite)
def test_floats_round_trip_bit_for_bit(default, constant):
    registry = gatekit.default_registry()
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(x * constant, defaults={"x": default})
    loaded = loads(dumps(circuit), registry)
    assert loaded.defaults["x"].hex() == default.hex()
    [const] = [n.value for n in loaded.nodes if n.kind == "const"]
    assert const.hex() == float(constant).hex()


# -- hand-written files ---------------------------------------------------------------------
def test_a_hand_written_file_loads_with_defaults_and_labels(registry):
    circuit = loads(HAND_WRITTEN, registry)
    assert circuit.inputs == ("x", "y", "z") and circuit.defaults == {"x": -2.0, "y": 5.0}
    trace = circuit.forward(z=-4.0).backward()
    assert (trace.value("q"), trace.output) == (3.0, -12.0)
    assert trace.input_grads() == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_conveniences_for_people_writing_files(registry):
    data = {
        "format": "gatekit-circuit", "version": 1, "inputs": ["x"],
        "nodes": [
            {"id": "#tmp", "gate": "mul", "args": ["x", 3]},
            {"id": "shown", "gate": "add", "args": ["#tmp", 1], "label": "total"},
            {"id": "last", "gate": "relu", "args": ["shown"], "label": None},
        ],
    }  # fmt: skip
    circuit = circuit_from_dict(data, registry)  # no "output": the last node
    assert [n.label for n in circuit.nodes if n.kind == "gate"] == [None, "total", None]
    assert circuit(x=2.0) == 7.0
    assert circuit_from_dict({**data, "output": "x"}, registry)(x=2.0) == 2.0
    assert circuit_from_dict({**data, "output": 4}, registry)(x=2.0) == 4.0


def test_a_plugin_gate_loads_with_the_registry_that_has_it(registry):
    class Cube(gatekit.Gate):
        name, arity = "cube", 1
        doc = "cube(x) = x ** 3"

        def forward(self, x):
            return x**3

        def backward(self, grad, out, x):
            return (3 * grad * x**2,)

    registry.add_gate(Cube(), plugin="test")
    text = dumps(parse("cube(x) + 1", registry))
    assert loads(text, registry)(x=2.0) == 9.0
    with pytest.raises(CircuitFileError, match=r"nodes\[0\]\.gate: unknown gate 'cube'"):
        loads(text, gatekit.load_registry(env={}, entry_points=()))


# -- validation --------------------------------------------------------------------------------
BASE = json.loads(HAND_WRITTEN)


def edited(edit) -> dict:
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def _set(path: list, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _delete(path: list):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


@pytest.mark.parametrize(
    "edit, path, message",
    [
        (_set(["nodes", 1, "gate"], "mull"), "nodes[1].gate", "unknown gate 'mull'; did you mean 'mul'?"),
        (_set(["nodes", 0, "args", 1], "f"), "nodes[0].args[1]", "node 'f', defined later (nodes[1])"),
        (_set(["nodes", 1, "args", 0], "f"), "nodes[1].args[0]", "refers to itself (a cycle)"),
        (_set(["nodes", 1, "args", 1], "w"), "nodes[1].args[1]", "'w' is not an input or a node id"),
        (_set(["nodes", 1, "args", 1], "zz"), "nodes[1].args[1]", "did you mean 'z'?"),
        (_set(["nodes", 0, "args"], ["x"]), "nodes[0].args", "gate 'add' takes 2 argument(s), got 1"),
        (_set(["nodes", 0, "args"], "x, y"), "nodes[0].args", "expected a list of arguments, got a string"),
        (_set(["nodes", 0, "args", 0], True), "nodes[0].args[0]", "got a boolean"),
        (_set(["nodes", 0, "args", 0], None), "nodes[0].args[0]", "got null"),
        (_set(["nodes", 0, "args", 0], [1]), "nodes[0].args[0]", "got a list"),
        (_set(["nodes", 0, "id"], 7), "nodes[0].id", "a node id must be a non-empty string"),
        (_set(["nodes", 0, "id"], "x"), "nodes[0].id", "node id 'x' is already an input name"),
        (_set(["nodes", 1, "id"], "q"), "nodes[1].id", "duplicate node id 'q' (also nodes[0])"),
        (_set(["nodes", 0, "gate"], 3), "nodes[0].gate", "a gate name must be a string, got a number"),
        (_set(["nodes", 0, "label"], 3), "nodes[0].label", "a label must be a string or null"),
        (_set(["nodes", 0, "lable"], "q"), "nodes[0].lable", "unknown key 'lable'; did you mean 'label'?"),
        (_delete(["nodes", 1, "gate"]), "nodes[1]", "missing key 'gate'"),
        (_set(["nodes", 0], ["add", "x", "y"]), "nodes[0]", "a node is an object"),
        (_set(["nodes"], {}), "nodes", "expected a list, got an object"),
        (_set(["inputs", 1, "name"], "x"), "inputs[1].name", "duplicate input name 'x' (also inputs[0])"),
        (_set(["inputs", 2], "y"), "inputs[2]", "duplicate input name 'y'"),
        (_set(["inputs", 0, "name"], "two words"), "inputs[0].name", "must be an identifier"),
        (_set(["inputs", 0, "name"], []), "inputs[0].name", "must be an identifier"),
        (_set(["inputs", 0, "default"], "1"), "inputs[0].default", "must be a number, got a string"),
        (_delete(["inputs", 0, "name"]), "inputs[0]", "missing key 'name'"),
        (_set(["inputs", 0], 3), "inputs[0]", "an input is an object"),
        (_set(["inputs"], "x y z"), "inputs", "expected a list, got a string"),
        (_set(["output"], "nope"), "output", "'nope' is not an input or a node id"),
        (_set(["output"], False), "output", "got a boolean"),
        (_set(["ouput"], "f"), "ouput", "unknown key 'ouput'; did you mean 'output'"),
        (_set(["format"], "gatekit"), "format", "expected 'gatekit-circuit'"),
        (_delete(["format"]), "", "missing key 'format'"),
        (_set(["version"], 2), "version", "unsupported version 2; this gatekit reads version 1"),
        (_set(["version"], "1"), "version", "expected the number 1, got a string"),
        (_set(["description"], 1), "description", "expected a string"),
    ],
)
def test_validation_errors_name_the_json_path(registry, edit, path, message):
    with pytest.raises(CircuitFileError) as info:
        circuit_from_dict(edited(edit), registry, source="c.json")
    error = info.value
    assert error.path == path and error.source == "c.json"
    assert str(error).startswith(f"c.json: {path}: " if path else "c.json: ")
    assert message in str(error)


@pytest.mark.parametrize(
    "text, path, message",
    [
        (HAND_WRITTEN.replace('"default": -2', '"default": NaN'), "inputs[0].default", "must be a number, got NaN"),
        (HAND_WRITTEN.replace('"y"]', "-Infinity]"), "nodes[0].args[1]", "got -Infinity"),
        (HAND_WRITTEN.replace('"default": -2', '"default": 1e999'), "inputs[0].default", "must be a finite number"),
        ("[1, 2]", "", "holds one JSON object, got a list"),
    ],
)
def test_numbers_json_cannot_hold_and_wrong_roots(registry, text, path, message):
    with pytest.raises(CircuitFileError) as info:
        loads(text, registry, source="c.json")
    assert info.value.path == path and message in str(info.value)


def test_invalid_json_gives_line_and_column(registry, tmp_path):
    path = tmp_path / "broken.json"
    text = HAND_WRITTEN.replace('"output": "f"', '"output": f')  # an unquoted name
    path.write_text(text, encoding="utf-8")
    line = next(k for k, row in enumerate(text.splitlines(), 1) if '"output"' in row)
    column = text.splitlines()[line - 1].index("f") + 1
    with pytest.raises(CircuitFileError, match=rf"broken\.json: invalid JSON at line {line}, column {column}: "):
        load(path, registry)
    with pytest.raises(CircuitFileError, match="nested too deeply"):
        loads("[" * 100_000, registry)


def test_unreadable_files(registry, tmp_path):
    with pytest.raises(CircuitFileError, match="no such circuit file: .*missing.json"):
        load(tmp_path / "missing.json", registry)
    with pytest.raises(CircuitFileError, match="is a directory"):
        load(tmp_path, registry)
    (tmp_path / "latin1.json").write_bytes('{"format": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(CircuitFileError, match="not UTF-8"):
        load(tmp_path / "latin1.json", registry)


def test_saving_what_json_cannot_hold_is_an_error(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    # One set of value rules: a constant no file can hold is refused when it is built.
    with pytest.raises(CircuitError, match="must be a finite real number"):
        x * math.inf
    with pytest.raises(CircuitFileError, match="only single numbers can be saved"):
        dumps(c.build(x * 2, defaults={"x": np.array([1.0, 2.0])}))
