"""A Trace: every node's value after a forward pass, and every gradient after backward.

The lesson's staged tables are one line away: ``circuit.forward(x=1, y=2).backward()``
then ``trace.stages()`` (data) or ``print(trace.table())`` (text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import tape
from .arrays import all_finite, array_namespace, first_nonfinite_index, is_foreign
from .broadcast import zero_gradient
from .tape import Shares
from .explain import Explanation, explain, number
from .values import plain

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


class Trace:
    """The values of one forward pass (and, after :meth:`backward`, the gradients)."""

    def __init__(self, circuit: Circuit, values: list[Any]):
        self.circuit = circuit
        self.values = values
        #: After ``backward(shares=True)``: ``{(node, k): share}``, the gradient node's gate
        #: sent back to its k-th argument (after broadcast reduction, before fan-out adds up).
        self.shares: Shares | None = None
        self._raw: list[Any] | None = None  # the tape's gradients: None where skipped or unreached
        self._grads: list[Any] | None = None  # every node's, filled in on first use
        self._seed: Any = 1.0

    @property
    def output(self) -> Any:
        """The output's value (a float for scalar inputs, else an array)."""
        return plain(self.values[self.circuit.output])

    def backward(self, grad: Any = 1.0, *, shares: bool = False) -> Trace:
        """Fill in every node's gradient, seeding the output with ``grad``.

        Repeatable: each call starts from scratch, so gradients never accumulate
        across calls. With ``shares``, :attr:`shares` records each wire's share of
        the gradient. Returns the trace itself, for chaining.
        """
        record: Shares | None = {} if shares else None
        self._raw = tape.backward(self.circuit, self.values, grad, shares=record)
        self._grads, self._seed, self.shares = None, grad, record
        return self

    @property
    def grads(self) -> list[Any] | None:
        """Every node's gradient (None before :meth:`backward`)."""
        if self._raw is None:
            return None
        if self._grads is None:
            raw = self._raw
            if any(raw[k] is None for k in self.circuit.constant_nodes):  # skipped on arrays: now asked for
                raw = tape.backward(self.circuit, self.values, self._seed, keep="everything")
            self._grads = tape.fill_unreached(self.values, raw)
        return self._grads

    @grads.setter
    def grads(self, grads: list[Any] | None) -> None:
        self._raw = self._grads = None if grads is None else list(grads)
        self.shares = None

    def _need_grads(self) -> list[Any]:
        if self._raw is None:
            self.backward()
        return self.grads  # type: ignore[return-value]

    def _grad_of(self, i: int) -> Any:
        """One node's gradient without completing the list when it is not a skipped one."""
        if self._raw is None:
            self.backward()
        g = self._raw[i]  # type: ignore[index]
        if g is not None:
            return g
        return self.grads[i] if i in self.circuit.constant_nodes else zero_gradient(self.values[i])  # type: ignore[index]

    def value(self, key: int | str) -> Any:
        """A node's value, by id, stage label or input name."""
        return plain(self.values[self.circuit.find(key)])

    def grad(self, key: int | str) -> Any:
        """The output's gradient w.r.t. a node (``key``: a node id, input name or stage label).

        Before any :meth:`backward`, this runs ``backward()`` itself, seeded with 1 (the
        gradient of the output itself), and keeps the result; after ``backward(grad)``
        it reads that pass's gradients.
        """
        return plain(self._grad_of(self.circuit.find(key)))

    def inputs(self) -> dict[str, Any]:
        return {name: plain(self.values[i]) for name, i in self.circuit.input_ids.items()}

    def input_grads(self) -> dict[str, Any]:
        """Each input's gradient by name (running ``backward()`` first, seeded with 1, as :meth:`grad` does)."""
        return {name: plain(self._grad_of(i)) for name, i in self.circuit.input_ids.items()}

    def stages(self, include_inputs: bool = False) -> list[Stage]:
        """Every gate node (and optionally every input) in order, with value and gradient."""
        out = []
        for i, node in enumerate(self.circuit.nodes):
            if node.kind == "const" or (node.kind == "input" and not include_inputs):
                continue
            name = node.name if node.kind == "input" else node.label
            grad = None if self._raw is None else plain(self._grad_of(i))
            out.append(Stage(i, name, node.kind, node.gate, node.args, plain(self.values[i]), grad))
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

    def first_nonfinite(self) -> NonFinite | None:
        """The first node (in order) whose value holds an inf or a nan, if any.

        The message names the node (label or position), its gate and its inputs;
        for arrays, the first bad element and the inputs at that element.

        Each value is checked in its own array library (nothing is converted to numpy).
        A yes or no needs the values, so for lazy arrays (dask) this **computes**: every
        node's check in one pass over the chunks (the arrays themselves are never held
        whole), and for a bad node its first bad element and the inputs there. So
        ``forward(..., check_finite=True)`` on dask arrays computes the circuit once;
        leave it off to keep the trace lazy.
        """
        circuit = self.circuit
        for i, finite in enumerate(all_finite(self.values)):
            if finite:
                continue
            value = self.values[i]
            node = circuit.nodes[i]
            shape = tuple(np.shape(value))  # an array's own shape: converting a dask array would compute it
            index = first_nonfinite_index(value)
            bad = float(value[index]) if shape else float(value)
            what = "nan" if bad != bad else ("inf" if bad > 0 else "-inf")
            at = f" at index {index if len(index) != 1 else index[0]}" if shape else ""
            where = f"node {i}" + (f" ({node.label!r})" if node.label else "")
            if node.kind == "input":
                return NonFinite(i, f"input {node.name!r} ({where}) is {what}{at}")
            if node.kind == "const":
                return NonFinite(i, f"constant {where} is {what}")
            plugin = circuit.gate_plugins.get(str(node.name))
            args = ", ".join(
                f"{circuit.node_name(a)}={_element(self.values[a], index, shape)}" for a in node.args
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


def _element(value: Any, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """An argument's value at ``index`` of the node's (broadcast) shape (in its own library: one element computed)."""
    if is_foreign(value):
        xp, array = array_namespace(value), value
    else:
        xp, array = np, np.asarray(value)
    if index and array.ndim:
        try:
            array = xp.broadcast_to(array, shape)[index]
        except ValueError:  # a gate that is not elementwise: show the shape only
            return _short(array)
    return repr(float(array)) if array.ndim == 0 else _short(array)


def _short(value: Any) -> str:
    shape = np.shape(value)  # an array's own shape: converting a dask array would compute it
    if not shape:
        return repr(float(value))
    return f"array{tuple(shape)}"
