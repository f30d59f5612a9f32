"""Circuits rewritten for drawing, and run again so every number still comes from the engine.

- :func:`open_composites`: each composite gate replaced by the gates it is made of
  (nested ones too: one pass per level of nesting, in a loop).
- :func:`split_constants`: a constant used by several gates drawn once per use, beside
  each gate, as lecture diagrams do, instead of one long wire to each.
"""

from __future__ import annotations

from ..circuit import CONST, GATE, INPUT, Circuit, Node
from ..composite import CompositeGate
from ..registry import Registry
from ..trace import Trace

__all__ = ["open_composites", "split_constants"]


def open_composites(source: Circuit | Trace) -> Circuit | Trace:
    circuit = source.circuit if isinstance(source, Trace) else source
    opened = circuit
    while any(isinstance(g, CompositeGate) for g in opened.gates):
        opened = _open_once(opened)
    return _rerun(source, opened)


def split_constants(source: Circuit | Trace) -> Circuit | Trace:
    circuit = source.circuit if isinstance(source, Trace) else source
    uses = [0] * len(circuit.nodes)
    for node in circuit.nodes:
        for a in node.args:
            uses[a] += 1
    if all(uses[i] <= 1 for i, node in enumerate(circuit.nodes) if node.kind == CONST):
        return source
    nodes: list[Node] = []
    where: list[int] = []
    for node in circuit.nodes:
        if node.kind == CONST:
            where.append(-1)  # placed at each use, below
            continue
        args = []
        for a in node.args:
            if where[a] == -1:
                nodes.append(circuit.nodes[a])
                args.append(len(nodes) - 1)
            else:
                args.append(where[a])
        nodes.append(node._replace(args=tuple(args)))
        where.append(len(nodes) - 1)
    if where[circuit.output] == -1:  # the output is a constant: nothing to split
        return source
    return _rerun(source, Circuit(nodes, where[circuit.output], circuit.registry, circuit.defaults))


def _rerun(source: Circuit | Trace, rewritten: Circuit) -> Circuit | Trace:
    """``rewritten`` in place of ``source``'s circuit: run at the same inputs, with the same seed."""
    circuit = source.circuit if isinstance(source, Trace) else source
    if rewritten is circuit or not isinstance(source, Trace):
        return rewritten
    trace = rewritten.forward(source.inputs())
    if source.grads is not None:
        trace.backward(source.grads[circuit.output])
    return trace


def _open_once(circuit: Circuit) -> Circuit:
    nodes: list[Node] = []
    registry = Registry()
    gates: dict[str, object] = {}
    where: list[int] = []  # old node id -> new node id
    for i, node in enumerate(circuit.nodes):
        gate = circuit.gates[i]
        if not isinstance(gate, CompositeGate):
            if node.kind == GATE:
                gates[str(node.name)] = gate
                node = node._replace(args=tuple(where[a] for a in node.args))
            nodes.append(node)
            where.append(len(nodes) - 1)
            continue
        inner = gate.circuit
        prefix = circuit.node_name(i)
        local: list[int] = []
        for j, sub in enumerate(inner.nodes):
            if sub.kind == INPUT:
                local.append(where[node.args[inner.inputs.index(str(sub.name))]])
                continue
            if sub.kind == CONST:
                nodes.append(sub._replace(label=None))
            else:
                gates[str(sub.name)] = inner.gates[j]
                label = node.label if j == inner.output else (f"{prefix}.{sub.label}" if sub.label else None)
                nodes.append(Node(GATE, sub.name, tuple(local[a] for a in sub.args), None, label))
            local.append(len(nodes) - 1)
        where.append(local[inner.output])
    for name, gate in gates.items():
        plugin = circuit.gate_plugins.get(name, "opened composite")
        registry.add_gate(gate, plugin)
    return Circuit(nodes, where[circuit.output], registry, circuit.defaults)
