"""A composite gate's circuit with every composite inside it inlined: plain gates only.

Why: a composite's backward must run its circuit forward again (gates keep no state),
and a composite inside it does the same in its own backward, so nesting ``d`` levels
ran the innermost forward ``d`` times (work growing with depth squared). Run on the
inlined circuit, one backward is one forward and one backward walk over plain gates.

The inlined circuit is derived data, made once from immutable circuits (and only up to
:data:`MAX_INLINED_NODES`: inlining copies a sub-circuit per use, so a wide nest could
be far larger than the circuits it is made of; past the bound the gate re-runs levels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["inline", "MAX_INLINED_NODES"]

#: The largest inlined circuit kept (nodes); larger nests re-run each level instead.
MAX_INLINED_NODES = 200_000


def inline(circuit: Circuit) -> Circuit | None:
    """``circuit`` with every composite gate node replaced by its own inlined circuit.

    ``None`` when it holds no composite (nothing to gain) or would exceed the bound.
    """
    from .circuit import CONST, GATE, Node  # the circuit module imports this one's user
    from .composite import CompositeGate

    if not any(isinstance(g, CompositeGate) for g in circuit.gates):
        return None
    nodes: list[Node] = []
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
                nodes.append(Node(inner_node.kind, inner_node.name, args, inner_node.value) if inner_node.kind != CONST
                             else inner_node)
                gates.append(inner.gates[k])
                inner_where[k] = len(nodes) - 1
            plugins.update(inner.gate_plugins)
            where[i] = inner_where[inner.output]
        if len(nodes) > MAX_INLINED_NODES:
            return None
    input_ids = {name: where[i] for name, i in circuit.input_ids.items()}
    return type(circuit)._built(nodes, gates, where[circuit.output], circuit.registry, input_ids, plugins, None)
