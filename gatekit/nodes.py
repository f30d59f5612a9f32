"""How a circuit holds its nodes: lean columns, one tape step per gate, shown as :class:`Node`.

A circuit of a million gates must not cost a million objects per column, so nothing
here keeps a :class:`Node` per node. A circuit keeps two columns, each node's
arguments (a tuple of ints, the very tuple its tape step holds) and its gate (None
for inputs and constants), three small dicts for what only some nodes have (input
names, constant values, stage labels), and the tape: a step
``(id, forward, backward, first arg, second arg, args)`` per gate node (see
:mod:`gatekit.tape`), laid by the Composer in one pass when it builds.
:class:`NodeView` shows those columns as the sequence of :class:`Node` tuples that
``circuit.nodes`` always was, each made when it is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, overload

__all__ = ["Node", "NodeView", "INPUT", "CONST", "GATE"]

INPUT, CONST, GATE = "input", "const", "gate"


class Node(NamedTuple):
    """One node: an input (``name``), a constant (``value``) or a gate (``gate`` and ``args``).

    What ``circuit.nodes[i]`` gives and what ``Circuit(nodes, ...)`` takes; circuits
    themselves keep their nodes in columns (see the module docstring).
    """

    kind: str
    name: str | None = None  # the input's name, or the gate's registry name
    args: tuple[int, ...] = ()
    value: float | None = None  # a constant's value
    label: str | None = None  # a stage name, shown in tables

    @property
    def gate(self) -> str | None:
        return self.name if self.kind == GATE else None


class NodeView(Sequence[Node]):
    """A circuit's (or a Composer's) nodes as :class:`Node` tuples, made on demand."""

    __slots__ = ("_args", "_gates", "_names", "_values", "_labels")

    def __init__(self, args: Sequence[tuple[int, ...]], gates: Sequence[Any], names: Mapping[int, str],
                 values: Mapping[int, float], labels: Mapping[int, str]):
        #: Per node: its arguments (() for inputs and constants) and its gate (None for them).
        self._args, self._gates = args, gates
        self._names, self._values, self._labels = names, values, labels

    def __len__(self) -> int:
        return len(self._gates)

    @overload
    def __getitem__(self, i: int) -> Node: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Node, ...]: ...

    def __getitem__(self, i: int | slice) -> Node | tuple[Node, ...]:
        if isinstance(i, slice):
            return tuple([self[k] for k in range(*i.indices(len(self)))])
        gate = self._gates[i]  # IndexError for a node that does not exist, as a tuple gives
        if i < 0:
            i += len(self._gates)
        label = self._labels.get(i)
        if gate is not None:
            return Node(GATE, gate.name, self._args[i], None, label)
        name = self._names.get(i)
        if name is not None:
            return Node(INPUT, name, (), None, label)
        return Node(CONST, None, (), self._values[i], label)

    def __iter__(self) -> Iterator[Node]:
        for i in range(len(self._gates)):
            yield self[i]

    def kind(self, i: int) -> str:
        """The kind of node ``i``, without making its Node."""
        if self._gates[i] is not None:
            return GATE
        return INPUT if i in self._names else CONST

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (NodeView, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(node) for node in self[:3])
        more = f", ... ({len(self)} nodes)" if len(self) > 3 else ""
        return f"NodeView([{shown}{more}])"
