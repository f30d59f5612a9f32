"""What every picture draws: nodes, wires, and the numbers on them, rounded once.

A wire runs from a node into argument ``k`` of a gate. Forward it carries the node's
value; backward it carries that gate's share of the node's gradient. A node used by
several gates (a fork) gets the sum of its wires' shares: the picture shows each
share and the total. Every format (SVG, PNG, DOT, Mermaid, text) reads this model,
so they round the same numbers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..circuit import Circuit
from ..explain import number, wire_shares
from ..trace import Trace

__all__ = ["Wire", "Drawing", "drawing", "DEFAULT_DIGITS"]

#: Significant digits of every number in a picture, unless told otherwise.
DEFAULT_DIGITS = 4


@dataclass(frozen=True)
class Wire:
    source: int
    target: int
    arg: int
    value: Any  # None without a forward pass
    grad: Any  # the share; None without a backward pass


@dataclass(frozen=True)
class Drawing:
    """A circuit, optionally a trace of it, and every wire with its value and share."""

    circuit: Circuit
    trace: Trace | None
    wires: tuple[Wire, ...]
    backward: bool
    digits: int | None = DEFAULT_DIGITS
    #: How many wires leave each node (counted once: pictures ask for every node).
    use_counts: tuple[int, ...] = ()

    @property
    def forward(self) -> bool:
        return self.trace is not None

    def value(self, node: int) -> Any:
        return None if self.trace is None else self.trace.values[node]

    def grad(self, node: int) -> Any:
        if not self.backward or self.trace is None or self.trace.grads is None:
            return None
        return self.trace.grads[node]

    def uses(self, node: int) -> int:
        return self.use_counts[node]

    def fmt(self, value: Any) -> str:
        return number(value, self.digits)

    def symbol(self, node: int) -> str:
        """What a gate's box says: its operator if it binds one, else its name."""
        n = self.circuit.nodes[node]
        if n.kind != "gate":
            return self.circuit.node_name(node)
        symbol = getattr(self.circuit.gates[node], "symbol", None)
        if not (isinstance(symbol, str) and symbol):
            return str(n.name)
        return symbol + "x" if len(n.args) == 1 else symbol  # a unary operator: "-x", not a bare "-"


def drawing(source: Circuit | Trace, backward: bool = True, digits: int | None = DEFAULT_DIGITS) -> Drawing:
    """The model of a picture: from a trace (values, and gradients unless ``backward`` is
    false) or from a bare circuit (structure only)."""
    if isinstance(source, Trace):
        circuit, trace = source.circuit, source
    else:
        circuit, trace = source, None
    backward = backward and trace is not None
    shares = wire_shares(trace) if backward and trace is not None else {}
    wires = []
    uses = [0] * len(circuit.nodes)
    for i, node in enumerate(circuit.nodes):
        for k, a in enumerate(node.args):
            value = None if trace is None else trace.values[a]
            wires.append(Wire(a, i, k, value, shares.get((i, k))))
            uses[a] += 1
    return Drawing(circuit, trace, tuple(wires), backward, digits, tuple(uses))
