"""The piecewise-linear gates: max, min, relu, abs.

At a kink the gradient is the mean of the one-sided derivatives (see the package
docstring): ties split the gradient evenly. On Python floats each compares with
Python operators (the same IEEE comparisons as numpy's, ~20x cheaper than a ufunc).
On arrays each computes with the arrays' own library; a comparison's booleans become
numbers through ``astype`` (the array API standard has no arithmetic on booleans), in
the inputs' float dtype, so float32 stays float32.
"""

from __future__ import annotations

import math

import numpy as np

from gatekit import Domain, Gate, Source, array_namespace


def _share(xp, x, y, wins):
    """The first argument's share of the gradient: 1 where it ``wins`` (``x > y``), 0 where it loses, 1/2 at a tie."""
    dtype = xp.result_type(x, y)
    if xp is np:  # numpy adds booleans, which saves a cast; the standard does not
        return (wins + 0.5 * np.equal(x, y)).astype(dtype, copy=False)  # a fresh array already: no copy
    return xp.astype(wins, dtype) + 0.5 * xp.astype(x == y, dtype)


def _tie_distance(x, y):
    return np.abs(np.subtract(x, y))


def _zero_distance(x):
    return np.abs(x)


class Max(Gate):
    name, arity = "max", 2
    doc = "max(x, y) = x if x > y else y"
    grad_doc = "d/dx = 1 if x > y, 0 if x < y, 1/2 at a tie; d/dy the rest"
    domain = Domain(kink=_tie_distance)
    keeps_floats = True
    source = Source(
        "(x if x > y or x != x else y)",
        ("g * ((x > y) + 0.5 * (x == y))", "g * (1.0 - ((x > y) + 0.5 * (x == y)))"),
        array_forward="np.maximum(x, y)",
        # where, not arithmetic on booleans (which numpy widens to float64 and the array API forbids).
        array_backward=("np.where(np.greater(x, y), g, np.where(np.equal(x, y), 0.5 * g, 0.0 * g))",
                        "np.where(np.greater(x, y), 0.0 * g, np.where(np.equal(x, y), 0.5 * g, g))"),
    )

    def forward(self, x, y):
        if x.__class__ is float and y.__class__ is float:
            # What np.maximum gives: a nan wins, and a tie (0.0 and -0.0 too) gives y.
            return x if x > y or x != x else y
        return array_namespace(x, y).maximum(x, y)

    def backward(self, grad, out, x, y):
        if x.__class__ is float and y.__class__ is float:
            share = 1.0 if x > y else 0.5 if x == y else 0.0
            return grad * share, grad * (1.0 - share)
        xp = array_namespace(x, y)
        share = _share(xp, x, y, xp.greater(x, y))
        return grad * share, grad * (1.0 - share)


class Min(Gate):
    name, arity = "min", 2
    doc = "min(x, y) = x if x < y else y"
    grad_doc = "d/dx = 1 if x < y, 0 if x > y, 1/2 at a tie; d/dy the rest"
    domain = Domain(kink=_tie_distance)
    keeps_floats = True
    source = Source(
        "(x if x < y or x != x else y)",
        ("g * ((x < y) + 0.5 * (x == y))", "g * (1.0 - ((x < y) + 0.5 * (x == y)))"),
        array_forward="np.minimum(x, y)",
        array_backward=("np.where(np.less(x, y), g, np.where(np.equal(x, y), 0.5 * g, 0.0 * g))",
                        "np.where(np.less(x, y), 0.0 * g, np.where(np.equal(x, y), 0.5 * g, g))"),
    )

    def forward(self, x, y):
        if x.__class__ is float and y.__class__ is float:
            return x if x < y or x != x else y
        return array_namespace(x, y).minimum(x, y)

    def backward(self, grad, out, x, y):
        if x.__class__ is float and y.__class__ is float:
            share = 1.0 if x < y else 0.5 if x == y else 0.0
            return grad * share, grad * (1.0 - share)
        xp = array_namespace(x, y)
        share = _share(xp, x, y, xp.less(x, y))
        return grad * share, grad * (1.0 - share)


class Relu(Gate):
    name, arity = "relu", 1
    doc = "relu(x) = max(x, 0)"
    grad_doc = "d/dx = 1 if x > 0, 0 if x < 0, 1/2 at 0"
    domain = Domain(kink=_zero_distance)
    keeps_floats = True
    source = Source(
        "(x if x > 0.0 or x != x else 0.0)",
        ("g * ((x > 0.0) + 0.5 * (x == 0.0))",),
        args=("x",),
        array_forward="np.maximum(x, 0.0)",
        # Two forms of the interpreter's very floats, g * share (1, 1/2 at 0, 0 below and at
        # nan). Up to ~1,000 numbers (a scalar-gate model's batch) the number of numpy calls
        # decides: heaviside's form takes three (heaviside gives nan at a nan x, which fmax
        # makes 0), np.where's five. Beyond, the cost per number decides, and heaviside is
        # slow per number (~5x): np.where's form, which makes one full-size temporary fewer
        # than two np.where would (a relu at 10,000 x 16 points: half the time).
        array_backward=("(g * np.fmax(np.heaviside(x, 0.5), 0.0) if np.size(x) <= 1024 else "
                        "np.where(np.equal(x, 0.0), 0.5 * g, g * np.greater(x, 0.0)))",),
    )

    def forward(self, x):
        if x.__class__ is float:
            return x if x > 0.0 or x != x else 0.0
        return array_namespace(x).maximum(x, 0.0)

    def backward(self, grad, out, x):
        if x.__class__ is float:
            return (grad * (1.0 if x > 0.0 else 0.5 if x == 0.0 else 0.0),)
        xp = array_namespace(x)
        return (grad * _share(xp, x, 0.0, xp.greater(x, 0.0)),)


class Abs(Gate):
    name, arity = "abs", 1
    doc = "abs(x) = |x|"
    grad_doc = "d/dx = sign(x) (0 at 0)"
    domain = Domain(kink=_zero_distance)
    keeps_floats = True
    source = Source(
        "abs(x)",
        ("g * ((x > 0.0) - (x < 0.0) if x == x else math.nan)",),
        args=("x",),
        array_forward="np.abs(x)",
        array_backward=("g * np.sign(x)",),
    )

    def forward(self, x):
        if x.__class__ is float:
            return abs(x)
        return array_namespace(x).abs(x)

    def backward(self, grad, out, x):
        if x.__class__ is float:
            return (grad * (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0 if x == 0.0 else math.nan),)
        return (grad * array_namespace(x).sign(x),)
