"""gatekit.broadcast: the fast paths of reduce_pair_gradient give what the general rule gives."""

from __future__ import annotations

import numpy as np
import pytest

from gatekit.broadcast import reduce_gradient, reduce_pair_gradient

CASES = [  # (x, the other input, the node's output): shapes, None for a Python float
    (None, (7,), (7,)),
    (None, (3, 4), (3, 4)),
    ((4,), (3, 4), (3, 4)),  # a bias against a batch of rows
    ((4,), None, (3, 4)),
    ((2, 4), (5, 2, 4), (5, 2, 4)),
    ((1, 4), (3, 4), (3, 4)),  # a size-1 axis: the general rule
    ((3, 1), (3, 4), (3, 4)),
    ((3, 4), (3, 4), (3, 4)),
]


def _value(shape, rng, dtype=np.float64):
    return 1.5 if shape is None else rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("x_shape", "other_shape", "out_shape"), CASES)
def test_the_pair_rule_equals_the_general_rule(x_shape, other_shape, out_shape, dtype):
    rng = np.random.default_rng(0)
    x, other = _value(x_shape, rng, dtype), _value(other_shape, rng, dtype)
    out, grad = rng.normal(size=out_shape).astype(dtype), rng.normal(size=out_shape).astype(dtype)
    fast = reduce_pair_gradient(grad, x, other, out)
    general = reduce_gradient(grad, x, (x, other, out))
    assert np.shape(fast) == np.shape(x if x_shape is not None else 0.0) == np.shape(general)
    assert type(fast) is type(general) and np.asarray(fast).dtype == np.asarray(general).dtype
    np.testing.assert_allclose(fast, general, rtol=1e-6 if dtype == np.float32 else 1e-15)
    if isinstance(fast, np.ndarray) and x_shape != out_shape:  # a reduced gradient is the engine's own
        assert fast.flags.writeable and not np.shares_memory(fast, grad)
