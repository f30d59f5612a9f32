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

``forward`` takes Python floats or arrays and broadcasts like numpy. Arrays may be of
any library the Python array API reaches (numpy, dask, CuPy, JAX, array-api-strict):
a gate that calls functions rather than operators calls them from
``xp = gatekit.array_namespace(x, y)`` (numpy for numpy arrays and numbers), so the
same kind of array comes back.
``backward`` is the vector-Jacobian product: given the upstream gradient ``grad``
and the forward output ``out`` (so ``exp`` and ``sigmoid`` can reuse it), it returns
one gradient per input. It may return gradients in the broadcast shape: the engine
reduces each to its input's shape.

``Gate`` is a :class:`typing.Protocol`, so any object with these members is a gate;
subclassing it gives the defaults for ``symbol`` and ``domain``.

Optional members make a gate fast, and none changes what it computes (they are
read with ``getattr``, so they are not part of the protocol's ``isinstance`` test):

- ``keeps_floats = True`` promises that on Python floats ``forward`` and ``backward``
  return Python floats and never touch numpy's error state (out-of-domain inputs still
  give inf/nan, never an exception or a warning). A circuit of such gates runs on
  floats without numpy at all.
- ``source`` (a :class:`Source`) describes forward and backward as small expressions,
  the way one would write them by hand (``Source("x * y", ("y * g", "x * g"))``).
  Compiled circuits (:mod:`gatekit.codegen`) inline them; a gate without one is called
  through its methods, so it compiles too.
- ``source_for_shapes(shapes)``, for a gate whose computation depends on its arguments'
  shapes (``linear``: a matrix or a vector, a batch or one point), returns a ``Source``
  whose array templates are right for arguments of exactly these shapes (one tuple per
  argument, ``()`` for a number; every argument and the upstream gradient a float), or
  None. Compiled code made for one kind of inputs (:mod:`gatekit.shape_plan`) asks once
  per kind, so nothing is tested per call; it must compute what the methods compute.
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .errors import GateValidationError

__all__ = ["Gate", "Domain", "Interval", "Source", "OPERATOR_SYMBOLS"]

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

    def __post_init__(self) -> None:
        # A bad interval is a plugin author's typo: say so when the gate is defined,
        # not as a confusing failure of its gradient check later.
        for attr in ("low", "high", "margin"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise GateValidationError(f"Interval {attr}={value!r} must be a finite number")
        if not self.low < self.high:
            raise GateValidationError(f"Interval low={self.low!r} must be below high={self.high!r}")
        if self.away_from_zero and not (self.margin > 0 and (self.high >= 2 * self.margin or self.low <= -2 * self.margin)):
            raise GateValidationError(
                f"Interval [{self.low!r}, {self.high!r}] with away_from_zero needs a positive margin and "
                f"room of 2 * margin = {2 * self.margin!r} on one side of zero"
            )

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = rng.uniform(self.low, self.high, size=shape)
        if self.away_from_zero:
            # Push points inside (-margin, margin) out of the band, to whichever side
            # still lies inside [low, high] (the nearer side first).
            small = np.abs(x) < self.margin
            pushed = np.where(x < 0, -1.0, 1.0) * (self.margin + np.abs(x))
            flipped = -pushed
            fits = (pushed >= self.low) & (pushed <= self.high)
            x = np.where(small, np.where(fits, pushed, flipped), x)
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

    ``intervals`` holds one :class:`Interval` per argument; the last one also serves
    any further argument, so a single Interval (bare or in a tuple) serves them all.
    ``kink`` (optional) returns the distance from a point to where the gate is not
    differentiable (``|x - y|`` for ``max``); the checker skips points closer than
    its step, where no finite difference can agree with any gradient.
    ``shapes`` (optional) lists the argument shapes a check tries, one tuple of
    shapes per round, for a gate that is not elementwise (``linear`` wants a matrix
    and a vector, not two broadcastable arrays); by default scalars, equal arrays
    and broadcast arrays are tried.
    """

    intervals: tuple[Interval, ...] = (Interval(),)
    kink: Callable[..., Any] | None = field(default=None, compare=False)
    shapes: tuple[tuple[tuple[int, ...], ...], ...] | None = None

    def __post_init__(self) -> None:
        intervals = self.intervals
        if isinstance(intervals, Interval):  # Domain(Interval(0.1, 3)) means one for all
            intervals = (intervals,)
        intervals = tuple(intervals) if isinstance(intervals, (tuple, list)) else intervals
        if not isinstance(intervals, tuple) or not intervals or not all(isinstance(iv, Interval) for iv in intervals):
            raise GateValidationError(
                f"Domain intervals must be one gatekit.Interval or a non-empty tuple of them, got {self.intervals!r}"
            )
        if self.kink is not None and not callable(self.kink):
            raise GateValidationError(f"Domain kink must be a function of the gate's inputs, got {self.kink!r}")
        object.__setattr__(self, "intervals", intervals)  # frozen: set once, here

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
        if self.shapes:
            parts.append("shapes " + ", ".join(" and ".join(str(shape) for shape in row) for row in self.shapes))
        return "; ".join(parts)


DEFAULT_DOMAIN = Domain()


@dataclass(frozen=True)
class Source:
    """A gate's forward and backward as Python expressions (for compiled circuits).

    The expressions name the gate's arguments as ``args`` (``x``, ``y`` by default),
    the upstream gradient as ``g`` and the forward output as ``out``; on floats they
    may call ``math.<f>``, on arrays ``np.<f>``. ``forward`` and ``backward`` are for
    floats; ``array_forward``/``array_backward`` are for numpy arrays and default to
    the float ones (right when they use only operators). A text left out (``None``)
    means: call the gate's method there. Floats may raise where numpy gives inf/nan
    (``math.exp(1000)``): compiled code then reruns that call in the interpreter.
    Every text is parsed and checked against this vocabulary before it is used.
    """

    forward: str | None
    backward: tuple[str, ...] | None = None
    args: tuple[str, ...] = ("x", "y")
    array_forward: str | None = None
    array_backward: tuple[str, ...] | None = None

    def for_arrays(self) -> tuple[str | None, tuple[str, ...] | None]:
        """The forward and backward texts for numpy arrays."""
        forward = self.array_forward if self.array_forward is not None else _operators_only(self.forward)
        if self.array_backward is not None:
            return forward, self.array_backward
        backward = self.backward
        if backward is not None and any(_operators_only(t) is None for t in backward):
            backward = None
        return forward, backward


def _operators_only(text: str | None) -> str | None:
    """``text`` if it calls nothing and branches on nothing (so it works on arrays as written)."""
    if text is None:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return text  # let the code generator report it, naming the gate
    branchy = (ast.Call, ast.Attribute, ast.IfExp, ast.Compare, ast.BoolOp)
    return None if any(isinstance(n, branchy) for n in ast.walk(tree)) else text


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

    # Display: only methods every object has (__repr__, __init_subclass__) go here, so
    # isinstance(obj, Gate) asks nothing more of a gate that does not subclass Gate;
    # a subclass gets its notebook display (_repr_markdown_) as it is created.
    def __repr__(self) -> str:
        symbol = getattr(self, "symbol", None)
        bound = f", operator {symbol!r}" if symbol else ""
        return f"<Gate {getattr(self, 'name', '?')}: {getattr(self, 'doc', '')}{bound}>"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_repr_markdown_" not in cls.__dict__ and not cls.__dict__.get("_is_protocol", False):
            cls._repr_markdown_ = gate_markdown  # type: ignore[attr-defined]

    # Both signatures end in ``*xs: Any, **kwargs: Any``: the typing spec's gradual form
    # ("any parameters from here on"), so that mypy and pyright both accept a gate's
    # ``forward(self, x)`` or ``backward(self, grad, out, x, y)`` as an override. gatekit
    # calls them with positional arguments only.
    def forward(self, *xs: Any, **kwargs: Any) -> Any:
        """The gate's value (``forward(x, ...)``); numpy in, numpy out, elementwise with broadcasting."""
        ...

    def backward(self, grad: Any, out: Any, *xs: Any, **kwargs: Any) -> tuple[Any, ...]:
        """One gradient per input (``backward(grad, out, x, ...)``): ``grad * d(out)/d(x_i)``."""
        ...


def gate_markdown(gate: Any) -> str:
    """A gate for a notebook: its name, arity, operator, formula and local-gradient rule."""
    rule = getattr(gate, "grad_doc", None)
    symbol = getattr(gate, "symbol", None)
    lines = [f"**{gate.name}** ({gate.arity} input(s){f', operator `{symbol}`' if symbol else ''}): `{gate.doc}`"]
    if rule:
        lines.append(f"local gradient: `{rule}`")
    return "\n\n".join(lines)
