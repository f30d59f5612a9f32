"""Trace: every value and gradient of a run, by stage, as data or as a table."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from gatekit import Composer, Gate, UnknownNameError, UsageError


@pytest.fixture
def staged(registry):
    """The recursive case with named stages: q = x + y, f = q * z."""
    c = Composer(registry)
    x, y, z = c.inputs("x", "y", "z")
    q = (x + y).named("q")
    return c.build((q * z).named("f"))


POINT = {"x": -2.0, "y": 5.0, "z": -4.0}


def test_stages_are_the_gate_nodes_in_order_with_values_and_gradients(staged):
    trace = staged.forward(POINT).backward()
    stages = trace.stages()
    assert [(s.name, s.kind, s.gate, s.value, s.grad) for s in stages] == [
        ("q", "gate", "add", 3.0, -4.0),
        ("f", "gate", "mul", -12.0, 1.0),
    ]
    assert [staged.node_name(a) for a in stages[1].args] == ["q", "z"]


def test_stages_can_include_the_inputs(staged):
    stages = staged.forward(POINT).backward().stages(include_inputs=True)
    assert [(s.name, s.value, s.grad) for s in stages[:3]] == [("x", -2.0, -4.0), ("y", 5.0, -4.0), ("z", -4.0, 3.0)]
    assert all(s.kind == "input" for s in stages[:3])


def test_before_backward_stages_have_no_gradients(staged):
    trace = staged.forward(POINT)
    assert trace.grads is None
    assert [s.grad for s in trace.stages()] == [None, None]
    assert trace.table().splitlines()[1].split() == ["x", "input", "-2.0"]


def test_grad_runs_backward_when_needed(staged):
    trace = staged.forward(POINT)
    assert trace.grad("q") == -4.0
    assert trace.input_grads() == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_values_and_gradients_by_label_input_name_or_id(staged):
    trace = staged.forward(POINT).backward()
    assert trace.value("q") == trace.value(staged.find("q")) == 3.0
    assert trace.value("z") == -4.0
    assert trace.grad(staged.output) == 1.0
    assert trace.inputs() == POINT
    with pytest.raises(UnknownNameError, match="did you mean 'q'"):
        trace.value("qq")
    with pytest.raises(UsageError, match="node 99 does not exist"):
        trace.grad(99)


def test_a_rebound_label_finds_the_latest_node(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    s = (x + 1).named("s")
    s = (s * 3).named("s")
    trace = c.build(s).forward(x=1.0)
    assert trace.value("s") == 6.0


def test_table_lists_every_input_and_stage_with_gate_value_and_gradient(staged):
    table = staged.forward(POINT).backward().table()
    rows = [line.split() for line in table.splitlines()]
    assert rows == [
        ["stage", "gate", "value", "gradient"],
        ["x", "input", "-2.0", "-4.0"],
        ["y", "input", "5.0", "-4.0"],
        ["z", "input", "-4.0", "3.0"],
        ["q", "add(x,", "y)", "3.0", "-4.0"],
        ["f", "mul(q,", "z)", "-12.0", "1.0"],
    ]


def test_table_names_unlabelled_stages_by_position_and_constants_by_value(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.exp(x * 2))
    rows = [line.split() for line in circuit.forward(x=0.0).backward().table().splitlines()]
    assert rows[2][:3] == ["#2", "mul(x,", "2)"]
    assert rows[3][:2] == ["#3", "exp(#2)"]


def test_table_shows_array_shapes(staged):
    table = staged.forward(x=np.zeros(3), y=1.0, z=np.ones((2, 1))).backward().table()
    assert "array(3,)" in table and "array(2, 3)" in table and "array(2, 1)" in table


def test_scalar_results_are_floats_even_from_gates_that_return_0d_arrays(registry):
    class Twice(Gate):
        name, arity = "twice", 1
        doc = "twice(x) = 2 * x, as a 0-d array (as np.where gives for scalars)"

        def forward(self, x):
            return np.asarray(2.0 * x)

        def backward(self, grad, out, x):
            return (np.asarray(2.0 * grad),)

    registry.add_gate(Twice(), "test")
    c = Composer(registry)
    (x,) = c.inputs("x")
    trace = c.build(c.twice(c.twice(x))).forward(x=1.5).backward()
    values = [trace.output, trace.grad("x"), trace.value(1)] + [s.value for s in trace.stages()]
    assert all(isinstance(v, float) for v in values), [type(v) for v in values]
    assert trace.output == 6.0 and trace.grad("x") == 4.0
    assert isinstance(trace.input_grads()["x"], float)


def test_first_nonfinite_is_none_for_a_finite_run_and_the_first_bad_node_otherwise(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    lg = c.log(x).named("lg")
    circuit = c.build(c.exp(lg * -1).named("e"))
    assert circuit.forward(x=2.0).first_nonfinite() is None
    problem = circuit.forward(x=0.0).first_nonfinite()  # log(0) = -inf, then exp(inf) = inf
    assert problem.node == circuit.find("lg")
    assert problem.message == "node 1 ('lg'): log(x=0.0) gave -inf (gate 'log' from plugin 'gatekit_gates')"


# -- first_nonfinite on other array libraries: checked in their namespace -----------------
def _log_circuit(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(c.log(x / y).named("f"))


ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
Y = [1.0, 0.0, 3.0]  # broadcast over the rows: x / y is first inf at (0, 1)


def test_first_nonfinite_on_array_api_strict_says_what_numpy_says(registry):
    xp = pytest.importorskip("array_api_strict")
    circuit = _log_circuit(registry)
    want = circuit.forward(x=np.array(ROWS), y=np.array(Y)).first_nonfinite()
    assert want is not None and "div(x=2.0, y=0.0) gave inf at index (0, 1)" in want.message, want
    got = circuit.forward(x=xp.asarray(ROWS), y=xp.asarray(Y)).first_nonfinite()
    assert got == want
    assert circuit.forward(x=xp.asarray([[1.0, 2.0]]), y=2.0).first_nonfinite() is None


# dask computes the division when asked, outside the engine's np.errstate: numpy warns then.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_first_nonfinite_on_dask_never_converts_an_array_and_checks_every_node_in_one_pass(registry, monkeypatch):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from dask.callbacks import Callback

    circuit = _log_circuit(registry)
    want = circuit.forward(x=np.array(ROWS), y=np.array(Y)).first_nonfinite()

    def converted(self, *args, **kwargs):
        raise AssertionError("a dask array was converted to numpy")

    monkeypatch.setattr(da.Array, "__array__", converted)
    computes = []

    class Count(Callback):
        def _start(self, dsk):
            computes.append(len(dsk))

    finite = circuit.forward(x=da.from_array(np.array(ROWS) + 1.0, chunks=(1, 2)), y=da.ones(3, chunks=2))
    with Count():
        assert finite.first_nonfinite() is None
    assert len(computes) == 1  # every node's check in one pass, not one graph a node
    x, y = da.from_array(np.array(ROWS), chunks=(1, 2)), da.from_array(np.array(Y), chunks=2)
    trace = circuit.forward(x=x, y=y)
    assert isinstance(trace.output, da.Array)  # without check_finite nothing is computed
    assert trace.first_nonfinite() == want
    with pytest.raises(gatekit.NonFiniteError, match=r"div\(x=2\.0, y=0\.0\) gave inf at index \(0, 1\)"):
        circuit.forward(x=x, y=y, check_finite=True)
    assert dask.is_dask_collection(trace.output)
