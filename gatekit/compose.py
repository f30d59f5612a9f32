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

import gc
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit import CONST, GATE, INPUT, Circuit, Node
from .errors import CircuitError, UsageError, did_you_mean
from .plugins import default_registry
from .values import CONSTANT_RULE, INPUT_NAME_RULE, is_input_name, label_problem

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Composer", "Wire"]

_NUMBER = (int, float, np.integer, np.floating)
#: A Node without the Python-level ``__new__`` a named tuple has: building is per node.
_new_node = tuple.__new__


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

    def _binary(self, symbol: str, a: Any, b: Any) -> Wire:
        # The commonest call, wire (op) wire, written out: building costs per node.
        composer = self.composer
        resolved = composer._resolved.get(symbol)
        if resolved is None or a.__class__ is not Wire or b.__class__ is not Wire or a.composer is not b.composer:
            return composer.operator(symbol, a, b)
        nodes = composer.nodes
        nodes.append(_new_node(Node, (GATE, resolved[0].name, (a.id, b.id), None, None)))
        composer._gates.append(resolved[0])
        return Wire(composer, len(nodes) - 1)

    def __add__(self, o): return self._binary("+", self, o)
    def __radd__(self, o): return self._op("+", o, self)
    def __sub__(self, o): return self._binary("-", self, o)
    def __rsub__(self, o): return self._op("-", o, self)
    def __mul__(self, o): return self._binary("*", self, o)
    def __rmul__(self, o): return self._op("*", o, self)
    def __truediv__(self, o): return self._op("/", self, o)
    def __rtruediv__(self, o): return self._op("/", o, self)
    def __pow__(self, o): return self._op("**", self, o)
    def __rpow__(self, o): return self._op("**", o, self)
    def __neg__(self): return self._op("-", self)
    def __abs__(self): return self.composer.gate("abs", self)  # abs(x): the gate named abs, as in expressions

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
            registry = default_registry()
        self.registry = registry
        self.nodes: list[Node] = []
        self._gates: list[Any] = []  # each node's resolved gate (None for inputs and constants)
        self._consts: dict[str, int] = {}
        self._input_ids: dict[str, int] = {}  # so a duplicate is found without a scan
        # Each gate name and operator is resolved once per Composer: (gate, its plugin's name).
        self._resolved: dict[Any, tuple[Any, str]] = {}

    # -- nodes -------------------------------------------------------------------------
    def _add(self, node: Node, gate: Any = None) -> Wire:
        self.nodes.append(node)
        self._gates.append(gate)
        return Wire(self, len(self.nodes) - 1)

    def input(self, name: str) -> Wire:
        if not is_input_name(name):
            raise CircuitError(f"input name {name!r} must be {INPUT_NAME_RULE}")
        if name in self._input_ids:
            raise CircuitError(f"duplicate input name {name!r}")
        self._input_ids[name] = len(self.nodes)
        return self._add(_new_node(Node, (INPUT, name, (), None, None)))

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
        if not math.isfinite(value):  # what a file cannot hold, no builder makes
            raise CircuitError(f"the constant {value!r} must be {CONSTANT_RULE}")
        key = value.hex()  # tells 0.0 from -0.0 (1 / x differs) and gives nan one key
        if key not in self._consts:
            self._consts[key] = len(self.nodes)
            self._add(Node(CONST, value=value))
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
        resolved = self._resolved.get(name)
        if resolved is None:
            entry = self.registry.entry("gate", name)  # the one lookup: unknown names get "did you mean"
            resolved = self._resolved[name] = (entry.obj, entry.plugin.name)
        wire = self._gate_node(resolved[0], name, args)
        if label is not None:
            self.label(wire, label)
        return wire

    def _gate_node(self, gate: Any, name: str, args: tuple[Any, ...]) -> Wire:
        if len(args) != gate.arity:
            raise CircuitError(f"gate {name!r} takes {gate.arity} argument(s), got {len(args)}")
        # Wires of this composer pass straight through; anything else (and the message
        # naming it) goes through _wire. Two wires, the commonest case, written out.
        if len(args) == 2 and args[0].__class__ is Wire and args[1].__class__ is Wire \
                and args[0].composer is self and args[1].composer is self:
            self.nodes.append(_new_node(Node, (GATE, name, (args[0].id, args[1].id), None, None)))
            self._gates.append(gate)
            return Wire(self, len(self.nodes) - 1)
        if len(args) == 1 and args[0].__class__ is Wire and args[0].composer is self:
            self.nodes.append(_new_node(Node, (GATE, name, (args[0].id,), None, None)))
            self._gates.append(gate)
            return Wire(self, len(self.nodes) - 1)
        ids = tuple([
            a.id if a.__class__ is Wire and a.composer is self else self._wire(a, f"argument {k + 1} of {name!r}").id
            for k, a in enumerate(args)
        ])
        self.nodes.append(_new_node(Node, (GATE, name, ids, None, None)))
        self._gates.append(gate)
        return Wire(self, len(self.nodes) - 1)

    def operator(self, symbol: str, *args: Any) -> Wire:
        key = (symbol, len(args))
        resolved = self._resolved.get(key)
        if resolved is None:
            gate = self.registry.operator(symbol, len(args))
            if gate is None:
                kind = "unary" if len(args) == 1 else "binary"
                raise CircuitError(f"no registered gate binds the {kind} operator {symbol!r}")
            entry = self.registry.entry("gate", gate.name)
            resolved = self._resolved[key] = self._resolved[gate.name] = (entry.obj, entry.plugin.name)
            if len(args) == 2:
                self._resolved[symbol] = resolved  # what Wire._binary reads
        return self._gate_node(resolved[0], resolved[0].name, args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        registry = self.__dict__.get("registry")
        if registry is None or name not in registry:
            close = did_you_mean(name, registry.gate_names()) if registry is not None else ""
            hint = "; " + close if close else ""
            raise AttributeError(f"{type(self).__name__!r} has no attribute or gate {name!r}{hint}")
        entry = registry.entry("gate", name)
        resolved = self._resolved.setdefault(name, (entry.obj, entry.plugin.name))
        gate_node, gate_obj = self._gate_node, resolved[0]

        def gate(*args: Any, label: str | None = None) -> Wire:
            wire = gate_node(gate_obj, name, args)  # resolved once, above: building is per node
            if label is not None:
                self.label(wire, label)
            return wire

        self.__dict__[name] = gate  # found without __getattr__ next time (the registry does not change)
        return gate

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
    def build(self, output: Wire | None = None, defaults: dict[str, float] | None = None, *,
              keep_inputs: bool = False) -> Circuit:
        """The circuit computing ``output`` (default: the last node added).

        Nodes that do not reach the output are left out, inputs too unless
        ``keep_inputs=True`` (a file's declared inputs, ``parse(..., inputs=...)``):
        so a circuit never asks for a value nobody reads. Inputs keep their
        declaration order; an input with a default is always kept.
        """
        # The collector's full passes over the tape being laid would cost more than
        # laying it (a step per node, each holding bound methods); nothing here makes a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._build(output, defaults, keep_inputs)
        finally:
            if collecting:
                gc.enable()

    def _build(self, output: Wire | None, defaults: dict[str, float] | None, keep_inputs: bool) -> Circuit:
        if output is not None:
            if not isinstance(output, Wire):
                # A number would become a constant node: a circuit of 0 gates that ignores its inputs.
                raise CircuitError(
                    f"build(): the output must be a wire of this Composer (an input, or gates on inputs), "
                    f"got {output!r}; to build a constant output write it from an input, e.g. x * 0 + {output!r}"
                )
            output = self._wire(output, "output")
        if not self.nodes:
            raise CircuitError("the circuit is empty: declare inputs and combine them first")
        out = len(self.nodes) - 1 if output is None else output.id
        all_nodes, all_gates = self.nodes, self._gates
        keep = [False] * len(all_nodes)
        for name, i in self._input_ids.items():
            if keep_inputs or (defaults is not None and name in defaults):
                keep[i] = True
        keep[out] = True
        for i in range(out, -1, -1):  # reverse topological order: a loop, not recursion
            if keep[i]:
                for a in all_nodes[i].args:
                    keep[a] = True
        if all(keep):  # nothing to drop: every id stays the same, and so can every node
            nodes, gates, new_out = all_nodes, all_gates, out  # the Circuit keeps tuples of them
        else:
            new_id = [-1] * len(all_nodes)
            nodes, gates = [], []
            for i, node in enumerate(all_nodes):
                if keep[i]:
                    new_id[i] = len(nodes)
                    if node.args and new_id[i] != i:
                        node = Node(node.kind, node.name, tuple([new_id[a] for a in node.args]), node.value, node.label)
                    nodes.append(node)
                    gates.append(all_gates[i])
            new_out = new_id[out]
        input_ids = {node.name: i for i, node in enumerate(nodes) if node.kind == INPUT}
        plugins = {name: plugin for name, (_, plugin) in self._resolved.items() if isinstance(name, str)}
        used = {str(node.name) for node in nodes if node.kind == GATE}
        circuit = Circuit._built(nodes, gates, new_out, self.registry, input_ids,  # type: ignore[arg-type]
                                 {name: plugins[name] for name in used}, defaults)
        if len(input_ids) < len(self._input_ids):
            circuit.unread_inputs = frozenset(self._input_ids) - set(input_ids)
        return circuit
