"""The gates that ship with gatekit, registered through the same hook as anyone's.

Convention at kinks and ties (max, min, relu, abs): the gradient is the mean of the
one-sided derivatives. ``max(x, x)`` sends half the gradient to each argument,
``relu'(0) = 0.5``, ``abs'(0) = 0``. It is the value a central difference gives at
the kink, so a gradient check agrees with it there too, and it treats tied
arguments symmetrically.

Every gate is written for numpy arrays and Python floats alike. gatekit calls gates
under ``np.errstate(all="ignore")``: out-of-domain inputs give IEEE inf and nan (the
engine reports where they first appear), never an exception or a warning.
``sum``, ``mean`` and ``sumsq`` reduce an array to one number and ``linear`` is a matrix
product (not elementwise): the gates that carry data through a model.
"""

from __future__ import annotations

from gatekit import hookimpl

from .arithmetic import Add, Div, Mul, Neg, Pow, Reciprocal, Sub
from .linear import Linear
from .piecewise import Abs, Max, Min, Relu
from .reduce import Mean, Sum, SumSq
from .smooth import Exp, Log, Sigmoid, Tanh

GATES = (Add, Sub, Mul, Div, Neg, Reciprocal, Pow, Max, Min, Exp, Log, Sigmoid, Tanh, Relu, Abs, Sum, Mean, SumSq, Linear)

__all__ = ["GATES", "gatekit_register_gates"] + [cls.__name__ for cls in GATES]


@hookimpl
def gatekit_register_gates(register):
    for cls in GATES:
        register(cls())
