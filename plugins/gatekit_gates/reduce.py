"""The reductions: ``sum``, ``mean`` and ``sumsq`` turn an array into one number.

``sum`` and ``mean`` reduce a batch of losses; ``sumsq`` is the sum of squares of
L2 regularisation (one gate per parameter array instead of a ``mul`` and a ``sum``).

Backward broadcasts the upstream gradient back over the array: every element
contributed once to the sum (and ``1/n`` of itself to the mean), so each gets the
same share; an element of ``sumsq`` gets ``2 x`` of it. On a Python float ``sum`` and
``mean`` are the identity and ``sumsq`` the square, so a circuit written for a batch
still runs on one point. Arrays of another library are reduced in it (``xp.sum``),
and give back a 0-d array of it, not a number (nothing is computed behind the user's
back: a dask sum stays lazy).
"""

from __future__ import annotations

import numpy as np

from gatekit import Gate, Source, array_namespace
from gatekit.arrays import float_dtype as _float_dtype
from gatekit.arrays import is_foreign


def _spread(grad, x, scale):
    """``grad * scale`` in the shape and float dtype of ``x``: a fresh array, or a float for a scalar ``x``."""
    if x.__class__ is np.ndarray:
        return np.full(x.shape, float(grad) * scale, _float_dtype(x)) if x.ndim else grad * scale
    if is_foreign(x):
        return array_namespace(x).zeros_like(x) + grad * scale  # x's shape, dtype and device; grad may be 0-d
    return grad * scale


class Sum(Gate):
    name, arity = "sum", 1
    doc = "sum(x) = x[0] + x[1] + ... (every element of an array; one number)"
    grad_doc = "d/dx[i] = 1 for every element"
    keeps_floats = True
    source = Source("x", ("g",), args=("x",), array_forward="np.sum(x)", array_backward=("np.full_like(x, g)",))

    def forward(self, x):
        # The array's own method: np.sum's dispatch costs more than the sum of a small array.
        return x.sum() if x.__class__ is np.ndarray else x if x.__class__ is float else array_namespace(x).sum(x)

    def backward(self, grad, out, x):
        return (_spread(grad, x, 1.0),)


class Mean(Gate):
    name, arity = "mean", 1
    doc = "mean(x) = sum(x) / n (every element of an array; one number)"
    grad_doc = "d/dx[i] = 1 / n for every element"
    keeps_floats = True
    source = Source("x", ("g",), args=("x",), array_forward="np.mean(x)",
                    array_backward=("np.full_like(x, g / np.size(x))",))

    def forward(self, x):
        return x.mean() if x.__class__ is np.ndarray else x if x.__class__ is float else array_namespace(x).mean(x)

    def backward(self, grad, out, x):
        return (_spread(grad, x, 1.0 / max(np.size(x), 1)),)


class SumSq(Gate):
    name, arity = "sumsq", 1
    doc = "sumsq(x) = x[0]**2 + x[1]**2 + ... (every element of an array; one number)"
    grad_doc = "d/dx[i] = 2 * x[i]"
    keeps_floats = True
    source = Source("x * x", ("2.0 * g * x",), args=("x",), array_forward="np.vdot(x, x)")

    def forward(self, x):
        if x.__class__ is np.ndarray:
            return np.vdot(x, x)  # one pass, no temporary array of squares
        if is_foreign(x):
            return array_namespace(x).sum(x * x)
        return x * x

    def backward(self, grad, out, x):
        return ((2.0 * float(grad)) * x if x.__class__ is np.ndarray else 2.0 * grad * x,)
