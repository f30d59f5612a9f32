"""The gate protocol: what every gate, built-in or third-party, provides.

A gate is stateless: one instance serves every node that uses it, in any circuit.
It computes its value forward and, right beside it, its local gradient backward::

    class Mul(Gate):
        name, arity, symbol = "mul", 2, "*"
        doc = "mul(x, y) = x * y"

        def forward(self, x, y):
            return x * y

        def backward(self, grad, out, x, y):
            return grad * y, grad * x      # d/dx = y, d/dy = x

``forward`` takes Python floats or numpy arrays and broadcasts like numpy.
``backward`` is the vector-Jacobian product: given the upstream gradient ``grad``
and the forward output ``out`` (so ``exp`` and ``sigmoid`` can reuse it), it returns
one gradient per input. It may return gradients in the broadcast shape: the engine
reduces each to its input's shape.

``Gate`` is a :class:`typing.Protocol`, so any object with these members is a gate;
subclassing it gives the defaults for ``symbol`` and ``domain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

__all__ = ["Gate", "Domain", "Interval", "OPERATOR_SYMBOLS"]

#: The operators an expression can bind to a gate: binary ones and unary minus ("neg").
OPERATOR_SYMBOLS = {
    2: ("+", "-", "*", "/", "**"),
    1: ("-",),
}


@dataclass(frozen=True)
class Interval:
    """Where test points for one argument are drawn: ``low <= x <= high``.

    ``away_from_zero`` keeps ``|x| >= margin`` (for ``1/x``), so the gradient check
    never lands on a pole.
    """

    low: float = -3.0
    high: float = 3.0
    away_from_zero: bool = False
    margin: float = 0.1

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = rng.uniform(self.low, self.high, size=shape)
        if self.away_from_zero:
            # Push points inside (-margin, margin) out to the nearer edge of the band.
            small = np.abs(x) < self.margin
            x = np.where(small, np.where(x < 0, -1.0, 1.0) * (self.margin + np.abs(x)), x)
        return x

    def contains(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        ok = (x >= self.low) & (x <= self.high)
        if self.away_from_zero:
            ok &= np.abs(x) >= self.margin
        return ok


@dataclass(frozen=True)
class Domain:
    """Where a gate is smooth enough to check its gradient numerically.

    ``intervals`` holds one :class:`Interval` per argument (or one shared by all).
    ``kink`` (optional) returns the distance from a point to where the gate is not
    differentiable (``|x - y|`` for ``max``); the checker skips points closer than
    its step, where no finite difference can agree with any gradient.
    """

    intervals: tuple[Interval, ...] = (Interval(),)
    kink: Callable[..., Any] | None = field(default=None, compare=False)

    def interval(self, i: int) -> Interval:
        return self.intervals[i] if i < len(self.intervals) else self.intervals[-1]

    def sample(self, rng: np.random.Generator, arity: int, shape: tuple[int, ...] = ()) -> list[np.ndarray]:
        return [self.interval(i).sample(rng, shape) for i in range(arity)]

    def describe(self, arity: int) -> str:
        parts = []
        for i in range(arity):
            iv = self.interval(i)
            text = f"x{i} in [{iv.low:g}, {iv.high:g}]"
            if iv.away_from_zero:
                text += f" with |x{i}| >= {iv.margin:g}"
            parts.append(text)
        return "; ".join(parts)


DEFAULT_DOMAIN = Domain()


@runtime_checkable
class Gate(Protocol):
    """A real-valued gate: a value forward, a local gradient backward."""

    #: Registry key, e.g. ``"mul"``: lowercase letters, digits, ``_`` and ``-``.
    name: str
    #: Number of inputs.
    arity: int
    #: One line with the formula, e.g. ``"mul(x, y) = x * y"``.
    doc: str
    #: Operator the gate binds in expressions (``+ - * / **``, or ``-`` for a unary gate).
    symbol: ClassVar[str | None] = None
    #: The local-gradient rule in words, e.g. ``"d/dx = y, d/dy = x"`` (shown by the CLI).
    grad_doc: ClassVar[str | None] = None
    #: Where test points are drawn from (see :class:`Domain`).
    domain: ClassVar[Domain] = DEFAULT_DOMAIN

    def forward(self, *xs: Any) -> Any:
        """The gate's value; numpy in, numpy out, elementwise with broadcasting."""
        ...

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        """One gradient per input: ``grad * d(out)/d(x_i)``."""
        ...
