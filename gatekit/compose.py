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

import keyword
import math
import weakref
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit import Circuit
from .collector import collector_paused
from .columns import all_reach_last, kept_columns, lay_tape
from .errors import CircuitError, did_you_mean
from .nodes import NodeView
from .plugins import default_registry
from .specs import NO_GATE, Spec, forget_shared_specs, gate_of, shared_specs
from .values import CONSTANT_RULE, INPUT_NAME_RULE, is_input_name, label_problem
from .wire import Wire

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Composer", "Wire"]

_NUMBER = (int, float, np.integer, np.floating)


def _is_number(x: Any) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, (bool, np.bool_))


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
        # The nodes, in columns (see gatekit.nodes): per node its arguments (() for
        # inputs and constants) and its gate's spec (NO_GATE for them); the few that
        # have them, names, values, labels. build() lays the tape from these in one pass.
        self._args: list[tuple[int, ...]] = []
        self._node_specs: list[Spec] = []
        #: Each node's id, the very int its Wire and its consumers' arguments hold: the tape
        #: step takes it too, rather than a new int per step (28 bytes each, 28 MB a million).
        self._ids: list[int] = []
        self._values: dict[int, float] = {}
        self._labels: dict[int, str] = {}
        self._input_ids: dict[str, int] = {}  # so a duplicate is found without a scan
        self._input_names: dict[int, str] = {}
        self._consts: dict[str, int] = {}
        #: Nonzero constants by value, for the operators' fast path (a float key cannot tell
        #: 0.0 from -0.0, so zeros go the careful way; ints find their float: 1 == 1.0).
        self._number_ids: dict[float, int] = {}
        #: Each gate name and (symbol, arity) resolved once per Composer.
        self._specs: dict[Any, Spec] = {}
        #: Binary operator symbol -> its gate's spec, for Wire's fast path.
        self._binary: dict[str, Spec] = {}
        shared = shared_specs(registry)
        if shared.specs:
            if shared.current(registry):
                self._specs.update(shared.specs)
                self._binary.update(shared.binary)
            else:  # the registry changed: start again
                forget_shared_specs(registry)

    @property
    def nodes(self) -> NodeView:
        """A snapshot of the nodes so far, as :class:`~gatekit.circuit.Node` tuples (made when read)."""
        return NodeView(tuple(self._args), tuple(map(gate_of, self._node_specs)), dict(self._input_names),
                        dict(self._values), dict(self._labels))

    # -- nodes -------------------------------------------------------------------------
    def input(self, name: str) -> Wire:
        if not is_input_name(name):
            raise CircuitError(f"input name {name!r} must be {INPUT_NAME_RULE}")
        if name in self._input_ids:
            raise CircuitError(f"duplicate input name {name!r}")
        n = len(self._args)
        self._input_ids[name] = n
        self._input_names[n] = name
        self._args.append(())
        self._node_specs.append(NO_GATE)
        self._ids.append(n)
        return Wire(self, n)

    def inputs(self, *names: str) -> tuple[Wire, ...]:
        """One input wire per name; a single string may hold several: ``inputs("x y z")``."""
        if len(names) == 1 and isinstance(names[0], str) and (" " in names[0] or "," in names[0]):
            names = tuple(names[0].replace(",", " ").split())
        k = len(names)
        taken = self._input_ids
        # Many names at once (W2 declares 20,001) checked and added in C; any problem
        # and the names go one at a time, so the error names the first bad one.
        ids = list(range(len(self._args), len(self._args) + k))
        new = dict(zip(names, ids)) if k >= 8 and set(map(type, names)) == {str} else {}
        if len(new) < k or not (all(map(str.isidentifier, names)) and not any(map(keyword.iskeyword, names))
                                and taken.keys().isdisjoint(new)):
            return tuple([self.input(n) for n in names])
        taken.update(new)
        self._input_names.update(zip(ids, names))
        self._args.extend(repeat((), k))
        self._ids.extend(ids)
        self._node_specs.extend(repeat(NO_GATE, k))
        with collector_paused():  # its passes over the wires being made (W2: 20,001) would free nothing
            return tuple(map(Wire, repeat(self, k), ids))

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
            n = self._consts[key] = len(self._args)
            self._values[n] = value
            if value:
                self._number_ids[value] = n
            self._args.append(())
            self._node_specs.append(NO_GATE)
            self._ids.append(n)
        return Wire(self, n)

    def _wire(self, x: Any, where: str) -> Wire:
        if isinstance(x, Wire):
            if x.composer is not self:
                raise CircuitError(f"{where}: the wire comes from another Composer")
            return x
        if _is_number(x):
            return self.const(x)
        raise CircuitError(f"{where}: expected a wire or a number, got {x!r}")

    def _spec(self, key: str | tuple[str, int]) -> Spec:
        """The spec of a gate name or an operator ``(symbol, arity)``: the one place names resolve.

        Once per Composer, and shared with the registry's next Composers (see :class:`~gatekit.specs.SharedSpecs`).
        """
        spec = self._specs.get(key)
        if spec is not None:
            return spec
        registry = self.registry
        if isinstance(key, str):
            entry = registry.entry("gate", key)  # unknown names get "did you mean"
            gate = entry.obj
            spec = Spec((gate, gate.forward, gate.backward, entry.plugin.name, entry))
        else:
            bound = registry.operator(*key)
            if bound is None:
                kind = "unary" if key[1] == 1 else "binary"
                raise CircuitError(f"no registered gate binds the {kind} operator {key[0]!r}")
            spec = self._spec(bound.name)
        self._specs[key] = spec
        shared = shared_specs(registry)
        if key not in shared.specs:
            shared.add(key, spec)
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
        n = len(self._args)
        self._args.append(ids)
        self._node_specs.append(spec)
        self._ids.append(n)
        return Wire(self, n)

    def operator(self, symbol: str, *args: Any) -> Wire:
        spec = self._spec((symbol, len(args)))
        if len(args) == 2:
            self._binary[symbol] = spec  # resolved (a binary gate): Wire's fast path may take it from here
        return self._gate_node(spec, args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        registry = self.__dict__.get("registry")
        if registry is None or name not in registry:
            close = did_you_mean(name, registry.gate_names()) if registry is not None else ""
            hint = "; " + close if close else ""
            raise AttributeError(f"{type(self).__name__!r} has no attribute or gate {name!r}{hint}")
        spec = self._spec(name)
        arity, node_args, node_specs, node_ids = spec[0].arity, self._args, self._node_specs, self._ids
        # Through a weak reference: a Composer holding a function that holds it would be
        # a reference cycle, kept (with its whole graph) until the collector's next pass.
        # The fast paths need none: a wire whose composer's column is ours is ours.
        composer_ref = weakref.ref(self)

        def careful(args: tuple[Any, ...], label: str | None) -> Wire:
            composer = composer_ref()
            assert composer is not None  # this function is reached through it
            wire = composer._gate_node(spec, args)
            if label is not None:
                composer.label(wire, label)
            return wire

        # Resolved once, above; wires of this Composer into a one- or two-input gate
        # (tanh, exp, relu, max: the commonest calls) add their node right here.
        if arity == 1:
            def gate(*args: Any, label: str | None = None) -> Wire:
                if len(args) == 1 and label is None:
                    x = args[0]
                    if x.__class__ is Wire and x.composer._args is node_args:
                        n = len(node_args)
                        node_args.append((x.id,))
                        node_specs.append(spec)
                        node_ids.append(n)
                        return Wire(x.composer, n)
                return careful(args, label)
        elif arity == 2:
            def gate(*args: Any, label: str | None = None) -> Wire:
                if len(args) == 2 and label is None:
                    x, y = args
                    if x.__class__ is Wire and y.__class__ is Wire and x.composer._args is node_args \
                            and y.composer._args is node_args:
                        n = len(node_args)
                        node_args.append((x.id, y.id))
                        node_specs.append(spec)
                        node_ids.append(n)
                        return Wire(x.composer, n)
                return careful(args, label)
        else:
            def gate(*args: Any, label: str | None = None) -> Wire:
                return careful(args, label)

        self.__dict__[name] = gate  # found without __getattr__ next time (the registry does not change)
        return gate

    def label(self, wire: Wire, label: str) -> None:
        wire = self._wire(wire, "label")
        problem = label_problem(label)
        if problem is not None:
            raise CircuitError(problem)
        if self._node_specs[wire.id] is NO_GATE:
            raise CircuitError(f"only gate nodes take stage labels, not {self.describe(wire.id)}")
        self._labels[wire.id] = label

    def name_stage(self, wire: Wire, label: str) -> None:
        """Label ``wire`` if it is a gate node without a label (what an expression's stage does)."""
        if self._node_specs[wire.id] is not NO_GATE and wire.id not in self._labels:
            self.label(wire, label)

    def describe(self, i: int) -> str:
        gate = self._node_specs[i][0]
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
        if not self._args:
            raise CircuitError("the circuit is empty: declare inputs and combine them first")
        with collector_paused():  # its full passes over a tape being copied would cost more than the copying
            return self._build(len(self._args) - 1 if output is None else output.id, defaults, keep_inputs)

    def _build(self, out: int, defaults: dict[str, float] | None, keep_inputs: bool) -> Circuit:
        n = len(self._args)
        if keep_inputs:
            kept = set(self._input_ids.values())
        else:
            kept = {i for name, i in self._input_ids.items() if name in defaults} if defaults else set()
        if out == n - 1 and all_reach_last(self._args, kept):
            # The arguments column is shared, not copied (8 MB a million nodes): it is only
            # ever appended to, and the circuit reads only its own first n entries.
            node_args, values, labels = self._args, dict(self._values), dict(self._labels)
            node_specs, node_ids, input_ids = self._node_specs, self._ids, dict(self._input_ids)
        else:
            node_args, node_specs, node_ids, values, labels, input_ids, out = kept_columns(
                out, kept, self._args, self._node_specs, self._values, self._labels, self._input_ids)
        steps = lay_tape(node_ids, node_args, node_specs)
        gates = tuple(map(gate_of, node_specs))
        used = set(node_specs)  # the gates some node uses (a spec resolved for a call refused after is not)
        used.discard(NO_GATE)
        circuit = Circuit._lean(node_args, steps, gates, values, labels, out, self.registry, input_ids,
                                {spec[0].name: spec[3] for spec in used}, defaults, [spec[0] for spec in used])
        if len(input_ids) < len(self._input_ids):
            circuit.unread_inputs = frozenset(self._input_ids) - set(input_ids)
        return circuit

