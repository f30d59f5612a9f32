"""Three gates written from scratch: sin, cos and softplus.

Each gate states its value in ``forward`` and, right beside it, its local gradient
in ``backward``. ``backward`` gets the upstream gradient ``grad``, the forward output
``out`` and the inputs, and returns one gradient per input (a tuple, even for one).
Use numpy functions, so the gate works on floats and on arrays alike. The values are
annotated ``Any``: a float or a numpy array of any shape, which numpy's types cannot
say more precisely; the annotations satisfy ``mypy --strict`` and pyright as they stand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit import Gate


class Sin(Gate):
    name, arity = "sin", 1
    doc = "sin(x) = the sine of x (radians)"
    grad_doc = "d/dx = cos(x)"

    def forward(self, x: Any) -> Any:
        return np.sin(x)

    def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
        return (grad * np.cos(x),)


class Cos(Gate):
    name, arity = "cos", 1
    doc = "cos(x) = the cosine of x (radians)"
    grad_doc = "d/dx = -sin(x)"

    def forward(self, x: Any) -> Any:
        return np.cos(x)

    def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
        return (-grad * np.sin(x),)


class Softplus(Gate):
    name, arity = "softplus", 1
    doc = "softplus(x) = log(1 + exp(x))"
    grad_doc = "d/dx = sigmoid(x) = exp(x - softplus(x))"

    def forward(self, x: Any) -> Any:
        # logaddexp(0, x) never overflows, unlike log(1 + exp(x)) for x > 709.
        return np.logaddexp(0.0, x)

    def backward(self, grad: Any, out: Any, x: Any) -> tuple[Any]:
        # sigmoid(x) = exp(x - softplus(x)); the exponent is never positive, so it cannot overflow.
        return (grad * np.exp(x - out),)
