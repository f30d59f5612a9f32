"""The arithmetic gates: add, sub, mul, div, neg, reciprocal, pow.

Each keeps Python floats floats (see ``Gate.keeps_floats``) and gives its forward and
backward as source (see ``gatekit.Source``) for compiled circuits. On arrays each
computes with the arrays' own library (``xp = array_namespace(...)``: numpy for numpy).
"""

from __future__ import annotations

import math

import numpy as np

from gatekit import Domain, Gate, Interval, Source, array_namespace

from ._floats import ieee

AWAY_FROM_ZERO = Interval(away_from_zero=True)


class Add(Gate):
    name, arity, symbol = "add", 2, "+"
    doc = "add(x, y) = x + y"
    grad_doc = "d/dx = 1, d/dy = 1"
    keeps_floats = True
    source = Source("x + y", ("g", "g"))

    def forward(self, x, y):
        return x + y

    def backward(self, grad, out, x, y):
        return grad, grad


class Sub(Gate):
    name, arity, symbol = "sub", 2, "-"
    doc = "sub(x, y) = x - y"
    grad_doc = "d/dx = 1, d/dy = -1"
    keeps_floats = True
    source = Source("x - y", ("g", "-g"))

    def forward(self, x, y):
        return x - y

    def backward(self, grad, out, x, y):
        return grad, -grad


class Mul(Gate):
    name, arity, symbol = "mul", 2, "*"
    doc = "mul(x, y) = x * y"
    grad_doc = "d/dx = y, d/dy = x"
    keeps_floats = True
    source = Source("x * y", ("y * g", "x * g"))

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        return grad * y, grad * x


class Div(Gate):
    name, arity, symbol = "div", 2, "/"
    doc = "div(x, y) = x / y"
    grad_doc = "d/dx = 1 / y, d/dy = -x / y**2"
    domain = Domain((Interval(), AWAY_FROM_ZERO))
    keeps_floats = True
    source = Source("x / y", ("g / y", "-(g / y) * out"))

    def forward(self, x, y):
        if x.__class__ is float and y.__class__ is float:
            return x / y if y else ieee(np.true_divide, x, y)
        return array_namespace(x, y).divide(x, y)

    def backward(self, grad, out, x, y):
        if grad.__class__ is float and y.__class__ is float:
            gx = grad / y if y else ieee(np.true_divide, grad, y)
        else:
            gx = array_namespace(grad, y).divide(grad, y)
        return gx, -gx * out


class Neg(Gate):
    name, arity, symbol = "neg", 1, "-"
    doc = "neg(x) = -x"
    grad_doc = "d/dx = -1"
    keeps_floats = True
    source = Source("-x", ("-g",), args=("x",))

    def forward(self, x):
        return -x

    def backward(self, grad, out, x):
        return (-grad,)


class Reciprocal(Gate):
    name, arity = "reciprocal", 1
    doc = "reciprocal(x) = 1 / x"
    grad_doc = "d/dx = -1 / x**2"
    domain = Domain((AWAY_FROM_ZERO,))
    keeps_floats = True
    source = Source("1.0 / x", ("-g * out * out",), args=("x",))

    def forward(self, x):
        if x.__class__ is float:
            return 1.0 / x if x else ieee(np.true_divide, 1.0, x)
        return array_namespace(x).divide(1.0, x)

    def backward(self, grad, out, x):
        return (-grad * out * out,)


class Pow(Gate):
    name, arity, symbol = "pow", 2, "**"
    doc = "pow(x, y) = x ** y"
    grad_doc = "d/dx = y * x**(y - 1), d/dy = x**y * log(x) (x > 0)"
    domain = Domain((Interval(0.1, 3.0), Interval(-3.0, 3.0)))
    keeps_floats = True
    source = Source(
        "math.pow(x, y)",
        ("g * (0.0 if y == 0.0 else y * math.pow(x, y - 1.0))",
         "g * (out * math.log(x) if x > 0.0 else 0.0 if x == 0.0 else math.nan)"),
        # No array template: float_power (what math.pow gives, to the last bit; numpy's SIMD
        # power is not) computes in float64, and narrowing it back to float32 takes the method.
    )

    def forward(self, x, y):
        if x.__class__ is float and y.__class__ is float:
            if x > 0.0:
                try:
                    return x ** y  # a positive base: always real, as float_power
                except OverflowError:
                    return math.inf
            return ieee(np.float_power, x, y)
        xp = array_namespace(x, y)
        if xp is not np:
            return xp.pow(x, y)  # the standard's pow: float in, float out, in the arrays' dtype
        # float_power, not power: integer arguments (pow(2, -1)) give 0.5, not an error, and
        # its float64 results are math.pow's, which numpy's SIMD power's are not always.
        return _narrow(np.float_power(x, y), x, y)

    def backward(self, grad, out, x, y):
        if x.__class__ is float and y.__class__ is float and grad.__class__ is float and x > 0.0:
            try:
                gx = grad * (0.0 if y == 0.0 else y * x ** (y - 1.0))
                return gx, grad * (out * math.log(x))
            except OverflowError:
                pass
        xp = array_namespace(grad, x, y)
        if xp is not np:
            return _backward_xp(xp, grad, out, x, y)
        gx, gy = self._backward(grad, out, x, y)
        if x.__class__ is float and y.__class__ is float and grad.__class__ is float:
            return float(gx), float(gy)
        return _narrow(gx, x, y), _narrow(gy, x, y)

    @staticmethod
    def _backward(grad, out, x, y):
        with np.errstate(all="ignore"):  # reached from the float path too, which has none
            # x ** 0 is constant, so d/dx is 0 even at x == 0 (where y * x**(y-1) is 0 * inf).
            gx = grad * np.where(np.equal(y, 0), 0.0, y * np.float_power(x, np.subtract(y, 1)))
            # x ** y has no real derivative in y for x < 0; at x == 0 its limit is 0.
            gy = grad * np.where(np.greater(x, 0), out * np.log(np.where(np.greater(x, 0), x, 1.0)),
                                 np.where(np.equal(x, 0), 0.0, np.nan))
        return gx, gy


def _backward_xp(xp, grad, out, x, y):
    """Pow's backward in another array library: the same rules, with the standard's functions.

    The standard has no arithmetic on booleans and no ``where`` of two numbers, so a
    number argument (a constant exponent, the common case) takes Python's branch.
    """
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):  # numbers, and a gradient array
        dx, dy = (float(g) for g in Pow._backward(1.0, float(out), x, y))
        return grad * dx, grad * dy
    if isinstance(y, (int, float)):
        dx = 0.0 if y == 0 else y * xp.pow(x, y - 1.0)
    else:
        dx = xp.where(y == 0, 0.0, y * xp.pow(x, y - 1.0))
    if isinstance(x, (int, float)):
        dy = out * math.log(x) if x > 0 else 0.0 if x == 0 else math.nan
    else:
        positive = x > 0
        dy = xp.where(positive, out * xp.log(xp.where(positive, x, 1.0)), xp.where(x == 0, xp.zeros_like(x), xp.nan))
    return grad * dx, grad * dy


def _narrow(value, x, y):
    """float_power computes in float64: give float32 arguments a float32 answer (the dtype rule)."""
    dtype = np.result_type(x, y)
    return value.astype(dtype) if dtype.kind == "f" and dtype.itemsize < 8 else value
