"""The gates that carry data: sum and mean (array -> one number) and linear (a layer)."""

from __future__ import annotations

import numpy as np
import pytest

from gatekit import Composer, UsageError, check_circuit, check_gate


@pytest.mark.parametrize("name", ["sum", "mean", "sumsq", "linear"])
def test_the_array_gates_pass_their_gradient_check(registry, name):
    result = check_gate(registry.gate(name), rounds=5, seed=3)
    assert result.ok, result.describe()


def test_sum_and_mean_reduce_to_one_number_and_spread_the_gradient_back(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    for name, value, share in (("sum", 21.0, 1.0), ("mean", 3.5, 1 / 6)):
        circuit = Composer(registry)
        (x,) = circuit.inputs("x")
        f = circuit.build(circuit.gate(name, x) * 2.0)
        out, grads = f.gradient(x=data)
        assert out == 2 * value and isinstance(out, float)
        assert grads["x"].shape == data.shape
        np.testing.assert_array_equal(grads["x"], np.full(data.shape, 2 * share))


def test_on_one_number_sum_and_mean_are_the_identity(registry):
    for name in ("sum", "mean"):
        c = Composer(registry)
        (x,) = c.inputs("x")
        out, grads = c.build(c.gate(name, x)).gradient(x=1.5)
        assert (out, grads) == (1.5, {"x": 1.0})


def test_a_layer_and_a_batch_mean_of_a_hinge_loss_check_against_central_differences(registry):
    # W (3, 2), b (3,) and a batch (5, 2): linear sums b's and W's gradients over the
    # batch itself (its inputs do not broadcast against each other).
    c = Composer(registry)
    w, b, x, y = c.inputs("W b x y")
    scores = c.linear(w, x, b)
    loss = c.build(c.mean(c.relu(1 - y * c.sum(scores * scores))))
    rng = np.random.default_rng(0)
    point = {"W": rng.normal(size=(3, 2)) * 0.3, "b": rng.normal(size=3) * 0.3, "x": rng.normal(size=(5, 2)),
             "y": np.ones(5)}
    result = check_circuit(loss, point)
    assert result.ok, result.describe()
    grads = loss.forward(point).backward().input_grads()
    assert grads["b"].shape == (3,) and grads["W"].shape == (3, 2) and grads["x"].shape == (5, 2)


def test_a_bias_added_after_the_product_goes_through_the_engines_broadcast_rule(registry):
    # linear(W, x, 0) + b: the add sends b a (5, 3) gradient, which the engine sums to (3,).
    c = Composer(registry)
    w, b, x = c.inputs("W b x")
    f = c.build(c.sum(c.tanh(c.linear(w, x, 0.0) + b)))
    rng = np.random.default_rng(1)
    point = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=3), "x": rng.normal(size=(5, 2))}
    result = check_circuit(f, point)
    assert result.ok, result.describe()
    fused = Composer(registry)
    w2, b2, x2 = fused.inputs("W b x")
    g = fused.build(fused.sum(fused.tanh(fused.linear(w2, x2, b2))))
    np.testing.assert_allclose(f.forward(point).backward().grad("b"), g.forward(point).backward().grad("b"),
                               rtol=1e-14)


def test_linear_on_a_vector_is_the_matrix_product_plus_the_bias(registry):
    c = Composer(registry)
    w, x, b = c.inputs("W x b")
    f = c.build(c.linear(w, x, b))
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = f.forward(W=W, x=np.array([1.0, -1.0]), b=np.array([0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(out.output, [-1.0, 0.0, 1.0])
    trace = out.backward(np.array([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(trace.grad("W"), [[1.0, -1.0], [0.0, 0.0], [2.0, -2.0]])
    np.testing.assert_array_equal(trace.grad("x"), [11.0, 14.0])
    np.testing.assert_array_equal(trace.grad("b"), [1.0, 0.0, 2.0])


def test_linear_with_shapes_that_do_not_fit_is_one_clear_error(registry):
    c = Composer(registry)
    w, x, b = c.inputs("W x b")
    f = c.build(c.linear(w, x, b))
    with pytest.raises(UsageError, match=r"got W \(3, 2\), x \(4, 3\) and b \(3,\)"):
        f.forward(W=np.ones((3, 2)), x=np.ones((4, 3)), b=np.ones(3))
    with pytest.raises(UsageError, match=r"b of shape \(out,\) or one number"):
        f.forward(W=np.ones((3, 2)), x=np.ones((4, 2)), b=np.ones(2))


def test_sumsq_is_the_l2_sum_of_squares(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    f = c.build(c.sumsq(x))
    out, grads = f.gradient(x=np.array([[1.0, -2.0], [3.0, 0.5]]))
    assert out == 14.25 and isinstance(out, float)
    np.testing.assert_array_equal(grads["x"], [[2.0, -4.0], [6.0, 1.0]])
    assert f.gradient(x=-3.0) == (9.0, {"x": -6.0})
