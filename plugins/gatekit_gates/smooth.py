"""The smooth gates: exp, log, sigmoid, tanh. Each reuses its output backward.

On Python floats each calls :mod:`math` (a numpy ufunc on a float costs ~5x more),
asking numpy only where math would raise instead of giving inf or nan. On arrays
each computes with the arrays' own library (numpy for numpy).
"""

from __future__ import annotations

import math

import numpy as np

from gatekit import Domain, Gate, Interval, Source, array_namespace

from ._floats import ieee


class Exp(Gate):
    name, arity = "exp", 1
    doc = "exp(x) = e ** x"
    grad_doc = "d/dx = exp(x)"
    keeps_floats = True
    source = Source("math.exp(x)", ("g * out",), args=("x",), array_forward="np.exp(x)")

    def forward(self, x):
        if x.__class__ is float:
            try:
                return math.exp(x)
            except OverflowError:
                return math.inf
        return array_namespace(x).exp(x)

    def backward(self, grad, out, x):
        return (grad * out,)


class Log(Gate):
    name, arity = "log", 1
    doc = "log(x) = natural logarithm of x (x > 0)"
    grad_doc = "d/dx = 1 / x"
    domain = Domain((Interval(0.1, 3.0),))
    keeps_floats = True
    source = Source("math.log(x)", ("g / x",), args=("x",), array_forward="np.log(x)")

    def forward(self, x):
        if x.__class__ is float:
            return math.log(x) if x > 0.0 else ieee(np.log, x)
        return array_namespace(x).log(x)

    def backward(self, grad, out, x):
        if grad.__class__ is float and x.__class__ is float:
            return (grad / x if x else ieee(np.true_divide, grad, x),)
        return (array_namespace(grad, x).divide(grad, x),)


class Sigmoid(Gate):
    name, arity = "sigmoid", 1
    doc = "sigmoid(x) = 1 / (1 + exp(-x))"
    grad_doc = "d/dx = sigmoid(x) * (1 - sigmoid(x))"
    keeps_floats = True
    source = Source("1.0 / (1.0 + math.exp(-x))", ("g * out * (1.0 - out)",), args=("x",))

    def forward(self, x):
        # exp(-|x|) lies in (0, 1], so neither branch can overflow for any finite x.
        if x.__class__ is float:
            if x >= 0.0:
                return 1.0 / (1.0 + math.exp(-x))
            z = math.exp(x)  # also a nan's way through
            return z / (1.0 + z)
        xp = array_namespace(x)
        z = xp.exp(-xp.abs(x))
        out = xp.where(xp.greater_equal(x, 0.0), 1.0 / (1.0 + z), z / (1.0 + z))
        # [()] turns the 0-d array np.where makes from a numpy scalar back into a scalar.
        return out[()] if xp is np else out

    def backward(self, grad, out, x):
        return (grad * out * (1.0 - out),)


class Tanh(Gate):
    name, arity = "tanh", 1
    doc = "tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))"
    grad_doc = "d/dx = 1 - tanh(x)**2"
    keeps_floats = True
    source = Source("math.tanh(x)", ("g * (1.0 - out * out)",), args=("x",), array_forward="np.tanh(x)")

    def forward(self, x):
        if x.__class__ is float:
            return math.tanh(x)
        return array_namespace(x).tanh(x)

    def backward(self, grad, out, x):
        return (grad * (1.0 - out * out),)
