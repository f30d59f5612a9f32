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

from . import tape
from .broadcast import zero_gradient
from .codegen import CompiledCircuit
from .composite import CompositeGate
from .errors import CircuitError, NonFiniteError, UnknownNameError, UsageError
from .tape import Step, make_step
from .trace import Trace
from .values import CONSTANT_RULE, INPUT_NAME_RULE, as_input, is_constant, is_input_name, label_problem, plain, resolve_inputs

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Node", "Circuit", "INPUT", "CONST", "GATE"]

_FLOAT = frozenset((float,))


def _BY_KEYWORD(missing: list[str]) -> str:
    return "; give " + ", ".join(f"{name}=..." for name in missing) + " (keywords or a mapping)"

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
        if registry is None:  # the engine never loads plugins: the builders default it
            raise UsageError("Circuit(nodes, output, registry) needs the registry its gates come from; "
                             "Composer, parse and load default it")
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
                raise CircuitError(f"node {i}: expected a gatekit.circuit.Node, got {type(node).__name__}")
            if node.kind == INPUT:
                if not is_input_name(node.name):
                    raise CircuitError(f"{self._where(i)}: an input name must be {INPUT_NAME_RULE}, got {node.name!r}")
                if node.name in self.input_ids:
                    raise CircuitError(f"{self._where(i)}: duplicate input name {node.name!r}")
                self.input_ids[str(node.name)] = i
            elif node.kind == CONST:
                if not is_constant(node.value):
                    raise CircuitError(f"{self._where(i)}: a constant must be {CONSTANT_RULE}, got {node.value!r}")
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
        self._finish(gates, defaults)

    @classmethod
    def _built(
        cls,
        nodes: list[Node],
        gates: list[Any],
        output: int,
        registry: Registry,
        input_ids: dict[str, int],
        gate_plugins: dict[str, str],
        defaults: Mapping[str, float] | None,
    ) -> Circuit:
        """A circuit from :class:`~gatekit.compose.Composer`, which has already checked every
        node and resolved every gate: validated once, built once."""
        self = cls.__new__(cls)
        self.registry, self.nodes, self.output = registry, tuple(nodes), output
        self.input_ids, self.gate_plugins = input_ids, gate_plugins
        self._finish(gates, defaults)
        return self

    def _finish(self, gates: list[Any], defaults: Mapping[str, float] | None) -> None:
        """The tape and what the passes need to know about it, from the resolved gates."""
        nodes, n = self.nodes, len(self.nodes)
        self.gates: tuple[Any, ...] = tuple(gates)
        unknown = set(defaults or ()) - set(self.input_ids)
        if unknown:
            raise UnknownNameError("input", sorted(unknown)[0], self.input_ids, "in the defaults")
        self.defaults: dict[str, Any] = {name: as_input(name, v) for name, v in (defaults or {}).items()}
        #: The tape the interpreter walks (see :mod:`gatekit.tape`): one step per gate node.
        # Each gate's bound methods made once and shared by its steps (a bound method per
        # step costs ~110 bytes and its creation); two-input gates, nearly all, written out.
        methods = {id(g): (g.forward, g.backward) for g in gates if g is not None}
        steps: list[Step] = []
        for i, gate in enumerate(gates):
            if gate is not None:
                args = nodes[i].args
                if len(args) == 2:
                    forward, backward = methods[id(gate)]
                    steps.append((i, forward, backward, args[0], args[1], args))
                else:
                    steps.append(make_step(i, gate, args))
        self.steps: tuple[Step, ...] = tuple(steps)
        self.reversed_steps: tuple[Step, ...] = self.steps[::-1]
        self.constants: tuple[tuple[int, float], ...] = tuple(
            [(i, float(node.value)) for i, node in enumerate(nodes) if node.kind == CONST]  # type: ignore[arg-type]
        )
        #: Nodes no input reaches (constants and gates of constants): no gradient is needed there.
        reached = [False] * n
        for i in self.input_ids.values():
            reached[i] = True
        for i, _, _, a, b, args in self.steps:
            reached[i] = reached[a] or reached[b] if b >= 0 else reached[a] if a >= 0 else any(reached[k] for k in args)
        self.constant_nodes: frozenset[int] = frozenset([i for i in range(n) if not reached[i]])
        #: Inputs declared to the builder that the output never reads (see ``Composer.build``):
        #: left out of the circuit, and a value given for one is accepted and ignored.
        self.unread_inputs: frozenset[str] = frozenset()
        self._compiled: CompiledCircuit | None = None
        self._gate_ids = tuple(step[0] for step in self.steps)
        #: Kinds of input (scalar: True, arrays: False) whose gate outputs are still to be checked once.
        self._unchecked_kinds = {True, False}
        #: Every gate keeps Python floats floats (see ``Gate.keeps_floats``): the scalar fast path.
        self.keeps_floats: bool = all(getattr(g, "keeps_floats", False) is True for g in {id(g): g for g in gates if g is not None}.values())

    # -- shape ----------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        """Input names in the order they were declared."""
        return tuple(self.input_ids)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Circuit {len(self.steps)} gates, inputs {', '.join(self.inputs)}>"

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
        if values.__class__ is dict and not kwargs and len(values) == len(self.input_ids):
            # The common call, every input given as a float: nothing to look up or convert.
            get = values.get
            for name in self.input_ids:
                if get(name).__class__ is not float:
                    break
            else:
                return values
        given = dict(values or {})
        given.update(kwargs)
        return resolve_inputs(tuple(self.input_ids), self.defaults, given, how=_BY_KEYWORD, unread=self.unread_inputs)

    def forward(self, values: Mapping[str, Any] | None = None, *, check_finite: bool = False, **kwargs: Any) -> Trace:
        """Every node's value at the given inputs (names as keywords or a mapping).

        With ``check_finite`` a :class:`NonFiniteError` names the first node whose
        value is inf or nan.
        """
        trace = Trace(self, tape.forward(self, self.resolve_inputs(values, **kwargs)))
        if check_finite:
            problem = trace.first_nonfinite()
            if problem is not None:
                raise NonFiniteError(problem.message, problem.node)
        return trace

    def __call__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The output value."""
        return self.forward(values, **kwargs).output

    def gradient(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(output, {input name: gradient})`` in one forward and one backward pass.

        Only the input gradients are kept, so on arrays no intermediate gradient
        outlives its use.
        """
        v = tape.forward(self, self.resolve_inputs(values, **kwargs))
        g = tape.backward(self, v, 1.0, keep="inputs")
        grads = {}
        for name, i in self.input_ids.items():
            gi = g[i]
            grads[name] = gi if gi.__class__ is float else plain(zero_gradient(v[i]) if gi is None else gi)
        return plain(v[self.output]), grads

    def compile(self) -> CompiledCircuit:
        """This circuit as generated straight-line Python (see :mod:`gatekit.codegen`).

        Kept with the circuit; each variant (floats, arrays) is generated on first use,
        since generating costs tens of microseconds per gate.
        """
        if self._compiled is None:
            self._compiled = CompiledCircuit(self)
        return self._compiled

    def source(self, arrays: bool = False) -> str:
        """The generated forward and backward pass, as a person would write it."""
        return self.compile().source(arrays)

    # -- helpers ----------------------------------------------------------------------------
    def _where(self, i: int) -> str:
        label = self.nodes[i].label
        return f"node {i}" + (f" ({label!r})" if label else "")

    def as_gate(self, name: str, doc: str | None = None, domain: Any = None) -> Any:
        """This circuit as one gate whose backward is backprop through it.

        ``domain`` (a :class:`~gatekit.Domain`) says where its gradient check draws
        points; the default is every argument in [-3, 3].
        """
        return CompositeGate(self, name, doc, domain)
