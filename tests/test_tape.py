"""The tape walk: shares of a gradient, skipped gradients on arrays, the float fast path."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import plugin_registry

from gatekit import Composer, Gate, parse


def test_shares_are_each_wires_gradient_and_add_up_to_the_nodes(registry):
    trace = parse("q = x + y; f = q * z", registry).forward(x=-2, y=5, z=-4).backward(shares=True)
    c = trace.circuit
    q, f = c.find("q"), c.find("f")
    assert trace.shares == {(f, 0): -4.0, (f, 1): 3.0, (q, 0): -4.0, (q, 1): -4.0}
    fan = parse("f = x * x", registry).forward(x=3.0).backward(shares=True)
    assert fan.shares is not None and sorted(fan.shares.values()) == [3.0, 3.0]
    assert fan.grad("x") == 6.0  # the shares, summed by fan-out


def test_shares_are_after_broadcast_reduction(registry):
    trace = parse("f = w * x", registry).forward(w=2.0, x=np.arange(3.0)).backward(shares=True)
    f = trace.circuit.find("f")
    assert trace.shares is not None
    assert trace.shares[(f, 0)] == pytest.approx(3.0)  # summed over the batch: w's shape
    np.testing.assert_array_equal(trace.shares[(f, 1)], [2.0, 2.0, 2.0])
    assert parse("f = w * x", registry).forward(w=2.0, x=1.0).backward().shares is None


def test_on_arrays_constant_gradients_are_skipped_until_asked_for(registry):
    circuit = parse("f = 1 + exp(x)", registry)
    trace = circuit.forward(x=np.zeros(4)).backward()
    const = next(i for i, n in enumerate(circuit.nodes) if n.kind == "const")
    assert trace._raw is not None and trace._raw[const] is None  # not computed
    np.testing.assert_array_equal(trace.input_grads()["x"], np.ones(4))
    assert trace.grads is not None and trace.grads[const] == pytest.approx(4.0)  # asked for: computed then
    scalar = circuit.forward(x=0.0).backward()
    assert scalar.grads is not None and scalar.grads[const] == 1.0


class NumpyScalarGate(Gate):
    """A third-party gate that turns floats into numpy scalars (it does not keep floats)."""

    name, arity = "npsq", 1
    doc = "npsq(x) = x * x"

    def forward(self, x):
        return np.float64(x) * x

    def backward(self, grad, out, x):
        return (np.float64(2.0) * grad * x,)


def test_gates_that_do_not_keep_floats_run_on_the_checked_path():
    registry = plugin_registry(NumpyScalarGate())
    circuit = parse("f = npsq(x) * y", registry)
    assert not circuit.keeps_floats
    out, grads = circuit.gradient(x=3.0, y=2.0)
    assert (out, grads) == (18.0, {"x": 12.0, "y": 9.0})
    assert all(type(v) is float for v in (out, *grads.values()))


def test_the_float_path_keeps_floats_floats(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(c.sigmoid(c.exp(x) / y) + c.log(c.max(x, y)) ** 2 + c.tanh(c.relu(x) - c.abs(y)))
    assert circuit.keeps_floats
    trace = circuit.forward(x=0.3, y=0.7).backward()
    assert all(type(v) is float for v in trace.values)
    assert all(type(g) is float for g in trace.grads or ())


def test_out_of_domain_floats_give_ieee_values_without_warnings(registry):
    import warnings

    circuit = parse("f = x / y + exp(1000 * y) + log(x) + y ** -1", registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, grads = circuit.gradient(x=-1.0, y=0.0)
    assert np.isnan(out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_gradient_the_seed_reaches_unchanged_is_an_array_of_the_callers_own(registry, dtype):
    # circuit.gradient seeds arrays with a read-only view of 1.0 (no array of ones is
    # written); an input whose gradient is that seed, passed on by add, gets a copy.
    circuit = parse("f = x + y * 2", registry)
    batch = {"x": np.arange(4, dtype=dtype), "y": np.ones(4, dtype=dtype)}
    _, grads = circuit.gradient(batch)
    assert grads["x"].flags.writeable and grads["x"].dtype == dtype and grads["x"].strides == (np.dtype(dtype).itemsize,)
    np.testing.assert_array_equal(grads["x"], np.ones(4))
    np.testing.assert_array_equal(grads["y"], np.full(4, 2.0))
    grads["x"][0] = 7.0  # the caller's to change: the next call is not affected
    np.testing.assert_array_equal(circuit.gradient(batch)[1]["x"], np.ones(4))


class LyingGate(Gate):
    """Says it keeps floats floats, then returns a numpy scalar gradient once warmed up."""

    name, arity = "liar", 1
    doc = "liar(x) = 3 * x"
    keeps_floats = True
    calls = 0

    def forward(self, x):
        return 3.0 * x

    def backward(self, grad, out, x):
        LyingGate.calls += 1
        return (np.float64(3.0) * grad,) if LyingGate.calls > 1 else (3.0 * grad,)


def test_the_one_pass_float_gradient_hands_a_non_float_to_the_general_path():
    registry = plugin_registry(LyingGate())
    circuit = parse("f = liar(x) * y", registry)
    assert circuit.keeps_floats
    for _ in range(3):  # the first call is the checked one; the later ones meet the numpy scalar
        out, grads = circuit.gradient({"x": 2.0, "y": 5.0})
        assert (out, grads) == (30.0, {"x": 15.0, "y": 6.0})
        assert all(type(v) is float for v in (out, *grads.values()))


def test_the_one_pass_float_gradient_agrees_with_the_trace_and_zeroes_unread_inputs(registry):
    from gatekit import tape

    c = Composer(registry)
    x, y, unused = c.inputs("x", "y", "unused")
    circuit = c.build(c.tanh(x * y) + c.exp(x) / y, keep_inputs=True)
    values = {"x": 0.4, "y": -1.3, "unused": 2.0}
    circuit.gradient(values)  # the first float call: the checked path
    fast = tape.gradient_floats(circuit, values)
    assert fast is not None  # the common call takes the one pass
    trace = circuit.forward(values).backward()
    assert fast == (trace.output, trace.input_grads())
    assert fast[1]["unused"] == 0.0
    # Anything else is the general path's to answer (and to refuse with one clear error).
    for other in ({"x": 0.4, "y": 1}, {"x": 0.4, "y": -1.3}, {"x": 0.4, "y": -1.3, "unused": 2.0, "z": 1.0},
                  {"x": 0.4, "y": -1.3, "nope": 2.0}):
        assert tape.gradient_floats(circuit, other) is None
    with pytest.raises(Exception, match="nope"):
        circuit.gradient({"x": 0.4, "y": -1.3, "nope": 2.0})


class RaisingGate(Gate):
    """A float-keeping gate that raises on some inputs: the one pass gives up, the checked path names it."""

    name, arity = "boom", 1
    doc = "boom(x) = x"
    keeps_floats = True

    def forward(self, x):
        if x > 1.0:
            raise RuntimeError("too big")
        return x

    def backward(self, grad, out, x):
        return (grad,)


def test_a_gate_raising_on_the_one_pass_is_named_by_the_checked_path():
    from gatekit.errors import GateContractError

    circuit = parse("f = boom(x) * 2", plugin_registry(RaisingGate()))
    assert circuit.gradient({"x": 0.5}) == (1.0, {"x": 2.0})
    with pytest.raises(GateContractError, match="boom.*raised RuntimeError in forward: too big"):
        circuit.gradient({"x": 2.0})
