"""The builder: wire registered gates into a circuit with Python operators.

::

    c = Composer()
    x, y, z = c.inputs("x", "y", "z")
    q = (x + y).named("q")
    f = c.build(q * z)

Operators are bound to whatever gate the registry has for their symbol, so a plugin
that overrides ``mul`` changes what ``*`` does. Any gate is reachable by name:
``c.gate("max", a, b)`` or ``c.max(a, b)``. Python numbers mix in as constants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit import CONST, GATE, INPUT, Circuit, Node
from .errors import CircuitError, UsageError, suggest
from .values import is_input_name, label_problem

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Composer", "Wire"]

_NUMBER = (int, float, np.integer, np.floating)


def _is_number(x: Any) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, (bool, np.bool_))


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

    def _op(self, symbol: str, *args: Any) -> Wire:
        return self.composer.operator(symbol, *args)

    def __add__(self, o): return self._op("+", self, o)
    def __radd__(self, o): return self._op("+", o, self)
    def __sub__(self, o): return self._op("-", self, o)
    def __rsub__(self, o): return self._op("-", o, self)
    def __mul__(self, o): return self._op("*", self, o)
    def __rmul__(self, o): return self._op("*", o, self)
    def __truediv__(self, o): return self._op("/", self, o)
    def __rtruediv__(self, o): return self._op("/", o, self)
    def __pow__(self, o): return self._op("**", self, o)
    def __rpow__(self, o): return self._op("**", o, self)
    def __neg__(self): return self._op("-", self)

    def __bool__(self):
        raise UsageError("a wire has no truth value while the circuit is being built; use max/min gates")

    def _compare(self, o):
        raise UsageError("wires cannot be compared while the circuit is being built; use max, min or relu gates")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    __hash__ = object.__hash__


class Composer:
    """Builds one circuit: declare inputs, combine them, then :meth:`build`."""

    def __init__(self, registry: Registry | None = None):
        if registry is None:
            from .plugins import default_registry

            registry = default_registry()
        self.registry = registry
        self.nodes: list[Node] = []
        self._consts: dict[str, int] = {}
        self._input_names: set[str] = set()  # so a duplicate is found without a scan

    # -- nodes -------------------------------------------------------------------------
    def _add(self, node: Node) -> Wire:
        self.nodes.append(node)
        return Wire(self, len(self.nodes) - 1)

    def input(self, name: str) -> Wire:
        if not is_input_name(name):
            raise CircuitError(f"input name {name!r} must be an identifier (letters, digits, '_')")
        if name in self._input_names:
            raise CircuitError(f"duplicate input name {name!r}")
        self._input_names.add(name)
        return self._add(Node(INPUT, name=name))

    def inputs(self, *names: str) -> tuple[Wire, ...]:
        """One input wire per name; a single string may hold several: ``inputs("x y z")``."""
        if len(names) == 1 and isinstance(names[0], str) and (" " in names[0] or "," in names[0]):
            names = tuple(names[0].replace(",", " ").split())
        return tuple(self.input(n) for n in names)

    def const(self, value: float) -> Wire:
        """A constant node (shared between uses of the same value)."""
        if not _is_number(value):
            raise CircuitError(f"a constant must be a real number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise CircuitError(f"the constant {value!r} is too large for a float") from None
        key = value.hex()  # tells 0.0 from -0.0 (1 / x differs) and gives nan one key
        if key not in self._consts:
            self._consts[key] = len(self.nodes)
            self.nodes.append(Node(CONST, value=value))
        return Wire(self, self._consts[key])

    def _wire(self, x: Any, where: str) -> Wire:
        if isinstance(x, Wire):
            if x.composer is not self:
                raise CircuitError(f"{where}: the wire comes from another Composer")
            return x
        if _is_number(x):
            return self.const(x)
        raise CircuitError(f"{where}: expected a wire or a number, got {x!r}")

    def gate(self, name: str, *args: Any, label: str | None = None) -> Wire:
        """A node applying the gate registered as ``name`` to ``args``."""
        gate = self.registry.gate(name)
        if len(args) != gate.arity:
            raise CircuitError(f"gate {name!r} takes {gate.arity} argument(s), got {len(args)}")
        # Wires of this composer pass straight through; anything else (and the message
        # naming it) goes through _wire.
        ids = tuple([
            a.id if a.__class__ is Wire and a.composer is self else self._wire(a, f"argument {k + 1} of {name!r}").id
            for k, a in enumerate(args)
        ])
        wire = self._add(Node(GATE, name=name, args=ids))
        if label is not None:
            self.label(wire, label)
        return wire

    def operator(self, symbol: str, *args: Any) -> Wire:
        gate = self.registry.operator(symbol, len(args))
        if gate is None:
            kind = "unary" if len(args) == 1 else "binary"
            raise CircuitError(f"no registered gate binds the {kind} operator {symbol!r}")
        return self.gate(gate.name, *args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        registry = self.__dict__.get("registry")
        if registry is None or name not in registry:
            close = suggest(name, registry.gate_names()) if registry is not None else []
            hint = "; did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""
            raise AttributeError(f"{type(self).__name__!r} has no attribute or gate {name!r}{hint}")
        return lambda *args, label=None: self.gate(name, *args, label=label)

    def label(self, wire: Wire, label: str) -> None:
        wire = self._wire(wire, "label")
        problem = label_problem(label)
        if problem is not None:
            raise CircuitError(problem)
        node = self.nodes[wire.id]
        if node.kind != GATE:
            raise CircuitError(f"only gate nodes take stage labels, not {self.describe(wire.id)}")
        self.nodes[wire.id] = Node(node.kind, node.name, node.args, node.value, label)

    def describe(self, i: int) -> str:
        node = self.nodes[i]
        if node.kind == INPUT:
            return f"input {node.name}"
        if node.kind == CONST:
            return f"constant {node.value:g}"
        return f"{node.name} node {i}" + (f" ({node.label})" if node.label else "")

    # -- the result -----------------------------------------------------------------------
    def build(self, output: Wire | None = None, defaults: dict[str, float] | None = None) -> Circuit:
        """The circuit computing ``output`` (default: the last node added).

        Gate and constant nodes that do not reach the output are left out; every
        declared input stays, in declaration order.
        """
        if output is not None:
            output = self._wire(output, "output")
        if not self.nodes:
            raise CircuitError("the circuit is empty: declare inputs and combine them first")
        out = len(self.nodes) - 1 if output is None else output.id
        keep = [node.kind == INPUT for node in self.nodes]
        keep[out] = True
        for i in range(out, -1, -1):  # reverse topological order: a loop, not recursion
            if keep[i]:
                for a in self.nodes[i].args:
                    keep[a] = True
        new_id: dict[int, int] = {}
        nodes = []
        for i, node in enumerate(self.nodes):
            if keep[i]:
                new_id[i] = len(nodes)
                # Until a node is dropped every id stays the same, and so can the node.
                if node.args and new_id[i] != i:
                    node = Node(node.kind, node.name, tuple(new_id[a] for a in node.args), node.value, node.label)
                nodes.append(node)
        return Circuit(nodes, new_id[out], self.registry, defaults=defaults)
