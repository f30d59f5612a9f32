"""Circuits: an immutable DAG of gates, compiled once to a tape and run with loops.

A circuit holds input nodes (named), constant nodes and gate nodes in topological
order: every gate node's arguments come before it, so a cycle cannot be built.
The tape is walked forward to get every node's value (a :class:`~gatekit.trace.Trace`)
and in reverse to get every node's gradient. Depth is the user's, so nothing here
recurses: a chain of 100,000 gates runs like any other circuit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import numpy as np

from . import tape
from .broadcast import zero_gradient
from .codegen import CompiledCircuit
from .composite import CompositeGate
from .errors import CircuitError, NonFiniteError, UnknownNameError, UsageError
from .nodes import CONST, GATE, INPUT, Node, NodeView
from .tape import Step
from .trace import Trace
from .wanted import unwanted_nodes, wanted_inputs
from .values import (CONSTANT_RULE, INPUT_NAME_RULE, as_input, is_constant, is_input_name, label_problem, plain, resolve_inputs,
                     values_in_order)

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Node", "Circuit", "INPUT", "CONST", "GATE"]

_NONE: frozenset[str] = frozenset()
T = TypeVar("T")


class _lazy(Generic[T]):
    """An attribute computed on first read and then stored on the instance (a plain
    attribute from then on). functools.cached_property takes a lock on every first
    read on Python 3.11, which a circuit built and run once pays for each time."""

    def __init__(self, function: Callable[[Any], T]):
        self.function, self.name = function, function.__name__
        self.__doc__ = function.__doc__

    @overload
    def __get__(self, instance: None, owner: Any = None) -> _lazy[T]: ...
    @overload
    def __get__(self, instance: object, owner: Any = None) -> T: ...

    def __get__(self, instance: object | None, owner: Any = None) -> T | _lazy[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


def _BY_KEYWORD(missing: list[str]) -> str:
    return "; give " + ", ".join(f"{name}=..." for name in missing) + " (keywords or a mapping)"


class Circuit:
    """An immutable DAG of registered gates with one output.

    Build one with :class:`~gatekit.compose.Composer`, :func:`~gatekit.parse` or
    :func:`~gatekit.load`; run it with :meth:`forward` (values) and
    :meth:`Trace.backward <gatekit.trace.Trace.backward>` (gradients), or
    :meth:`gradient` for both at once. ``circuit.nodes`` shows every node as a
    :class:`Node`; the circuit itself keeps lean columns (see :mod:`gatekit.nodes`).
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
        nodes = tuple(nodes)
        n = len(nodes)
        if not 0 <= output < n:
            raise CircuitError(f"output node {output} does not exist (the circuit has {n} nodes)")
        self.output = output
        self.input_ids: dict[str, int] = {}
        #: The plugin that gave each gate used, recorded at build time for error messages.
        self.gate_plugins: dict[str, str] = {}
        gates: list[Any] = [None] * n
        labels: dict[int, str] = {}
        for i, node in enumerate(nodes):
            # Where a problem is, as _where(i) says it, is only worked out for an error.
            if not isinstance(node, Node):
                raise CircuitError(f"node {i}: expected a gatekit.circuit.Node, got {type(node).__name__}")
            if node.label is not None:
                labels[i] = node.label
            if node.kind == INPUT:
                if not is_input_name(node.name):
                    raise CircuitError(f"{self._where(i, labels)}: an input name must be {INPUT_NAME_RULE}, got {node.name!r}")
                if node.name in self.input_ids:
                    raise CircuitError(f"{self._where(i, labels)}: duplicate input name {node.name!r}")
                self.input_ids[str(node.name)] = i
            elif node.kind == CONST:
                if not is_constant(node.value):
                    raise CircuitError(f"{self._where(i, labels)}: a constant must be {CONSTANT_RULE}, got {node.value!r}")
            elif node.kind == GATE:
                if not isinstance(node.name, str) or node.name not in registry:
                    raise UnknownNameError("gate", str(node.name), registry.gate_names(), f"at {self._where(i, labels)}")
                entry = registry.entry("gate", node.name)  # the one lookup, at build time
                gate = entry.obj
                self.gate_plugins[node.name] = entry.plugin.name
                if not isinstance(node.args, tuple) or len(node.args) != gate.arity:
                    got = len(node.args) if isinstance(node.args, (tuple, list)) else repr(node.args)
                    raise CircuitError(f"{self._where(i, labels)}: gate {node.name!r} takes {gate.arity} argument(s), got {got}")
                for a in node.args:
                    if not (isinstance(a, int) and not isinstance(a, bool) and 0 <= a < i):
                        raise CircuitError(
                            f"{self._where(i, labels)}: argument {a!r} must refer to an earlier node (0..{i - 1}); "
                            "circuits are built in topological order, so cycles are impossible"
                        )
                if node.label is not None and label_problem(node.label) is not None:
                    raise CircuitError(f"node {i}: {label_problem(node.label)}")
                gates[i] = gate
            else:
                raise CircuitError(f"{self._where(i, labels)}: unknown node kind {node.kind!r} (input, const or gate)")
        self._store(nodes, gates)
        self._finish(defaults, list({id(g): g for g in gates if g is not None}.values()))

    @classmethod
    def _built(
        cls,
        nodes: Sequence[Node],
        gates: Sequence[Any],
        output: int,
        registry: Registry,
        input_ids: dict[str, int],
        gate_plugins: dict[str, str],
        defaults: Mapping[str, float] | None,
    ) -> Circuit:
        """A circuit from nodes already checked, with their gates resolved (a reordered or
        inlined circuit): validated once, built once."""
        self = cls.__new__(cls)
        self.registry, self.output = registry, output
        self.input_ids, self.gate_plugins = input_ids, gate_plugins
        self._store(nodes, gates)
        self._finish(defaults, list({id(g): g for g in gates if g is not None}.values()))
        return self

    @classmethod
    def _lean(
        cls,
        node_args: Sequence[tuple[int, ...]],
        steps: tuple[Step, ...],
        gates: tuple[Any, ...],
        values: dict[int, float],
        labels: dict[int, str],
        output: int,
        registry: Registry,
        input_ids: dict[str, int],
        gate_plugins: dict[str, str],
        defaults: Mapping[str, float] | None,
        distinct_gates: Sequence[Any],
    ) -> Circuit:
        """A circuit from the :class:`~gatekit.compose.Composer`'s columns and the tape it laid."""
        self = cls.__new__(cls)
        self.registry, self.output = registry, output
        self.input_ids, self.gate_plugins = input_ids, gate_plugins
        self._args, self.steps, self.gates, self._values, self._labels = node_args, steps, gates, values, labels
        self._finish(defaults, distinct_gates)
        return self

    def _store(self, nodes: Sequence[Node], gates: Sequence[Any]) -> None:
        """The columns of :mod:`gatekit.nodes` and the tape from Node tuples, each gate's methods bound once."""
        methods = {id(g): (g.forward, g.backward) for g in gates if g is not None}
        steps: list[Step] = []
        values: dict[int, float] = {}
        labels: dict[int, str] = {}
        for i, (node, gate) in enumerate(zip(nodes, gates)):
            if node.label is not None:
                labels[i] = node.label
            if gate is not None:
                args = node.args
                forward, backward = methods[id(gate)]
                a = args[0] if len(args) in (1, 2) else -1
                b = args[1] if len(args) == 2 else -1
                steps.append((i, forward, backward, a, b, args))
            elif node.kind == CONST:
                values[i] = float(node.value)  # type: ignore[arg-type]
        self._args = tuple([node.args for node in nodes])
        self.steps, self.gates, self._values, self._labels = tuple(steps), tuple(gates), values, labels

    #: The tape the interpreter walks (see :mod:`gatekit.tape`): one step per gate node.
    steps: tuple[Step, ...]
    #: Each node's arguments (() for inputs and constants); only the first len(gates) are
    #: this circuit's (the Composer's column is shared, and only ever appended to).
    _args: Sequence[tuple[int, ...]]

    def _finish(self, defaults: Mapping[str, float] | None, distinct_gates: Sequence[Any]) -> None:
        """What the passes need to know about the tape, once the columns are in place.

        Kept to the least: a circuit built to be run once (the lesson's neuron, composed,
        built and run) pays for this on every build.
        """
        if defaults:
            unknown = set(defaults) - set(self.input_ids)
            if unknown:
                raise UnknownNameError("input", sorted(unknown)[0], self.input_ids, "in the defaults")
            self.defaults: dict[str, Any] = {name: as_input(name, v) for name, v in defaults.items()}
        else:
            self.defaults = {}
        self.constants: tuple[tuple[int, float], ...] = tuple(self._values.items())
        #: Inputs declared to the builder that the output never reads (see ``Composer.build``):
        #: left out of the circuit, and a value given for one is accepted and ignored.
        self.unread_inputs: frozenset[str] = _NONE
        self._compiled: CompiledCircuit | None = None
        #: Kinds of input (scalar: True, arrays: False) whose gate outputs are still to be checked once.
        self._unchecked_kinds = {True, False}
        #: Every gate keeps Python floats floats (see ``Gate.keeps_floats``): the scalar fast path.
        self.keeps_floats: bool = all([getattr(g, "keeps_floats", False) is True for g in distinct_gates if g is not None])

    # What a pass may need, made on first use: a circuit that is built and never run
    # backwards (a million-term expression parsed and saved) never pays for them.
    @_lazy
    def nodes(self) -> NodeView:
        """Every node as a :class:`Node`, in topological order (made when read)."""
        return NodeView(self._args, self.gates, {i: name for name, i in self.input_ids.items()},
                        self._values, self._labels)

    @_lazy
    def _wrt_cache(self) -> dict[Any, tuple[str, ...] | None]:
        """``wrt`` values met, validated (see :mod:`gatekit.wanted`)."""
        return {}

    @_lazy
    def _unwanted_cache(self) -> dict[tuple[str, ...], frozenset[int]]:
        """For each set of wanted inputs met, the nodes none of them feeds."""
        return {}

    @_lazy
    def reversed_steps(self) -> tuple[Step, ...]:
        return self.steps[::-1]

    @_lazy
    def _gate_ids(self) -> tuple[int, ...]:
        return tuple(map(itemgetter(0), self.steps))

    @_lazy
    def constant_nodes(self) -> frozenset[int]:
        """Nodes no input reaches (constants and gates of constants): no gradient is needed there."""
        reached = [False] * len(self.gates)
        for i in self.input_ids.values():
            reached[i] = True
        for i, _, _, a, b, args in self.steps:
            reached[i] = reached[a] or reached[b] if b >= 0 else reached[a] if a >= 0 else any(reached[k] for k in args)
        return frozenset([i for i, r in enumerate(reached) if not r])

    # -- shape ----------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        """Input names in the order they were declared."""
        return tuple(self.input_ids)

    def __len__(self) -> int:
        return len(self.gates)

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
            if 0 <= key < len(self.gates):
                return int(key)
            raise UsageError(f"node {key} does not exist (the circuit has {len(self.gates)} nodes)")
        if key in self.input_ids:
            return self.input_ids[key]
        found = [i for i, label in self._labels.items() if label == key]
        if found:
            return max(found)
        names = list(self.input_ids) + [label for label in self._labels.values() if label]
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
        value is inf or nan; on lazy arrays (dask) that check computes them (see
        :meth:`Trace.first_nonfinite`).
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

    def gradient(self, values: Mapping[str, Any] | None = None, *, wrt: Any = None,
                 **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(output, {input name: gradient})`` in one forward and one backward pass.

        Only the input gradients are kept, so on arrays no intermediate gradient
        outlives its use. ``wrt`` (an input name or a sequence of them) asks for those
        inputs' gradients only, in that order: gradients that reach no wanted input
        (a training run's data) are then not computed (see :mod:`gatekit.wanted`). An
        input named ``wrt`` takes its value from the mapping, as ``check_finite`` does
        in :meth:`forward`.
        """
        wanted = None if wrt is None else wanted_inputs(self, wrt)
        fast = tape.gradient_floats(self, values) if not kwargs else None
        if fast is not None:  # floats: everything costs next to nothing, so it is all computed
            return fast if wanted is None else (fast[0], {name: fast[1][name] for name in wanted})
        v = tape.forward(self, self.resolve_inputs(values, **kwargs))
        return plain(v[self.output]), self._input_gradients(v, wanted)

    def _input_gradients(self, v: list[Any], wanted: tuple[str, ...] | None) -> dict[str, Any]:
        """The wanted inputs' gradients (every input's for None) by one backward pass over the values ``v``.

        ``v`` is the caller's own list, and is used up (see ``tape.backward``'s ``keep="inputs"``).
        """
        unread = None if wanted is None else unwanted_nodes(self, wanted)
        g = tape.backward(self, v, 1.0, keep="inputs", unread=unread)
        grads = {}
        for name in self.inputs if wanted is None else wanted:
            i = self.input_ids[name]
            gi = g[i]
            grads[name] = gi if gi.__class__ is float else plain(zero_gradient(v[i]) if gi is None else gi)
        return grads

    def gradient_list(self, xs: Sequence[Any], *, wrt: Any = None) -> tuple[Any, list[Any]]:
        """``(output, [gradient of each input])``: the inputs' values and gradients as sequences.

        For code that keeps its parameters in a list or a vector (an optimiser): one value
        per input, in the order of :attr:`inputs`; a 1-d numpy array of floats is one
        number per input. The same answers as :meth:`gradient`, without a dict either way;
        with ``wrt``, the gradients of those inputs only, in its order.
        """
        out, grads = self.gradient(values_in_order(self.inputs, xs), wrt=wrt)
        return out, list(grads.values())

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
    def _where(self, i: int, labels: Mapping[int, str] | None = None) -> str:
        label = (self._labels if labels is None else labels).get(i)
        return f"node {i}" + (f" ({label!r})" if label else "")

    def as_gate(self, name: str, doc: str | None = None, domain: Any = None) -> Any:
        """This circuit as one gate whose backward is backprop through it.

        ``domain`` (a :class:`~gatekit.Domain`) says where its gradient check draws
        points; the default is every argument in [-3, 3].
        """
        return CompositeGate(self, name, doc, domain)
