"""A Trace: every node's value after a forward pass, and every gradient after backward.

The lesson's staged tables are one line away: ``circuit.forward(x=1, y=2).backward()``
then ``trace.stages()`` (data) or ``print(trace.table())`` (text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["Trace", "Stage", "NonFinite"]


@dataclass(frozen=True)
class Stage:
    """One node of a run: what it is, its value, and the output's gradient w.r.t. it."""

    node: int
    name: str | None  # the stage's label (or the input's name); None if unnamed
    kind: str  # "input", "const" or "gate"
    gate: str | None
    args: tuple[int, ...]
    value: Any
    grad: Any


@dataclass(frozen=True)
class NonFinite:
    """Where an inf or nan first appeared."""

    node: int
    message: str


def _finite(value: Any) -> bool:
    return bool(np.all(np.isfinite(value)))


class Trace:
    """The values of one forward pass (and, after :meth:`backward`, the gradients)."""

    def __init__(self, circuit: Circuit, values: list[Any]):
        self.circuit = circuit
        self.values = values
        self.grads: list[Any] | None = None

    @property
    def output(self) -> Any:
        return self.values[self.circuit.output]

    def backward(self, grad: Any = 1.0) -> Trace:
        """Fill in every node's gradient, seeding the output with ``grad``.

        Repeatable: each call starts from scratch, so gradients never accumulate
        across calls. Returns the trace itself, for chaining.
        """
        self.grads = self.circuit.backpropagate(self.values, grad)
        return self

    def _need_grads(self) -> list[Any]:
        if self.grads is None:
            self.backward()
        return self.grads  # type: ignore[return-value]

    def value(self, key: int | str) -> Any:
        """A node's value, by id, stage label or input name."""
        return self.values[self.circuit.find(key)]

    def grad(self, key: int | str) -> Any:
        """The output's gradient w.r.t. a node (runs backward first if needed)."""
        return self._need_grads()[self.circuit.find(key)]

    def inputs(self) -> dict[str, Any]:
        return {name: self.values[i] for name, i in self.circuit.input_ids.items()}

    def input_grads(self) -> dict[str, Any]:
        grads = self._need_grads()
        return {name: grads[i] for name, i in self.circuit.input_ids.items()}

    def stages(self, include_inputs: bool = False) -> list[Stage]:
        """Every gate node (and optionally every input) in order, with value and gradient."""
        grads = self.grads
        out = []
        for i, node in enumerate(self.circuit.nodes):
            if node.kind == "const" or (node.kind == "input" and not include_inputs):
                continue
            name = node.name if node.kind == "input" else node.label
            out.append(
                Stage(i, name, node.kind, node.gate, node.args, self.values[i], None if grads is None else grads[i])
            )
        return out

    def first_nonfinite(self) -> NonFinite | None:
        """The first node (in order) whose value holds an inf or a nan, if any."""
        circuit = self.circuit
        for i, value in enumerate(self.values):
            if _finite(value):
                continue
            node = circuit.nodes[i]
            what = "inf" if np.any(np.isinf(value)) else "nan"
            if node.kind == "input":
                return NonFinite(i, f"input {node.name!r} is {what}")
            if node.kind == "const":
                return NonFinite(i, f"constant node {i} is {what}")
            args = ", ".join(f"{circuit.node_name(a)}={_short(self.values[a])}" for a in node.args)
            where = f"stage {node.label!r}" if node.label else f"node {i}"
            return NonFinite(i, f"{where}: {node.name}({args}) gave {what}")
        return None

    def table(self) -> str:
        """A plain-text table of every input and stage: name, gate, value, gradient."""
        rows = [("stage", "gate", "value", "gradient")]
        for s in self.stages(include_inputs=True):
            name = s.name or self.circuit.node_name(s.node)
            gate = "input" if s.kind == "input" else f"{s.gate}({', '.join(self.circuit.node_name(a) for a in s.args)})"
            rows.append((name, gate, _short(s.value), "" if s.grad is None else _short(s.grad)))
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def _short(value: Any) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(float(array))
    return f"array{array.shape}"
