"""The smooth gates: exp, log, sigmoid, tanh. Each reuses its output backward."""

from __future__ import annotations

import numpy as np

from gatekit import Domain, Gate, Interval


class Exp(Gate):
    name, arity = "exp", 1
    doc = "exp(x) = e ** x"
    grad_doc = "d/dx = exp(x)"

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad, out, x):
        return (grad * out,)


class Log(Gate):
    name, arity = "log", 1
    doc = "log(x) = natural logarithm of x (x > 0)"
    grad_doc = "d/dx = 1 / x"
    domain = Domain((Interval(0.1, 3.0),))

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out, x):
        return (np.true_divide(grad, x),)


class Sigmoid(Gate):
    name, arity = "sigmoid", 1
    doc = "sigmoid(x) = 1 / (1 + exp(-x))"
    grad_doc = "d/dx = sigmoid(x) * (1 - sigmoid(x))"

    def forward(self, x):
        # exp(-|x|) lies in (0, 1], so neither branch can overflow for any finite x.
        z = np.exp(-np.abs(x))
        # [()] turns the 0-d array np.where makes from a scalar back into a scalar.
        return np.where(np.greater_equal(x, 0), 1.0 / (1.0 + z), z / (1.0 + z))[()]

    def backward(self, grad, out, x):
        return (grad * out * (1.0 - out),)


class Tanh(Gate):
    name, arity = "tanh", 1
    doc = "tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))"
    grad_doc = "d/dx = 1 - tanh(x)**2"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        return (grad * (1.0 - out * out),)
