"""Random circuits (hypothesis): backprop agrees with central differences; batched equals scalar.

Each random circuit is a DAG of built-in gates over 1-4 inputs, built with the
Composer from a list of drawn operations whose arguments are drawn from every node
built so far (so values fan out and paths rejoin). Every operation keeps its
arguments inside its gate's safe domain (log and pow see positive bases, div and
reciprocal stay away from zero), and a value that could grow large is squashed
with tanh, so no run overflows and every gradient exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekit import Circuit, Composer, check_circuit

# Each operation: (arity, build(composer, *wires) -> wire, bound(*bounds) -> bound of |result|).
Op = tuple[int, Callable, Callable]
SMOOTH_OPS: dict[str, Op] = {
    "add": (2, lambda c, a, b: a + b, lambda p, q: p + q),
    "sub": (2, lambda c, a, b: a - b, lambda p, q: p + q),
    "mul": (2, lambda c, a, b: a * b, lambda p, q: p * q),
    "neg": (1, lambda c, a: -a, lambda p: p),
    "tanh": (1, lambda c, a: c.tanh(a), lambda p: 1.0),
    "sigmoid": (1, lambda c, a: c.sigmoid(a), lambda p: 1.0),
    "exp": (1, lambda c, a: c.exp(c.tanh(a) * 2), lambda p: math.exp(2.0)),
    "div": (2, lambda c, a, b: a / (1.5 + c.sigmoid(b)), lambda p, q: p / 1.5),
    "reciprocal": (1, lambda c, a: c.reciprocal(2 + c.tanh(a)), lambda p: 1.0),
    "log": (1, lambda c, a: c.log(a * a + 0.5), lambda p: max(abs(math.log(0.5)), math.log(p * p + 0.5))),
    "pow": (2, lambda c, a, b: (1 + c.sigmoid(a)) ** c.tanh(b), lambda p, q: 2.0),
    "square": (1, lambda c, a: a**2, lambda p: p * p),
}
KINKED_OPS: dict[str, Op] = {  # piecewise gates: not differentiable everywhere, fine for batch == scalar
    "max": (2, lambda c, a, b: c.max(a, b), lambda p, q: max(p, q)),
    "min": (2, lambda c, a, b: c.min(a, b), lambda p, q: max(p, q)),
    "relu": (1, lambda c, a: c.relu(a), lambda p: p),
    "abs": (1, lambda c, a: c.abs(a), lambda p: p),
}
LARGE = 8.0  # a value that might exceed this is squashed before it is used again

operations = st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


def build(registry, n_inputs: int, steps: list[tuple[int, int, int]], ops: dict[str, Op]) -> Circuit:
    """The circuit a drawn list of (operation, first argument, second argument) describes."""
    c = Composer(registry)
    pool = [(wire, 2.0) for wire in c.inputs(*[f"x{k}" for k in range(n_inputs)])]
    names = sorted(ops)
    for which, i, j in steps:
        arity, make, bound = ops[names[which % len(names)]]
        args = [pool[i % len(pool)], pool[j % len(pool)]][:arity]
        wire = make(c, *(w for w, _ in args))
        size = bound(*(b for _, b in args))
        if size > LARGE:
            wire, size = c.tanh(wire), 1.0
        pool.append((wire, size))
    tail = [w for w, _ in pool[n_inputs:][-3:]]  # join the last few nodes: several paths to the output
    output = tail[0]
    for w in tail[1:]:
        output = output + w
    for w, _ in pool[:n_inputs]:  # every input reaches the output, so a batch always shows in it
        output = output + 0.25 * w
    return c.build(output)


def draw_circuit(data, registry, *, inputs: tuple[int, int] = (1, 4), max_steps: int = 20,
                 ops: dict[str, Op] | None = None) -> tuple[Circuit, int]:
    """A random circuit drawn from ``data`` (every gate above unless ``ops`` says), and its number of inputs."""
    n_inputs = data.draw(st.integers(*inputs), label="inputs")
    steps = data.draw(st.lists(operations, min_size=1, max_size=max_steps), label="steps")
    return build(registry, n_inputs, steps, {**SMOOTH_OPS, **KINKED_OPS} if ops is None else ops), n_inputs


def points(n_inputs: int, size: int | None = None) -> st.SearchStrategy:
    value = st.floats(-2.0, 2.0, allow_nan=False)
    element = value if size is None else st.lists(value, min_size=size, max_size=size).map(np.array)
    return st.lists(element, min_size=n_inputs, max_size=n_inputs)


# The registry fixture is only read here, so sharing it across examples is safe.
RANDOM = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@RANDOM
@given(data=st.data())
def test_random_smooth_circuits_agree_with_central_differences(registry, data):
    circuit, n_inputs = draw_circuit(data, registry, ops=SMOOTH_OPS)
    point = dict(zip(circuit.inputs, data.draw(points(n_inputs), label="point")))
    result = check_circuit(circuit, point)
    assert result.ok, result.describe()


def _assert_batch_equals_scalars(circuit: Circuit, batch: dict[str, np.ndarray], size: int) -> None:
    out, grads = circuit.gradient(batch)
    for k in range(size):
        scalar_out, scalar_grads = circuit.gradient({name: float(v[k]) for name, v in batch.items()})
        np.testing.assert_allclose(out[k], scalar_out, rtol=1e-12, atol=1e-13)
        for name in circuit.inputs:
            np.testing.assert_allclose(grads[name][k], scalar_grads[name], rtol=1e-10, atol=1e-12)


@RANDOM
@given(data=st.data())
def test_random_circuits_on_a_batch_equal_each_point_as_scalars(registry, data):
    circuit, n_inputs = draw_circuit(data, registry)
    size = data.draw(st.integers(1, 5), label="size")
    batch = dict(zip(circuit.inputs, data.draw(points(n_inputs, size), label="batch")))
    for name, values in batch.items():
        assert np.shape(circuit.gradient(batch)[1][name]) == values.shape
    _assert_batch_equals_scalars(circuit, batch, size)


@RANDOM
@given(data=st.data())
def test_a_scalar_input_among_batched_ones_gets_the_sum_of_its_gradients(registry, data):
    circuit, n_inputs = draw_circuit(data, registry, inputs=(2, 4), max_steps=15, ops=SMOOTH_OPS)
    size = data.draw(st.integers(2, 4), label="size")
    batch = dict(zip(circuit.inputs, data.draw(points(n_inputs, size), label="batch")))
    shared = data.draw(st.sampled_from(circuit.inputs), label="shared")
    batch[shared] = np.full(size, batch[shared][0])
    mixed = dict(batch, **{shared: float(batch[shared][0])})
    _, grads = circuit.gradient(mixed)
    _, batched_grads = circuit.gradient(batch)
    assert isinstance(grads[shared], float)
    assert grads[shared] == pytest.approx(float(np.sum(batched_grads[shared])), rel=1e-12, abs=1e-12)
    for name in circuit.inputs:
        if name != shared:
            np.testing.assert_allclose(grads[name], batched_grads[name], rtol=1e-12, atol=1e-13)
