"""The plugin's own tests: values at known points, and every backward checked numerically."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gatekit
from gatekit_smooth import Cos, Sin, Softplus, swish

GATES = [Sin(), Cos(), Softplus(), swish()]


@pytest.mark.parametrize("gate", GATES, ids=lambda g: g.name)
def test_backward_agrees_with_central_differences(gate):
    result = gatekit.assert_gate_gradients(gate)
    assert result.points_checked > 0


@pytest.mark.parametrize(
    "gate, x, value",
    [
        (Sin(), 0.5, math.sin(0.5)),
        (Cos(), 0.5, math.cos(0.5)),
        (Softplus(), 0.0, math.log(2.0)),
        (Softplus(), 2.0, math.log1p(math.exp(2.0))),
        (swish(), 2.0, 2.0 / (1.0 + math.exp(-2.0))),
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_forward_values(gate, x, value):
    assert gate.forward(x) == pytest.approx(value, abs=1e-12)


def test_softplus_stays_finite_far_from_zero():
    x = np.array([-1000.0, 1000.0])
    out = Softplus().forward(x)
    (grad,) = Softplus().backward(np.ones(2), out, x)
    np.testing.assert_allclose(out, [0.0, 1000.0], atol=1e-12)
    np.testing.assert_allclose(grad, [0.0, 1.0], atol=1e-12)


def test_a_broken_backward_would_be_caught():
    """The helper is worth trusting: a sin whose gradient has the wrong sign fails it."""

    class WrongSin(Sin):
        def backward(self, grad, out, x):
            return (-grad * np.cos(x),)

    with pytest.raises(AssertionError, match="sin"):
        gatekit.assert_gate_gradients(WrongSin())
