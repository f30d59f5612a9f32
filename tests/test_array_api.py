"""Any array library: array-api-strict as the conformance check, dask lazy, CuPy and JAX where installed.

array-api-strict implements the Python array API standard and nothing more (no
arithmetic on booleans, no numpy functions, no conversion behind the back), so a gate
or an engine rule that leans on numpy fails here. Every result is compared with
numpy's on the same numbers, in both tiers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
import gatekit_gates
from gatekit import UsageError
from gatekit.check import _one_gate_circuit, sample_point

from test_random_circuits import draw_circuit

xp = pytest.importorskip("array_api_strict")
ARRAY = type(xp.asarray([0.0]))

#: The built-in gates (a plugin installed where the suite runs may bring others: not ours to hold to this).
GATES = sorted(cls.name for cls in gatekit_gates.GATES)
#: Shapes tried for an elementwise gate: same shapes, a broadcast pair, an array against a number.
ELEMENTWISE_SHAPES = {1: [((5,),), ((3, 1),)], 2: [((5,), (5,)), ((4, 1), (3,)), ((5,), ())]}
REDUCTIONS = {"sum", "mean", "sumsq"}


def shape_sets(gate):
    if gate.domain.shapes:
        return list(gate.domain.shapes)
    if gate.name in REDUCTIONS:
        return [((6,),), ((2, 3),)]
    return ELEMENTWISE_SHAPES[gate.arity]


def strict(value, dtype=None):
    """A numpy value as array-api-strict's: an array stays an array, a number stays a Python float."""
    if np.ndim(value) == 0:
        return float(value)
    return xp.asarray(np.asarray(value), dtype=dtype)


def as_numpy(value):
    return np.asarray(value) if isinstance(value, ARRAY) else value


def assert_same(got, want, rtol=1e-12):
    """``got`` (array-api-strict) equals ``want`` (numpy), in kind and in number."""
    if isinstance(want, np.ndarray) or not isinstance(got, float):
        assert isinstance(got, ARRAY), f"{type(got).__name__} came back, not an array-api-strict array"
    np.testing.assert_allclose(as_numpy(got), want, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name", GATES)
@pytest.mark.parametrize("tier", ["interpreted", "compiled"])
def test_every_built_in_gate_runs_on_the_standard_alone_and_agrees_with_numpy(name, tier):
    gate = gatekit.default_registry().gate(name)
    circuit = _one_gate_circuit(gate, "gatekit_gates")
    run = circuit.compile().gradient if tier == "compiled" else circuit.gradient
    rng = np.random.default_rng(3)
    for shapes in shape_sets(gate):
        xs = sample_point(gate, rng, shapes)
        values = dict(zip(circuit.inputs, xs))
        for _ in range(2):  # the compiled tier: its first call of a kind goes to the interpreter
            out, grads = run({n: strict(v) for n, v in values.items()})
        want_out, want = circuit.gradient(values)
        assert_same(out, want_out)
        for n in circuit.inputs:
            if np.ndim(values[n]) == 0:  # a number shared by every point: a 0-d array of the library
                assert isinstance(grads[n], ARRAY) and grads[n].shape == ()
            assert_same(grads[n], want[n])


@pytest.mark.parametrize("name", GATES)
def test_float32_stays_float32_on_the_standard(name):
    gate = gatekit.default_registry().gate(name)
    circuit = _one_gate_circuit(gate, "gatekit_gates")
    xs = sample_point(gate, np.random.default_rng(5), shape_sets(gate)[0])
    values = {n: strict(x, xp.float32) for n, x in zip(circuit.inputs, xs)}
    out, grads = circuit.gradient(values)
    assert out.dtype == xp.float32
    assert {n: g.dtype for n, g in grads.items()} == {n: xp.float32 for n in circuit.inputs}
    want_out, _ = circuit.gradient(dict(zip(circuit.inputs, xs)))
    np.testing.assert_allclose(np.asarray(out), want_out, rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None, database=None)
@given(data=st.data())
def test_random_circuits_on_the_standard_equal_numpy_in_both_tiers(data):
    circuit, n_inputs = draw_circuit(data, gatekit.default_registry(), max_steps=12)
    shared = data.draw(st.sets(st.sampled_from(circuit.inputs), max_size=n_inputs - 1), label="shared")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = {n: float(rng.uniform(-2, 2)) if n in shared else rng.uniform(-2, 2, 6) for n in circuit.inputs}
    want_out, want = circuit.gradient(values)
    strict_values = {n: strict(v) for n, v in values.items()}
    compiled = circuit.compile()
    for run in (circuit.gradient, compiled.gradient, compiled.gradient):
        out, grads = run(strict_values)
        assert_same(out, want_out)
        for n in circuit.inputs:
            assert_same(grads[n], want[n])
    assert_same(compiled(strict_values), want_out)


def test_the_compiled_tier_runs_its_own_code_on_the_standard_not_the_interpreter(monkeypatch):
    circuit = gatekit.parse("max(w * x, relu(x) ** 2) + sum(exp(x)) * b - x / (1 + b * b)")
    compiled = circuit.compile()
    values = {"x": xp.asarray([[-1.0, 0.0, 0.5], [1.5, 2.0, -0.25]]), "w": 2.0, "b": xp.asarray([[0.5], [-1.0]])}
    want_out, want = circuit.gradient(values)
    compiled.gradient(values)  # the first call of the kind: the interpreter checks every gate's output
    compiled(values)

    def interpreter(*args, **kwargs):
        raise AssertionError("the compiled tier handed the call to the interpreter")

    monkeypatch.setattr(gatekit.Circuit, "gradient", interpreter)
    monkeypatch.setattr(gatekit.Circuit, "__call__", interpreter)
    out, grads = compiled.gradient(values)
    assert_same(out, np.asarray(want_out))
    assert grads["w"].shape == () and grads["b"].shape == (2, 1)
    for n in circuit.inputs:
        assert_same(grads[n], np.asarray(want[n]))
    assert_same(compiled(values), np.asarray(want_out))


def test_a_shared_inputs_gradient_is_reduced_in_the_arrays_library():
    circuit = gatekit.parse("w * x + b")
    x = xp.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out, grads = circuit.gradient(x=x, w=2.0, b=xp.asarray([[1.0], [1.0]]))
    assert isinstance(grads["w"], ARRAY) and grads["w"].shape == ()
    assert float(grads["w"]) == 21.0 and grads["b"].shape == (2, 1)
    assert np.asarray(grads["b"]).tolist() == [[3.0], [3.0]]
    trace = circuit.forward(x=x, w=2.0, b=1.0).backward(xp.ones((2, 3)))
    assert float(trace.grad("w")) == 21.0


def test_integers_become_the_librarys_float64_and_booleans_or_complex_are_refused():
    circuit = gatekit.parse("x * 2")
    out = circuit(x=xp.asarray([1, 2, 3]))
    assert out.dtype == xp.float64 and np.asarray(out).tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(UsageError, match=r"^input 'x' .*an array of array_api_strict.bool"):
        circuit(x=xp.asarray([True, False]))
    with pytest.raises(UsageError, match=r"^input 'x' .*complex numbers"):
        circuit(x=xp.asarray([1 + 2j]))


def test_arrays_of_two_libraries_in_one_call_are_one_clear_error():
    shown = r"\('x' is an array of array_api_strict, 'y' is an array of numpy\)"
    with pytest.raises(UsageError, match=r"different libraries " + shown):
        gatekit.parse("x * y").gradient(x=xp.asarray([1.0, 2.0]), y=np.array([1.0, 2.0]))


# -- dask: through the engine itself, lazily -------------------------------------------------------


def test_a_dask_array_flows_through_the_engine_and_nothing_is_computed_until_asked():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")

    def refuse(*args, **kwargs):
        raise AssertionError("gatekit computed a dask graph behind the user's back")

    circuit = gatekit.parse("sigmoid(w0 * x0 + w1 * x1 + w2)")
    rng = np.random.default_rng(2)
    x0, x1 = rng.normal(size=1_000), rng.normal(size=1_000)
    weights = {"w0": 2.0, "w1": -3.0, "w2": -3.0}
    with dask.config.set(scheduler=refuse):
        out, grads = circuit.gradient(x0=da.from_array(x0, chunks=250), x1=da.from_array(x1, chunks=250), **weights)
        compiled = circuit.compile()
        for _ in range(2):  # the second call runs the compiled variant for other libraries
            compiled_out = compiled(x0=da.from_array(x0, chunks=250), x1=x1, **weights)
            compiled_grads = compiled.gradient(x0=da.from_array(x0, chunks=250), x1=x1, **weights)[1]
        trace = circuit.forward(x0=da.from_array(x0, chunks=250), x1=x1, **weights).backward()
        assert repr(trace).endswith("output array(1000,), with gradients>")  # shown without computing
    assert isinstance(out, da.Array) and isinstance(grads["w0"], da.Array) and grads["w0"].shape == ()
    got_out, got, got_compiled, got_grads = dask.compute(out, grads, compiled_out, compiled_grads, scheduler="sync")
    want_out, want = circuit.gradient(x0=x0, x1=x1, **weights)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12)
    np.testing.assert_allclose(got_compiled, want_out, rtol=1e-12)
    for name in circuit.inputs:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12)
        np.testing.assert_allclose(got_grads[name], want[name], rtol=1e-12)


# -- CuPy and JAX: the same round trip, where installed ---------------------------------------------


@pytest.mark.parametrize("module", ["jax.numpy", "cupy"])
def test_the_neuron_on_jax_and_cupy_where_installed(module):
    lib = pytest.importorskip(module)
    circuit = gatekit.parse("sigmoid(w0 * x0 + w1 * x1 + w2) + relu(x0) ** 2")
    x0, x1 = np.linspace(-2, 2, 9), np.cos(np.linspace(-2, 2, 9))
    weights = {"w0": 2.0, "w1": -3.0, "w2": -3.0}
    want_out, want = circuit.gradient(x0=x0, x1=x1, **weights)
    for run in (circuit.gradient, circuit.compile().gradient):
        out, grads = run(x0=lib.asarray(x0), x1=lib.asarray(x1), **weights)
        assert type(out) is type(lib.asarray(x0)) and type(grads["w0"]) is type(out) and grads["w0"].shape == ()
        rtol = 1e-12 if out.dtype == lib.float64 else 1e-5  # jax computes float32 unless x64 is enabled
        np.testing.assert_allclose(np.asarray(out), want_out, rtol=rtol, atol=1e-6)
        for name in circuit.inputs:
            assert not isinstance(grads[name], (float, np.ndarray))
            np.testing.assert_allclose(np.asarray(grads[name]), want[name], rtol=rtol, atol=1e-5)


def test_gatekit_dask_refuses_another_librarys_array_with_one_clear_error():
    gd = pytest.importorskip("gatekit.dask")
    with pytest.raises(UsageError, match=r"input 'x' is an array of array_api_strict; gatekit.dask spreads dask"):
        gd.gradient(gatekit.parse("x * y"), x=xp.asarray([1.0, 2.0]), y=np.ones(2))
