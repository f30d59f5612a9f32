"""A Trace: every node's value after a forward pass, and every gradient after backward.

The lesson's staged tables are one line away: ``circuit.forward(x=1, y=2).backward()``
then ``trace.stages()`` (data) or ``print(trace.table())`` (text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .explain import Explanation, explain, number

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
        """The output's value (a float for scalar inputs, else an array)."""
        return _plain(self.values[self.circuit.output])

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
        return _plain(self.values[self.circuit.find(key)])

    def grad(self, key: int | str) -> Any:
        """The output's gradient w.r.t. a node (runs backward first if needed)."""
        return _plain(self._need_grads()[self.circuit.find(key)])

    def inputs(self) -> dict[str, Any]:
        return {name: _plain(self.values[i]) for name, i in self.circuit.input_ids.items()}

    def input_grads(self) -> dict[str, Any]:
        grads = self._need_grads()
        return {name: _plain(grads[i]) for name, i in self.circuit.input_ids.items()}

    def stages(self, include_inputs: bool = False) -> list[Stage]:
        """Every gate node (and optionally every input) in order, with value and gradient."""
        grads = self.grads
        out = []
        for i, node in enumerate(self.circuit.nodes):
            if node.kind == "const" or (node.kind == "input" and not include_inputs):
                continue
            name = node.name if node.kind == "input" else node.label
            grad = None if grads is None else _plain(grads[i])
            out.append(Stage(i, name, node.kind, node.gate, node.args, _plain(self.values[i]), grad))
        return out

    def explain(self, node: int | str, *, max_paths: int | None = 8, digits: int | None = 4) -> Explanation:
        """Why ``node``'s gradient is what it is: each wire's share (local gradient times
        upstream gradient), their sum at a fork, and for an input the sum over paths."""
        return explain(self, node, max_paths=max_paths, digits=digits)

    def __repr__(self) -> str:
        gates = sum(1 for node in self.circuit.nodes if node.kind == "gate")
        output = _short(self.output) if np.ndim(self.output) else number(self.output)
        state = "with gradients" if self.grads is not None else "forward only (call .backward())"
        return f"<Trace of {gates} gate(s): output {output}, {state}>"

    def _repr_html_(self) -> str:
        # Display is drawn by the layers above the engine; imported here, when a notebook asks.
        from .notebook import trace_html

        return trace_html(self)

    def first_nonfinite(self) -> NonFinite | None:
        """The first node (in order) whose value holds an inf or a nan, if any.

        The message names the node (label or position), its gate and its inputs;
        for arrays, the first bad element and the inputs at that element.
        """
        circuit = self.circuit
        for i, value in enumerate(self.values):
            if _finite(value):
                continue
            node = circuit.nodes[i]
            array = np.asarray(value)
            index = tuple(int(k) for k in np.argwhere(~np.isfinite(array))[0]) if array.ndim else ()
            bad = float(array[index])
            what = "nan" if bad != bad else ("inf" if bad > 0 else "-inf")
            at = f" at index {index if len(index) != 1 else index[0]}" if array.ndim else ""
            where = f"node {i}" + (f" ({node.label!r})" if node.label else "")
            if node.kind == "input":
                return NonFinite(i, f"input {node.name!r} ({where}) is {what}{at}")
            if node.kind == "const":
                return NonFinite(i, f"constant {where} is {what}")
            plugin = circuit.gate_plugins.get(str(node.name))
            args = ", ".join(
                f"{circuit.node_name(a)}={_element(self.values[a], index, array.shape)}" for a in node.args
            )
            origin = f" (gate {node.name!r} from plugin {plugin!r})" if plugin else ""
            return NonFinite(i, f"{where}: {node.name}({args}) gave {what}{at}{origin}")
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


def _plain(value: Any) -> Any:
    """A 0-d array or numpy scalar (what ufuncs give for floats) as a Python float; else as is."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    return value


def _element(value: Any, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """An argument's value at ``index`` of the node's (broadcast) shape."""
    array = np.asarray(value)
    if index and array.ndim:
        try:
            array = np.broadcast_to(array, shape)[index]
        except ValueError:  # a gate that is not elementwise: show the shape only
            return _short(array)
    return repr(float(array)) if array.ndim == 0 else _short(array)


def _short(value: Any) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(float(array))
    return f"array{array.shape}"
