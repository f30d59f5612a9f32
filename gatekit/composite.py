"""A circuit as one gate: forward runs the circuit, backward backpropagates through it.

Register one like any other gate, from a plugin's hook or straight into a registry::

    neuron = circuit.as_gate("neuron", "neuron(w0, x0, ...) = sigmoid(w0*x0 + ...)")
    registry.add_gate(neuron, "my-plugin")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CircuitError
from .gate import DEFAULT_DOMAIN, Domain, gate_markdown
from .values import NAME_PATTERN

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["CompositeGate", "MAX_COMPOSITE_DEPTH"]

#: How deep composite gates may nest (a composite of composites of ...). Each level
#: runs its circuit through a few Python calls, so past Python's recursion limit
#: (about 330 levels) a run would fail half-way; the limit makes it a build-time error.
#: Backward runs on the circuit with the nested composites inlined, so it costs one
#: forward and one backward walk at any depth (see :func:`_inline`).
MAX_COMPOSITE_DEPTH = 100
_UNSET = object()


class CompositeGate:
    """A gate made of a circuit; its inputs are the circuit's, in declaration order.

    Gates are stateless, so backward runs the sub-circuit forward again rather than
    keeping the last trace: one instance stays safe in any number of nodes and threads.
    It runs the inlined circuit (every composite inside replaced by its plain gates),
    made once, so nested composites do not each run their levels again.
    The circuit's default input values do not apply: a gate always gets every argument.
    """

    symbol = None
    grad_doc = "backpropagation through the circuit"

    def __init__(self, circuit: Circuit, name: str, doc: str | None = None, domain: Domain | None = None):
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise CircuitError(f"{name!r} is not a valid gate name (lowercase letters, digits, '_', '-')")
        if not circuit.inputs:
            raise CircuitError(f"composite gate {name!r} needs a circuit with at least one input")
        if domain is not None and not isinstance(domain, Domain):
            raise CircuitError(f"the domain of composite gate {name!r} must be a gatekit.Domain, got {domain!r}")
        #: 1 for a composite of plain gates, 1 + the deepest composite inside otherwise.
        self.depth = 1 + max((getattr(gate, "depth", 0) for gate in circuit.gates if gate is not None), default=0)
        if self.depth > MAX_COMPOSITE_DEPTH:
            raise CircuitError(
                f"composite gate {name!r} would nest composite gates {self.depth} deep, more than the "
                f"{MAX_COMPOSITE_DEPTH} gatekit runs; build the inner levels into one circuit instead "
                "(a composite may hold any number of plain gates)"
            )
        self.circuit = circuit
        self.name = name
        self.arity = len(circuit.inputs)
        gates = sum(1 for node in circuit.nodes if node.kind == "gate")
        self.doc = doc or f"{name}({', '.join(circuit.inputs)}): a circuit of {gates} gates"
        self.domain = DEFAULT_DOMAIN if domain is None else domain
        self._flat: object = _UNSET

    def __repr__(self) -> str:
        return f"<CompositeGate {self.name}({', '.join(self.circuit.inputs)})>"

    def _repr_markdown_(self) -> str:
        return gate_markdown(self)

    def _values(self, xs: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(self.circuit.inputs, xs))

    def forward(self, *xs: Any) -> Any:
        return self.circuit.forward(self._values(xs)).output

    def flat_circuit(self) -> Circuit | None:
        """The circuit with every composite inside inlined (:func:`_inline`);
        None when that would be too large. Derived once from immutable circuits: two
        threads making it at once make the same thing."""
        if self._flat is _UNSET:
            flat = _inline(self.circuit)
            self._flat = self.circuit if flat is None and self.depth == 1 else flat
        return self._flat  # type: ignore[return-value]

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        # On the inlined circuit: nested composites would each re-run their levels' forward.
        circuit = self.flat_circuit() or self.circuit
        grads = circuit.forward(self._values(xs)).backward(grad).input_grads()
        return tuple(grads[name] for name in self.circuit.inputs)

#: The largest inlined circuit kept (nodes); larger nests re-run each level instead:
#: inlining copies a sub-circuit per use, so a wide nest could be far larger than the
#: circuits it is made of.
MAX_INLINED_NODES = 200_000


def _inline(circuit: Circuit) -> Circuit | None:
    """``circuit`` with every composite gate node replaced by its own inlined circuit.

    ``None`` when it holds no composite (nothing to gain) or would exceed the bound.
    """
    if not any(isinstance(g, CompositeGate) for g in circuit.gates):
        return None
    Node = type(circuit.nodes[0])  # gatekit.circuit.Node, which imports this module
    nodes: list[Any] = []
    gates: list[Any] = []
    plugins = dict(circuit.gate_plugins)
    where = [-1] * len(circuit.nodes)  # circuit node -> inlined node
    for i, node in enumerate(circuit.nodes):
        gate = circuit.gates[i]
        # A composite too large to inline stays a node (its own backward re-runs its levels).
        inner = gate.flat_circuit() if isinstance(gate, CompositeGate) else None
        if inner is None:
            args = tuple([where[a] for a in node.args])
            nodes.append(Node(node.kind, node.name, args, node.value, node.label) if args else node)
            gates.append(gate)
            where[i] = len(nodes) - 1
        else:  # splice: the inner inputs are this node's arguments, in order
            inner_where = [-1] * len(inner.nodes)
            for name, a in zip(inner.inputs, node.args):
                inner_where[inner.input_ids[name]] = where[a]
            for k, inner_node in enumerate(inner.nodes):
                if inner_where[k] >= 0:
                    continue
                args = tuple([inner_where[a] for a in inner_node.args])
                nodes.append(Node(inner_node.kind, inner_node.name, args, inner_node.value) if inner_node.kind != "const"
                             else inner_node)
                gates.append(inner.gates[k])
                inner_where[k] = len(nodes) - 1
            plugins.update(inner.gate_plugins)
            where[i] = inner_where[inner.output]
        if len(nodes) > MAX_INLINED_NODES:
            return None
    input_ids = {name: where[i] for name, i in circuit.input_ids.items()}
    return type(circuit)._built(nodes, gates, where[circuit.output], circuit.registry, input_ids, plugins, None)
