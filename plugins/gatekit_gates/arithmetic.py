"""The arithmetic gates: add, sub, mul, div, neg, reciprocal, pow."""

from __future__ import annotations

import numpy as np

from gatekit import Domain, Gate, Interval

AWAY_FROM_ZERO = Interval(away_from_zero=True)
_F64 = np.float64


class Add(Gate):
    name, arity, symbol = "add", 2, "+"
    doc = "add(x, y) = x + y"
    grad_doc = "d/dx = 1, d/dy = 1"

    def forward(self, x, y):
        return x + y

    def backward(self, grad, out, x, y):
        return grad, grad


class Sub(Gate):
    name, arity, symbol = "sub", 2, "-"
    doc = "sub(x, y) = x - y"
    grad_doc = "d/dx = 1, d/dy = -1"

    def forward(self, x, y):
        return x - y

    def backward(self, grad, out, x, y):
        return grad, -grad


class Mul(Gate):
    name, arity, symbol = "mul", 2, "*"
    doc = "mul(x, y) = x * y"
    grad_doc = "d/dx = y, d/dy = x"

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        return grad * y, grad * x


class Div(Gate):
    name, arity, symbol = "div", 2, "/"
    doc = "div(x, y) = x / y"
    grad_doc = "d/dx = 1 / y, d/dy = -x / y**2"
    domain = Domain((Interval(), AWAY_FROM_ZERO))

    def forward(self, x, y):
        return np.true_divide(x, y)

    def backward(self, grad, out, x, y):
        gx = np.true_divide(grad, y)
        return gx, -gx * out


class Neg(Gate):
    name, arity, symbol = "neg", 1, "-"
    doc = "neg(x) = -x"
    grad_doc = "d/dx = -1"

    def forward(self, x):
        return -x

    def backward(self, grad, out, x):
        return (-grad,)


class Reciprocal(Gate):
    name, arity = "reciprocal", 1
    doc = "reciprocal(x) = 1 / x"
    grad_doc = "d/dx = -1 / x**2"
    domain = Domain((AWAY_FROM_ZERO,))

    def forward(self, x):
        # A ufunc call costs ten scalar divisions. The scalar paths divide the same
        # IEEE way and return float64 as true_divide does; a Python 0.0 goes to numpy
        # (Python would raise), a float64 0 gives inf under the engine's errstate.
        if x.__class__ is _F64:
            return 1.0 / x
        if x.__class__ is float and x:
            return _F64(1.0 / x)
        return np.true_divide(1.0, x)

    def backward(self, grad, out, x):
        return (-grad * out * out,)


class Pow(Gate):
    name, arity, symbol = "pow", 2, "**"
    doc = "pow(x, y) = x ** y"
    grad_doc = "d/dx = y * x**(y - 1), d/dy = x**y * log(x) (x > 0)"
    domain = Domain((Interval(0.1, 3.0), Interval(-3.0, 3.0)))

    def forward(self, x, y):
        # float_power, not power: integer arguments (pow(2, -1)) give 0.5, not an error.
        return _narrow(np.float_power(x, y), x, y)

    def backward(self, grad, out, x, y):
        # x ** 0 is constant, so d/dx is 0 even at x == 0 (where y * x**(y-1) is 0 * inf).
        gx = grad * np.where(np.equal(y, 0), 0.0, y * np.float_power(x, np.subtract(y, 1)))
        # x ** y has no real derivative in y for x < 0; at x == 0 its limit is 0.
        gy = grad * np.where(np.greater(x, 0), out * np.log(np.where(np.greater(x, 0), x, 1.0)),
                             np.where(np.equal(x, 0), 0.0, np.nan))
        return _narrow(gx, x, y), _narrow(gy, x, y)


def _narrow(value, x, y):
    """float_power computes in float64: give float32 arguments a float32 answer (the dtype rule)."""
    dtype = np.result_type(x, y)
    return value.astype(dtype) if dtype.kind == "f" and dtype.itemsize < 8 else value
