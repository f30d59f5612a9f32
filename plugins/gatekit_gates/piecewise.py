"""The piecewise-linear gates: max, min, relu, abs.

At a kink the gradient is the mean of the one-sided derivatives (see the package
docstring): ties split the gradient evenly.
"""

from __future__ import annotations

import numpy as np

from gatekit import Domain, Gate


_F64 = np.float64
#: Scalars that max compares with Python operators: the same IEEE comparisons as
#: numpy's, without a ufunc call each (a scalar max costs ~20x less).
_SCALARS = frozenset((float, _F64))
#: (share of x, share of y) of max's gradient: x wins, a tie, y wins (or a nan).
_X_WINS, _TIE, _Y_WINS = (_F64(1.0), _F64(0.0)), (_F64(0.5), _F64(0.5)), (_F64(0.0), _F64(1.0))


def _tie_distance(x, y):
    return np.abs(np.subtract(x, y))


def _zero_distance(x):
    return np.abs(x)


class Max(Gate):
    name, arity = "max", 2
    doc = "max(x, y) = x if x > y else y"
    grad_doc = "d/dx = 1 if x > y, 0 if x < y, 1/2 at a tie; d/dy the rest"
    domain = Domain(kink=_tie_distance)

    def forward(self, x, y):
        if x.__class__ in _SCALARS and y.__class__ in _SCALARS:
            # What np.maximum gives: a nan wins, and a tie (0.0 and -0.0 too) gives y.
            return _F64(x if x > y or x != x else y)
        return np.maximum(x, y)

    def backward(self, grad, out, x, y):
        if x.__class__ in _SCALARS and y.__class__ in _SCALARS:
            sx, sy = _X_WINS if x > y else _TIE if x == y else _Y_WINS
            return grad * sx, grad * sy
        share = (np.greater(x, y) + 0.5 * np.equal(x, y)).astype(np.result_type(x, y))  # float32 stays float32
        return grad * share, grad * (1.0 - share)


class Min(Gate):
    name, arity = "min", 2
    doc = "min(x, y) = x if x < y else y"
    grad_doc = "d/dx = 1 if x < y, 0 if x > y, 1/2 at a tie; d/dy the rest"
    domain = Domain(kink=_tie_distance)

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, grad, out, x, y):
        share = (np.less(x, y) + 0.5 * np.equal(x, y)).astype(np.result_type(x, y))  # float32 stays float32
        return grad * share, grad * (1.0 - share)


class Relu(Gate):
    name, arity = "relu", 1
    doc = "relu(x) = max(x, 0)"
    grad_doc = "d/dx = 1 if x > 0, 0 if x < 0, 1/2 at 0"
    domain = Domain(kink=_zero_distance)

    def forward(self, x):
        return np.maximum(x, 0.0)

    def backward(self, grad, out, x):
        return (grad * (np.greater(x, 0) + 0.5 * np.equal(x, 0)).astype(np.result_type(x, 0.0)),)


class Abs(Gate):
    name, arity = "abs", 1
    doc = "abs(x) = |x|"
    grad_doc = "d/dx = sign(x) (0 at 0)"
    domain = Domain(kink=_zero_distance)

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad, out, x):
        return (grad * np.sign(x),)
