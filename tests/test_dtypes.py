"""The dtype rule (gatekit/values.py), and one clear error for what would lose meaning."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
import gatekit_gates
from gatekit import UsageError
from gatekit.check import _one_gate_circuit, sample_point

#: The built-in gates (a plugin installed where the suite runs may bring others: not ours to hold to this).
GATES = sorted(cls.name for cls in gatekit_gates.GATES)


@pytest.mark.parametrize("tier", ["interpreted", "compiled"])
@pytest.mark.parametrize("name", GATES)
def test_float32_in_float32_out_through_every_built_in_gate_in_both_tiers(name, tier):
    gate = gatekit.default_registry().gate(name)
    circuit = _one_gate_circuit(gate, "gatekit_gates")
    xs = {n: np.asarray(x, dtype=np.float32) for n, x in zip(circuit.inputs, sample_point(
        gate, np.random.default_rng(4), gate.domain.shapes[1] if gate.domain.shapes else ((7,),) * gate.arity))}
    run = circuit.compile().gradient if tier == "compiled" else circuit.gradient
    for _ in range(2):  # the compiled tier's first call of a kind goes to the interpreter
        out, grads = run(xs)
    # A reduction's output is one number (a Python float); every other value stays float32.
    assert out.__class__ is float if name in ("sum", "mean", "sumsq") else out.dtype == np.float32
    assert {n: g.dtype for n, g in grads.items()} == {n: np.float32 for n in circuit.inputs}
    wide_out, wide = circuit.gradient({n: x.astype(np.float64) for n, x in xs.items()})
    np.testing.assert_allclose(out, wide_out, rtol=1e-5)
    for n in circuit.inputs:
        np.testing.assert_allclose(grads[n], wide[n], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tier", ["interpreted", "compiled"])
def test_the_dtype_rule_on_a_circuit_in_both_tiers(tier):
    circuit = gatekit.parse("max(2.5 * x * y, relu(x) ** 2) + exp(x) / y")
    run = circuit.compile().gradient if tier == "compiled" else circuit.gradient
    x32, y32 = np.linspace(-1, 1, 5, dtype=np.float32), np.linspace(1, 2, 5, dtype=np.float32)
    for _ in range(2):
        out, grads = run(x=x32, y=y32)  # float32 with Python-float constants: float32
        mixed_out, mixed = run(x=x32, y=y32.astype(np.float64))  # float32 meeting float64: float64
        shared_out, shared = run(x=x32, y=1.5)  # a number: a Python float, and its gradient one too
    assert out.dtype == np.float32 and {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    assert mixed_out.dtype == np.float64 and {g.dtype for g in mixed.values()} == {np.dtype(np.float64)}
    assert shared_out.dtype == np.float32 and shared["x"].dtype == np.float32 and shared["y"].__class__ is float


def test_a_python_float_constant_keeps_float32_and_a_float64_array_widens_it():
    circuit = gatekit.parse("2.5 * x * y + exp(x) ** 2")
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    assert circuit.forward(x=x, y=np.float32(3)).output.dtype == np.float32  # a number is a Python float
    out, grads = circuit.gradient(x=x, y=np.ones(5))
    assert out.dtype == np.float64 and grads["x"].dtype == np.float64
    _, shared = circuit.gradient(x=x, y=2.0)
    assert isinstance(shared["y"], float)


def test_integers_become_float64_and_numbers_stay_python_floats():
    circuit = gatekit.parse("x * y")
    out = circuit(x=np.arange(3), y=2)
    assert out.dtype == np.float64 and out.tolist() == [0.0, 2.0, 4.0]
    assert circuit(x=np.float32(1.5), y=2).__class__ is float  # the scalar fast path stays floats


@pytest.mark.parametrize(
    "value, fragment",
    [
        (np.ma.masked_array([1.0, 2.0], mask=[False, True]), "is a masked array; gatekit would compute with the masked"),
        (np.array([1 + 2j]), "complex numbers: the gates are real-valued"),
        (np.array(["1", "2"]), "strings: convert them first"),
        (np.array([1.0, "a"], dtype=object), "must be a real number or an array of real numbers"),
        (np.array([True, False]), "must be a real number or an array of real numbers"),
        ("3", "must be a real number"),
    ],
    ids=["masked", "complex", "strings", "object", "bool", "string"],
)
def test_what_would_lose_information_is_one_clear_error(value, fragment):
    with pytest.raises(UsageError, match="^input 'x' ") as caught:
        gatekit.parse("x * 2")(x=value)
    assert fragment in str(caught.value)


def test_a_dask_array_stays_lazy():
    da = pytest.importorskip("dask.array")
    out = gatekit.parse("x * 2")(x=da.ones(4))  # tests/test_array_api.py: nothing is computed until asked
    assert isinstance(out, da.Array) and out.compute().tolist() == [2.0] * 4


def test_an_array_api_array_comes_back_the_same_kind():
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray([0.5, 1.0, 2.0])
    out, grads = gatekit.parse("exp(x) * y").gradient(x=x, y=2.0)
    assert type(out) is type(x) and type(grads["x"]) is type(x) and type(grads["y"]) is type(x)
    assert float(xp.sum(out)) == pytest.approx(float(np.sum(2.0 * np.exp([0.5, 1.0, 2.0]))), rel=1e-12)
