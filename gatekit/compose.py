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
import weakref
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit import Circuit
from .errors import CircuitError, UsageError, did_you_mean
from .nodes import CONST, GATE, INPUT, NodeView
from .plugins import default_registry
from .values import CONSTANT_RULE, INPUT_NAME_RULE, is_input_name, label_problem

if TYPE_CHECKING:
    from .registry import Registry
    from .tape import Step

__all__ = ["Composer", "Wire"]

_NUMBER = (int, float, np.integer, np.floating)
#: What the builder keeps of a gate, resolved once per name: (gate, its forward, its
#: backward, its plugin's name). Every step of the gate shares the two bound methods.
Spec = tuple[Any, Any, Any, str]
_args_of = itemgetter(5)


def _is_number(x: Any) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, (bool, np.bool_))


def _binary_operator(symbol: str) -> Callable[[Wire, Any], Wire]:
    """``wire (op) other``: wire (op) wire, the commonest call, lays its tape step right here.

    Building is paid per node, so this is the whole of it: one step tuple (the node
    *is* its step, see :mod:`gatekit.nodes`), its gate, and the Wire handed back.
    Anything else (a number, a wire of another Composer, the first use of the
    operator) goes through :meth:`Composer.operator`, which checks and explains.
    """

    def method(self: Wire, other: Any) -> Wire:
        composer = self.composer
        spec = composer._binary.get(symbol)
        if spec is None or other.__class__ is not Wire or other.composer is not composer:
            return composer.operator(symbol, self, other)
        steps = composer._steps
        n = len(steps)
        a, b = self.id, other.id
        steps.append((n, spec[1], spec[2], a, b, (a, b)))
        composer._gates.append(spec[0])
        return Wire(composer, n)

    method.__name__ = f"wire {symbol} other"
    return method


def _reflected_operator(symbol: str) -> Callable[[Wire, Any], Wire]:
    def method(self: Wire, other: Any) -> Wire:
        return self.composer.operator(symbol, other, self)

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


class Composer:
    """Builds one circuit: declare inputs, combine them, then :meth:`build`.

    The one builder: the only place gate and operator names are resolved, arity is
    checked, constants are shared and the node order is fixed. :func:`~gatekit.parse`
    and :func:`~gatekit.load` build through it.
    """

    def __init__(self, registry: Registry | None = None):
        if registry is None:
            registry = default_registry()
        self.registry = registry
        # The nodes, in columns (see gatekit.nodes): per node its tape step (None for
        # inputs and constants) and its gate; the few that have them, names, values, labels.
        self._steps: list[Step | None] = []
        self._gates: list[Any] = []
        self._values: dict[int, float] = {}
        self._labels: dict[int, str] = {}
        self._input_ids: dict[str, int] = {}  # so a duplicate is found without a scan
        self._input_names: dict[int, str] = {}
        self._consts: dict[str, int] = {}
        #: Each gate name and (symbol, arity) resolved once per Composer.
        self._specs: dict[Any, Spec] = {}
        #: Binary operator symbol -> its gate's spec, for Wire's fast path; set once the
        #: operator has made one node the careful way.
        self._binary: dict[str, Spec] = {}

    @property
    def nodes(self) -> NodeView:
        """The nodes so far, as :class:`~gatekit.Node` tuples (made when read)."""
        return NodeView(self._steps, self._gates, self._input_names, self._values, self._labels)

    # -- nodes -------------------------------------------------------------------------
    def input(self, name: str) -> Wire:
        if not is_input_name(name):
            raise CircuitError(f"input name {name!r} must be {INPUT_NAME_RULE}")
        if name in self._input_ids:
            raise CircuitError(f"duplicate input name {name!r}")
        n = len(self._steps)
        self._input_ids[name] = n
        self._input_names[n] = name
        self._steps.append(None)
        self._gates.append(None)
        return Wire(self, n)

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
        n = self._consts.get(key)
        if n is None:
            n = self._consts[key] = len(self._steps)
            self._values[n] = value
            self._steps.append(None)
            self._gates.append(None)
        return Wire(self, n)

    def _wire(self, x: Any, where: str) -> Wire:
        if isinstance(x, Wire):
            if x.composer is not self:
                raise CircuitError(f"{where}: the wire comes from another Composer")
            return x
        if _is_number(x):
            return self.const(x)
        raise CircuitError(f"{where}: expected a wire or a number, got {x!r}")

    def _spec(self, name: str) -> Spec:
        spec = self._specs.get(name)
        if spec is None:
            entry = self.registry.entry("gate", name)  # the one lookup: unknown names get "did you mean"
            gate = entry.obj
            spec = self._specs[name] = (gate, gate.forward, gate.backward, entry.plugin.name)
        return spec

    def gate(self, name: str, *args: Any, label: str | None = None) -> Wire:
        """A node applying the gate registered as ``name`` to ``args``."""
        wire = self._gate_node(self._spec(name), args)
        if label is not None:
            self.label(wire, label)
        return wire

    def _gate_node(self, spec: Spec, args: tuple[Any, ...]) -> Wire:
        gate = spec[0]
        if len(args) != gate.arity:
            raise CircuitError(f"gate {gate.name!r} takes {gate.arity} argument(s), got {len(args)}")
        ids = tuple([
            a.id if a.__class__ is Wire and a.composer is self else self._wire(a, f"argument {k + 1} of {gate.name!r}").id
            for k, a in enumerate(args)
        ])
        steps = self._steps
        n = len(steps)
        # The tape step of gatekit.tape: -1 for an absent first or second argument.
        a = ids[0] if len(ids) in (1, 2) else -1
        b = ids[1] if len(ids) == 2 else -1
        steps.append((n, spec[1], spec[2], a, b, ids))
        self._gates.append(gate)
        return Wire(self, n)

    def operator(self, symbol: str, *args: Any) -> Wire:
        key = (symbol, len(args))
        spec = self._specs.get(key)
        if spec is None:
            gate = self.registry.operator(symbol, len(args))
            if gate is None:
                kind = "unary" if len(args) == 1 else "binary"
                raise CircuitError(f"no registered gate binds the {kind} operator {symbol!r}")
            spec = self._specs[key] = self._spec(gate.name)
        wire = self._gate_node(spec, args)
        if len(args) == 2:
            self._binary[symbol] = spec  # it has made a node: Wire's fast path may take it from here
        return wire

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        registry = self.__dict__.get("registry")
        if registry is None or name not in registry:
            close = did_you_mean(name, registry.gate_names()) if registry is not None else ""
            hint = "; " + close if close else ""
            raise AttributeError(f"{type(self).__name__!r} has no attribute or gate {name!r}{hint}")
        spec = self._spec(name)
        gate_obj, forward, backward = spec[0], spec[1], spec[2]
        arity, steps, gates = gate_obj.arity, self._steps, self._gates
        # Through a weak reference: a Composer holding a function that holds it would be
        # a reference cycle, kept (with its whole graph) until the collector's next pass.
        composer_ref = weakref.ref(self)

        def gate(*args: Any, label: str | None = None) -> Wire:
            composer = composer_ref()
            assert composer is not None  # this function is reached through it
            # Resolved once, above; one wire of this Composer into a one-input gate
            # (tanh, exp, relu: the commonest call) lays its step right here.
            if arity == 1 and len(args) == 1 and label is None:
                x = args[0]
                if x.__class__ is Wire and x.composer is composer:
                    n = len(steps)
                    a = x.id
                    steps.append((n, forward, backward, a, -1, (a,)))
                    gates.append(gate_obj)
                    return Wire(composer, n)
            wire = composer._gate_node(spec, args)
            if label is not None:
                composer.label(wire, label)
            return wire

        self.__dict__[name] = gate  # found without __getattr__ next time (the registry does not change)
        return gate

    def label(self, wire: Wire, label: str) -> None:
        wire = self._wire(wire, "label")
        problem = label_problem(label)
        if problem is not None:
            raise CircuitError(problem)
        if self._gates[wire.id] is None:
            raise CircuitError(f"only gate nodes take stage labels, not {self.describe(wire.id)}")
        self._labels[wire.id] = label

    def describe(self, i: int) -> str:
        gate = self._gates[i]
        if gate is None:
            name = self._input_names.get(i)
            return f"input {name}" if name is not None else f"constant {self._values[i]:g}"
        label = self._labels.get(i)
        return f"{gate.name} node {i}" + (f" ({label})" if label else "")

    # -- the result -----------------------------------------------------------------------
    def build(self, output: Wire | None = None, defaults: dict[str, float] | None = None, *,
              keep_inputs: bool = False) -> Circuit:
        """The circuit computing ``output`` (default: the last node added).

        Nodes that do not reach the output are left out, inputs too unless
        ``keep_inputs=True`` (a file's declared inputs, ``parse(..., inputs=...)``):
        so a circuit never asks for a value nobody reads. Inputs keep their
        declaration order; an input with a default is always kept.

        The tape was laid while composing (each gate node is its step), so when every
        node reaches the output, building takes the columns as they are; only a
        circuit with nodes to drop is renumbered, in one more pass.
        """
        if output is not None:
            if not isinstance(output, Wire):
                # A number would become a constant node: a circuit of 0 gates that ignores its inputs.
                raise CircuitError(
                    f"build(): the output must be a wire of this Composer (an input, or gates on inputs), "
                    f"got {output!r}; to build a constant output write it from an input, e.g. x * 0 + {output!r}"
                )
            output = self._wire(output, "output")
        if not self._steps:
            raise CircuitError("the circuit is empty: declare inputs and combine them first")
        # The collector's full passes over a tape being copied would cost more than the
        # copying; nothing here makes a reference cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._build(len(self._steps) - 1 if output is None else output.id, defaults, keep_inputs)
        finally:
            if collecting:
                gc.enable()

    def _build(self, out: int, defaults: dict[str, float] | None, keep_inputs: bool) -> Circuit:
        steps, n = self._steps, len(self._steps)
        kept = {i for name, i in self._input_ids.items() if keep_inputs or (defaults is not None and name in defaults)}
        if out == n - 1 and self._all_reach_last(kept):
            circuit_steps, gates = tuple(steps), tuple(self._gates)
            values, labels, input_ids = dict(self._values), dict(self._labels), dict(self._input_ids)
        else:
            circuit_steps, gates, values, labels, input_ids, out = self._kept(out, kept)
        used = set(map(id, gates))  # the gates some node uses (for their plugins' names)
        specs = {name: spec for name, spec in self._specs.items() if isinstance(name, str) and id(spec[0]) in used}
        circuit = Circuit._lean(circuit_steps, gates, values, labels, out, self.registry, input_ids,
                                {name: spec[3] for name, spec in specs.items()}, defaults,
                                [spec[0] for spec in specs.values()])
        if len(input_ids) < len(self._input_ids):
            circuit.unread_inputs = frozenset(self._input_ids) - set(input_ids)
        return circuit

    def _all_reach_last(self, kept: set[int]) -> bool:
        """Every node but the last is an argument of some gate (or a kept input).

        Then every node reaches the last one: follow any node's consumers, each later
        than the one before, and the walk can only end at a node nobody consumes, the
        last. Counted in C, not by a walk of the graph: a set of the arguments for small
        circuits (numpy's fixed cost would be most of their build), a mark per argument
        in an array for large ones (a set of a million ids would be ~30 MB).
        """
        n = len(self._steps)
        args = chain.from_iterable(map(_args_of, filter(None, self._steps)))
        if n < 4096:
            consumed = set(args)
            consumed.update(kept)
            consumed.discard(n - 1)
            return len(consumed) == n - 1
        marks = np.zeros(n, dtype=bool)
        marks[np.fromiter(args, dtype=np.int64)] = True
        if kept:
            marks[list(kept)] = True
        return bool(marks[: n - 1].all())

    def _kept(self, out: int, kept: set[int]) -> tuple[Any, ...]:
        """The columns of the nodes that reach ``out`` (and the kept inputs), renumbered."""
        steps = self._steps
        keep = [False] * len(steps)
        for i in kept:
            keep[i] = True
        keep[out] = True
        for i in range(out, -1, -1):  # reverse topological order: a loop, not recursion
            step = steps[i]
            if keep[i] and step is not None:
                for a in step[5]:
                    keep[a] = True
        new_id = [-1] * len(steps)
        new_steps: list[Step | None] = []
        gates: list[Any] = []
        values: dict[int, float] = {}
        labels: dict[int, str] = {}
        for i, step in enumerate(steps):
            if not keep[i]:
                continue
            k = new_id[i] = len(new_steps)
            if step is not None:
                args = tuple([new_id[a] for a in step[5]])
                step = (k, step[1], step[2], new_id[step[3]] if step[3] >= 0 else -1,
                        new_id[step[4]] if step[4] >= 0 else -1, args)
            elif i in self._values:
                values[k] = self._values[i]
            if i in self._labels:
                labels[k] = self._labels[i]
            new_steps.append(step)
            gates.append(self._gates[i])
        input_ids = {name: new_id[i] for name, i in self._input_ids.items() if keep[i]}
        return tuple(new_steps), tuple(gates), values, labels, input_ids, new_id[out]
