"""Wire: the handle on one node being built, and the Python operators on it.

``x * y`` on two wires adds a ``mul`` node to their :class:`~gatekit.compose.Composer`.
The commonest operator calls add their node right here (building is paid per node);
anything that needs checking or resolving goes back to the Composer, the one builder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:
    from .compose import Composer

__all__ = ["Wire"]


def _binary_operator(symbol: str) -> Callable[[Wire, Any], Wire]:
    """``wire (op) other``: wire (op) wire, the commonest call, adds its node right here.

    Building is paid per node, so this is the whole of it: the node's arguments (a
    tuple of ints, which the collector soon stops tracking), its gate's spec, its id,
    and the Wire handed back. A number already made a constant takes the same path.
    Anything else (a new number, a wire of another Composer, the first use of the
    operator) goes through :meth:`Composer.operator`, which checks and explains.
    """

    def method(self: Wire, other: Any) -> Wire:
        composer = self.composer
        spec = composer._binary.get(symbol)
        if spec is not None:
            b: int | None
            if other.__class__ is Wire and other.composer is composer:
                b = other.id
            elif other.__class__ is float or other.__class__ is int:
                b = composer._number_ids.get(other)
                if b is None:
                    return composer.operator(symbol, self, other)
            else:
                return composer.operator(symbol, self, other)
            args = composer._args
            n = len(args)
            args.append((self.id, b))
            composer._node_specs.append(spec)
            composer._ids.append(n)
            return Wire(composer, n)
        return composer.operator(symbol, self, other)

    method.__name__ = f"wire {symbol} other"
    return method


def _reflected_operator(symbol: str) -> Callable[[Wire, Any], Wire]:
    """``number (op) wire`` (``0.05 * x``, ``1 + x``): the fast path above, for a constant made before."""

    def method(self: Wire, other: Any) -> Wire:
        composer = self.composer
        spec = composer._binary.get(symbol)
        if spec is not None and (other.__class__ is float or other.__class__ is int):
            a = composer._number_ids.get(other)
            if a is not None:
                args = composer._args
                n = len(args)
                args.append((a, self.id))
                composer._node_specs.append(spec)
                composer._ids.append(n)
                return Wire(composer, n)
        return composer.operator(symbol, other, self)

    return method


class Wire:
    """A handle on one node being built; arithmetic on wires adds gate nodes."""

    __slots__ = ("composer", "id")
    #: numpy must not treat a wire as an array: ``np.float64(2) * x`` calls ``x.__rmul__``.
    __array_ufunc__ = None

    def __init__(self, composer: Composer, id: int):
        self.composer, self.id = composer, id

    def named(self, label: str) -> Wire:
        """Give this node a stage label (shown in tables; found by ``trace.value(label)``)."""
        self.composer.label(self, label)
        return self

    def __repr__(self) -> str:
        return f"<Wire {self.composer.describe(self.id)}>"

    __add__ = _binary_operator("+")
    __sub__ = _binary_operator("-")
    __mul__ = _binary_operator("*")
    __truediv__ = _binary_operator("/")
    __pow__ = _binary_operator("**")
    __radd__ = _reflected_operator("+")
    __rsub__ = _reflected_operator("-")
    __rmul__ = _reflected_operator("*")
    __rtruediv__ = _reflected_operator("/")
    __rpow__ = _reflected_operator("**")

    def __neg__(self) -> Wire:
        return self.composer.operator("-", self)

    def __abs__(self) -> Wire:
        return self.composer.gate("abs", self)  # abs(x): the gate named abs, as in expressions

    def __bool__(self) -> bool:
        raise UsageError("a wire has no truth value while the circuit is being built; use max/min gates")

    def _compare(self, o: Any) -> bool:
        raise UsageError("wires cannot be compared while the circuit is being built; use max, min or relu gates")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    __hash__ = object.__hash__
