"""Circuits: an immutable DAG of gates, compiled once to a tape and run with loops.

A circuit holds input nodes (named), constant nodes and gate nodes in topological
order: every gate node's arguments come before it, so a cycle cannot be built.
The tape is walked forward to get every node's value (a :class:`~gatekit.trace.Trace`)
and in reverse to get every node's gradient. Depth is the user's, so nothing here
recurses: a chain of 100,000 gates runs like any other circuit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import CircuitError, GateContractError, NonFiniteError, UnknownNameError, UsageError
from .trace import Trace

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Node", "Circuit", "INPUT", "CONST", "GATE"]

INPUT, CONST, GATE = "input", "const", "gate"


@dataclass(frozen=True)
class Node:
    """One node: an input (``name``), a constant (``value``) or a gate (``gate`` and ``args``)."""

    kind: str
    name: str | None = None  # the input's name, or the gate's registry name
    args: tuple[int, ...] = ()
    value: float | None = None  # a constant's value
    label: str | None = None  # a stage name, shown in tables

    @property
    def gate(self) -> str | None:
        return self.name if self.kind == GATE else None


def _as_input(name: str, value: Any) -> Any:
    """An input value as float or float64 array; a clear error for anything else."""
    if isinstance(value, float):
        return value
    if isinstance(value, (int, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"input {name!r} must be a number or an array of numbers, got {value!r}") from None
    return array if array.ndim else float(array)


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
        gates: list[Any] = [None] * n
        for i, node in enumerate(self.nodes):
            where = f"node {i}" + (f" ({node.label!r})" if node.label else "")
            if node.kind == INPUT:
                if not node.name:
                    raise CircuitError(f"{where}: an input needs a name")
                if node.name in self.input_ids:
                    raise CircuitError(f"{where}: duplicate input name {node.name!r}")
                self.input_ids[node.name] = i
            elif node.kind == CONST:
                if node.value is None:
                    raise CircuitError(f"{where}: a constant needs a value")
            elif node.kind == GATE:
                gate = registry.entry("gate", node.name).obj  # the one lookup, at build time
                if len(node.args) != gate.arity:
                    raise CircuitError(
                        f"{where}: gate {node.name!r} takes {gate.arity} argument(s), got {len(node.args)}"
                    )
                for a in node.args:
                    if not (isinstance(a, int) and 0 <= a < i):
                        raise CircuitError(
                            f"{where}: argument {a!r} must refer to an earlier node (0..{i - 1}); "
                            "circuits are built in topological order, so cycles are impossible"
                        )
                gates[i] = gate
            else:
                raise CircuitError(f"{where}: unknown node kind {node.kind!r} (input, const or gate)")
        self.gates: tuple[Any, ...] = tuple(gates)
        unknown = set(defaults or ()) - set(self.input_ids)
        if unknown:
            raise UnknownNameError("input", sorted(unknown)[0], self.input_ids, "in the defaults")
        self.defaults: dict[str, float] = dict(defaults or {})
        # The tape: (node id, gate, argument ids) for each gate node, in order.
        self._tape = tuple((i, gates[i], self.nodes[i].args) for i in range(n) if gates[i] is not None)
        self._consts = tuple((i, float(node.value)) for i, node in enumerate(self.nodes) if node.kind == CONST)

    # -- shape ----------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        """Input names in the order they were declared."""
        return tuple(self.input_ids)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Circuit {len(self._tape)} gates, inputs {', '.join(self.inputs)}>"

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
                resolved[name] = _as_input(name, given[name])
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
        with np.errstate(all="ignore"):
            for i, gate, args in self._tape:
                v[i] = gate.forward(*[v[a] for a in args])
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
        g[self.output] = seed
        with np.errstate(all="ignore"):
            for i, gate, args in reversed(self._tape):
                gi = g[i]
                if gi is None:
                    continue  # not on any path to the output
                xs = [values[a] for a in args]
                grads = gate.backward(gi, values[i], *xs)
                if not isinstance(grads, (tuple, list)) or len(grads) != len(args):
                    raise self._contract_error(i, _count_message(grads, len(args)))
                for a, x, ga in zip(args, xs, grads):
                    if getattr(ga, "shape", ()) != getattr(x, "shape", ()):
                        ga = self._reduce(i, ga, x)
                    prev = g[a]
                    g[a] = ga if prev is None else prev + ga
        zero = 0.0
        return [zero if gi is None else gi for gi in g]

    # -- helpers ----------------------------------------------------------------------------
    def _contract_error(self, i: int, what: str) -> GateContractError:
        name = self.nodes[i].name
        plugin = self.registry.entry("gate", name).plugin.name if name in self.registry else None
        return GateContractError(
            f"gate {name!r} (plugin {plugin!r}) at {self.node_name(i)}: backward {what}", plugin=plugin
        )

    def _reduce(self, i: int, grad: Any, x: Any) -> Any:
        """Bring a gradient to the shape of the input it belongs to.

        A gradient that was broadcast against other inputs is summed over the
        broadcast axes; one smaller than its input (a scalar seed reaching an array
        input) is broadcast up. Anything else breaks the protocol.
        """
        shape = np.shape(x)
        grad = np.asarray(grad)
        try:
            full = np.broadcast_shapes(grad.shape, shape)
        except ValueError:
            full = None
        if full is None:
            raise self._contract_error(i, f"returned a gradient of shape {grad.shape} for an input of shape {shape}")
        if full != grad.shape:
            grad = np.broadcast_to(grad, full)
        extra = len(full) - len(shape)
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        axes = tuple(k for k, s in enumerate(shape) if s == 1 and grad.shape[k] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        if not shape:
            return float(grad)
        return grad if grad.flags.writeable else grad.copy()

    def as_gate(self, name: str, doc: str | None = None) -> Any:
        """This circuit as one gate whose backward is backprop through it."""
        from .composite import CompositeGate

        return CompositeGate(self, name, doc)

    # -- construction helpers ------------------------------------------------------------------
    @classmethod
    def from_nodes(
        cls, nodes: Iterable[Node], output: int | None = None, registry: Registry | None = None, **kw: Any
    ) -> Circuit:
        nodes = list(nodes)
        return cls(nodes, len(nodes) - 1 if output is None else output, registry, **kw)


def _count_message(grads: Any, arity: int) -> str:
    if not isinstance(grads, (tuple, list)):
        return f"must return a tuple of {arity} gradient(s), got {type(grads).__name__}"
    return f"returned {len(grads)} gradient(s) for {arity} input(s)"
