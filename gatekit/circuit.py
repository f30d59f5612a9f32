"""Circuits: an immutable DAG of gates, compiled once to a tape and run with loops.

A circuit holds input nodes (named), constant nodes and gate nodes in topological
order: every gate node's arguments come before it, so a cycle cannot be built.
The tape is walked forward to get every node's value (a :class:`~gatekit.trace.Trace`)
and in reverse to get every node's gradient. Depth is the user's, so nothing here
recurses: a chain of 100,000 gates runs like any other circuit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .containment import describe, is_user_interrupt
from .gate_outputs import first_junk
from .errors import CircuitError, GateContractError, GatekitError, NonFiniteError, UnknownNameError, UsageError
from .trace import Trace
from .broadcast import BadGradient, shapes_clash, reduce_gradient, reduce_pair_gradient, seed_gradient, zero_gradient
from .values import as_input, is_input_name, is_real, label_problem

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Node", "Circuit", "INPUT", "CONST", "GATE"]

INPUT, CONST, GATE = "input", "const", "gate"


class Node(NamedTuple):
    """One node: an input (``name``), a constant (``value``) or a gate (``gate`` and ``args``).

    A named tuple rather than a frozen dataclass: just as immutable, and cheaper to
    create by the hundred thousand.
    """

    kind: str
    name: str | None = None  # the input's name, or the gate's registry name
    args: tuple[int, ...] = ()
    value: float | None = None  # a constant's value
    label: str | None = None  # a stage name, shown in tables

    @property
    def gate(self) -> str | None:
        return self.name if self.kind == GATE else None


class Circuit:
    """An immutable DAG of registered gates with one output.

    Build one with :class:`~gatekit.compose.Composer`, :func:`~gatekit.parse` or
    :func:`~gatekit.load`; run it with :meth:`forward` (values) and
    :meth:`Trace.backward <gatekit.trace.Trace.backward>` (gradients), or
    :meth:`gradient` for both at once.
    """

    def __init__(
        self,
        nodes: Sequence[Node],
        output: int,
        registry: Registry | None = None,
        defaults: Mapping[str, float] | None = None,
    ):
        if registry is None:
            from .plugins import default_registry

            registry = default_registry()
        self.registry = registry
        self.nodes: tuple[Node, ...] = tuple(nodes)
        n = len(self.nodes)
        if not 0 <= output < n:
            raise CircuitError(f"output node {output} does not exist (the circuit has {n} nodes)")
        self.output = output
        self.input_ids: dict[str, int] = {}
        #: The plugin that gave each gate used, recorded at build time for error messages.
        self.gate_plugins: dict[str, str] = {}
        gates: list[Any] = [None] * n
        for i, node in enumerate(self.nodes):
            # Where a problem is, as _where(i) says it, is only worked out for an error.
            if not isinstance(node, Node):
                raise CircuitError(f"node {i}: expected a gatekit.Node, got {type(node).__name__}")
            if node.kind == INPUT:
                if not is_input_name(node.name):
                    raise CircuitError(f"{self._where(i)}: an input needs a name that is an identifier, got {node.name!r}")
                if node.name in self.input_ids:
                    raise CircuitError(f"{self._where(i)}: duplicate input name {node.name!r}")
                self.input_ids[node.name] = i
            elif node.kind == CONST:
                if not is_real(node.value):
                    raise CircuitError(f"{self._where(i)}: a constant needs a real number as its value, got {node.value!r}")
            elif node.kind == GATE:
                if not isinstance(node.name, str) or node.name not in registry:
                    raise UnknownNameError("gate", str(node.name), registry.gate_names(), f"at {self._where(i)}")
                entry = registry.entry("gate", node.name)  # the one lookup, at build time
                gate = entry.obj
                self.gate_plugins[node.name] = entry.plugin.name
                if not isinstance(node.args, tuple) or len(node.args) != gate.arity:
                    got = len(node.args) if isinstance(node.args, (tuple, list)) else repr(node.args)
                    raise CircuitError(f"{self._where(i)}: gate {node.name!r} takes {gate.arity} argument(s), got {got}")
                for a in node.args:
                    if not (isinstance(a, int) and not isinstance(a, bool) and 0 <= a < i):
                        raise CircuitError(
                            f"{self._where(i)}: argument {a!r} must refer to an earlier node (0..{i - 1}); "
                            "circuits are built in topological order, so cycles are impossible"
                        )
                if node.label is not None and label_problem(node.label) is not None:
                    raise CircuitError(f"node {i}: {label_problem(node.label)}")
                gates[i] = gate
            else:
                raise CircuitError(f"{self._where(i)}: unknown node kind {node.kind!r} (input, const or gate)")
        self.gates: tuple[Any, ...] = tuple(gates)
        unknown = set(defaults or ()) - set(self.input_ids)
        if unknown:
            raise UnknownNameError("input", sorted(unknown)[0], self.input_ids, "in the defaults")
        self.defaults: dict[str, Any] = {name: as_input(name, v) for name, v in (defaults or {}).items()}
        # The tape: (node id, gate, argument ids) for each gate node, in order.
        self._tape = tuple((i, gates[i], self.nodes[i].args) for i in range(n) if gates[i] is not None)
        # The same, specialised by arity for the passes: (node, gate, first arg, second arg,
        # args) with -1 for an absent argument, so one- and two-input gates (nearly all)
        # are called without building an argument list per node.
        self._steps = tuple(_step(i, gate, args) for i, gate, args in self._tape)
        self._consts = tuple((i, float(node.value)) for i, node in enumerate(self.nodes) if node.kind == CONST)
        self._gate_ids = tuple(i for i, _, _ in self._tape)
        #: Kinds of input (scalar: True, arrays: False) whose gate outputs are still to be checked once.
        self._unchecked_kinds = {True, False}

    # -- shape ----------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        """Input names in the order they were declared."""
        return tuple(self.input_ids)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Circuit {len(self._tape)} gates, inputs {', '.join(self.inputs)}>"

    def _repr_svg_(self) -> str:
        # A notebook shows the circuit's picture (gatekit.draw); imported when one asks.
        from .notebook import circuit_svg

        return circuit_svg(self)

    def node_name(self, i: int) -> str:
        """How a node is shown: its label, input name, constant or ``#i``."""
        node = self.nodes[i]
        if node.label:
            return node.label
        if node.kind == INPUT:
            return node.name  # type: ignore[return-value]
        if node.kind == CONST:
            return f"{node.value:g}"
        return f"#{i}"

    def find(self, key: int | str) -> int:
        """The node id for an id, a stage label or an input name (latest label wins)."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if 0 <= key < len(self.nodes):
                return int(key)
            raise UsageError(f"node {key} does not exist (the circuit has {len(self.nodes)} nodes)")
        if key in self.input_ids:
            return self.input_ids[key]
        for i in range(len(self.nodes) - 1, -1, -1):
            if self.nodes[i].label == key:
                return i
        names = list(self.input_ids) + [n.label for n in self.nodes if n.label]
        raise UnknownNameError("node", str(key), names)

    # -- running --------------------------------------------------------------------------
    def resolve_inputs(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Input values with defaults filled in; errors for missing and unknown names."""
        given = dict(values or {})
        given.update(kwargs)
        for name in given:
            if name not in self.input_ids:
                raise UnknownNameError("input", name, self.input_ids, "(not an input of this circuit)")
        resolved = {}
        for name in self.input_ids:
            if name in given:
                resolved[name] = as_input(name, given[name])
            elif name in self.defaults:
                resolved[name] = self.defaults[name]
            else:
                raise UsageError(
                    f"no value for input {name!r}; the circuit needs {', '.join(self.input_ids)}"
                )
        return resolved

    def forward(self, values: Mapping[str, Any] | None = None, *, check_finite: bool = False, **kwargs: Any) -> Trace:
        """Every node's value at the given inputs (names as keywords or a mapping).

        With ``check_finite`` a :class:`NonFiniteError` names the first node whose
        value is inf or nan.
        """
        inputs = self.resolve_inputs(values, **kwargs)
        v: list[Any] = [None] * len(self.nodes)
        for name, i in self.input_ids.items():
            v[i] = inputs[name]
        for i, value in self._consts:
            v[i] = value
        i = -1
        try:
            with np.errstate(all="ignore"):
                for i, gate, a, b, args in self._steps:
                    if b >= 0:
                        v[i] = gate.forward(v[a], v[b])
                    elif a >= 0:
                        v[i] = gate.forward(v[a])
                    else:
                        v[i] = gate.forward(*[v[k] for k in args])
        except GatekitError:
            raise
        except BaseException as exc:  # a plugin's bug: name the gate and plugin, keep the cause
            if is_user_interrupt(exc):  # the rule is gatekit/containment.py's
                raise
            junk = first_junk(v, [k for k in self._gate_ids if k < i], _all_scalar(inputs))
            if junk is not None:  # an earlier gate's junk tripped this one: blame that gate
                raise self._junk_error(*junk) from exc
            if (isinstance(exc, ValueError) and shapes_clash([v[k] for k in self.nodes[i].args])
                    and shapes_clash([v[k] for k in self.input_ids.values()])):
                raise self._shape_error(i, v) from None  # the caller's arrays, not the gate
            raise self._gate_failure(i, "forward", exc) from exc
        # Once per kind of input; afterwards (scalars) one truth test and one class test.
        if self._unchecked_kinds and (True in self._unchecked_kinds or v[self.output].__class__ not in _SCALAR_TYPES):
            self._check_outputs(v, inputs)
        trace = Trace(self, v)
        if check_finite:
            problem = trace.first_nonfinite()
            if problem is not None:
                raise NonFiniteError(problem.message, problem.node)
        return trace

    def __call__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The output value."""
        return self.forward(values, **kwargs).output

    def gradient(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(output, {input name: gradient})`` in one forward and one backward pass."""
        trace = self.forward(values, **kwargs).backward()
        return trace.output, trace.input_grads()

    def backpropagate(self, values: Sequence[Any], seed: Any = 1.0) -> list[Any]:
        """Every node's gradient, given every node's value and the output's gradient.

        Used by :meth:`Trace.backward`; gradients of a value used several times add
        up, and each is reduced to the shape of the value it belongs to.
        """
        g: list[Any] = [None] * len(self.nodes)
        g[self.output] = seed_gradient(values[self.output], seed)
        i = -1
        scalar = _SCALAR_TYPES
        try:
            with np.errstate(all="ignore"):
                for i, gate, a, b, args in reversed(self._steps):
                    gi = g[i]
                    if gi is None:
                        continue  # not on any path to the output
                    # Each gradient is checked against its input's shape and added to what
                    # that input already has (fan-out). Scalars (float, float64) have shape
                    # (), so only other pairs are compared; a Python float has no .shape,
                    # and anything else without one (None, a string, an int) goes through
                    # reduce_gradient, which refuses or converts it. Two-input gates, the common
                    # case, are written out; the loop below serves every other arity.
                    if b >= 0:
                        x, y = values[a], values[b]
                        grads = gate.backward(gi, values[i], x, y)
                        if (grads.__class__ is not tuple and not isinstance(grads, (tuple, list))) or len(grads) != 2:
                            raise self._contract_error(i, _count_message(grads, 2))
                        ga, gb = grads
                        if not (ga.__class__ in scalar and x.__class__ in scalar) and (
                            (() if ga.__class__ is float else getattr(ga, "shape", None)) != getattr(x, "shape", ())
                        ):
                            ga = reduce_pair_gradient(ga, x, y, values[i])
                        prev = g[a]
                        g[a] = ga if prev is None else prev + ga
                        if not (gb.__class__ in scalar and y.__class__ in scalar) and (
                            (() if gb.__class__ is float else getattr(gb, "shape", None)) != getattr(y, "shape", ())
                        ):
                            gb = reduce_pair_gradient(gb, y, x, values[i])
                        prev = g[b]
                        g[b] = gb if prev is None else prev + gb
                        continue
                    xs = (values[a],) if a >= 0 else [values[k] for k in args]
                    grads = gate.backward(gi, values[i], *xs)
                    if (grads.__class__ is not tuple and not isinstance(grads, (tuple, list))) or len(grads) != len(xs):
                        raise self._contract_error(i, _count_message(grads, len(args)))
                    for k, x, ga in zip(args, xs, grads):
                        if not (ga.__class__ in scalar and x.__class__ in scalar) and (
                            (() if ga.__class__ is float else getattr(ga, "shape", None)) != getattr(x, "shape", ())
                        ):
                            ga = reduce_gradient(ga, x, [values[j] for j in args] + [values[i]])
                        prev = g[k]
                        g[k] = ga if prev is None else prev + ga
        except GatekitError:
            raise
        except BadGradient as exc:
            raise self._contract_error(i, str(exc)) from None
        except BaseException as exc:  # a plugin's bug: name the gate and plugin, keep the cause
            if is_user_interrupt(exc):
                raise
            scalar = _all_scalar({name: values[k] for name, k in self.input_ids.items()})
            junk = first_junk(values, self._gate_ids, scalar)
            if junk is not None:  # a forward's junk tripped this backward: blame that forward
                raise self._junk_error(*junk) from exc
            raise self._gate_failure(i, "backward", exc) from exc
        return [zero_gradient(values[k]) if gk is None else gk for k, gk in enumerate(g)]

    # -- helpers ----------------------------------------------------------------------------
    def _where(self, i: int) -> str:
        label = self.nodes[i].label
        return f"node {i}" + (f" ({label!r})" if label else "")

    def _gate_and_plugin(self, i: int) -> tuple[str, str | None]:
        name = str(self.nodes[i].name)
        return name, self.gate_plugins.get(name)

    def _contract_error(self, i: int, what: str) -> GateContractError:
        name, plugin = self._gate_and_plugin(i)
        return GateContractError(f"gate {name!r} (plugin {plugin!r}) at {self._where(i)}: backward {what}", plugin=plugin)

    def _gate_failure(self, i: int, method: str, exc: BaseException) -> GateContractError:
        """A gate that raised instead of returning (gates give inf/nan, never raise)."""
        name, plugin = self._gate_and_plugin(i)
        return GateContractError(
            f"gate {name!r} (plugin {plugin!r}) at {self._where(i)} raised {type(exc).__name__} in {method}"
            + (f": {text}" if (text := describe(exc).partition(": ")[2]) else ""),
            plugin=plugin,
        )

    def _check_outputs(self, values: Sequence[Any], inputs: Mapping[str, Any]) -> None:
        scalar = _all_scalar(inputs)
        if scalar in self._unchecked_kinds:
            junk = first_junk(values, self._gate_ids, scalar)
            if junk is not None:
                raise self._junk_error(*junk)
            self._unchecked_kinds.discard(scalar)

    def _junk_error(self, i: int, problem: str) -> GateContractError:
        name, plugin = self._gate_and_plugin(i)
        return GateContractError(
            f"gate {name!r} (plugin {plugin!r}) at {self._where(i)}: forward returned {problem}; a forward "
            "returns a real number or an array of real numbers (in its inputs' broadcast shape)",
            plugin=plugin,
        )

    def _shape_error(self, i: int, values: Sequence[Any]) -> UsageError:
        arrays = ", ".join(f"{name} {np.shape(values[k])}" for name, k in self.input_ids.items() if np.ndim(values[k]))
        got = " and ".join(str(np.shape(values[k])) for k in self.nodes[i].args)
        return UsageError(
            f"the input arrays' shapes do not broadcast together ({arrays}): gate {self.nodes[i].name!r} at "
            f"{self._where(i)} got shapes {got}; give arrays of one shape, or shapes that broadcast "
            "(a size-1 axis or a missing leading axis stretches)"
        )

    def as_gate(self, name: str, doc: str | None = None, domain: Any = None) -> Any:
        """This circuit as one gate whose backward is backprop through it.

        ``domain`` (a :class:`~gatekit.Domain`) says where its gradient check draws
        points; the default is every argument in [-3, 3].
        """
        from .composite import CompositeGate

        return CompositeGate(self, name, doc, domain)


def _all_scalar(inputs: Mapping[str, Any]) -> bool:
    return all(x.__class__ is float for x in inputs.values())


#: Values whose shape is () without asking: the scalar path skips the shape comparison.
_SCALAR_TYPES = frozenset((float, np.float64))


def _step(i: int, gate: Any, args: tuple[int, ...]) -> tuple[Any, ...]:
    """One compiled step: ``(node, gate, first arg or -1, second arg or -1, args)``."""
    if len(args) == 1:
        return (i, gate, args[0], -1, args)
    if len(args) == 2:
        return (i, gate, args[0], args[1], args)
    return (i, gate, -1, -1, args)


def _count_message(grads: Any, arity: int) -> str:
    if not isinstance(grads, (tuple, list)):
        return f"must return a tuple of {arity} gradient(s), got {type(grads).__name__}"
    return f"returned {len(grads)} gradient(s) for {arity} input(s)"
