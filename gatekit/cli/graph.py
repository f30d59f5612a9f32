"""``gatekit graph``: the circuit drawn with each wire's value and gradient.

A wire runs from a node into one argument of a gate. Forward it carries the node's
value; backward it carries that gate's share of the node's gradient (a node used by
several gates gets the sum of its wires' gradients, which the drawing shows too).

``text`` is a tree from the output (a node used twice is drawn once and referred to
after), or a listing by level when the circuit is too deep to indent; ``dot`` is
Graphviz, ``mermaid`` is a Mermaid flowchart. Every walk is a loop, never recursion.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import typer

from ..circuit import CONST, INPUT, Circuit
from ..trace import Trace
from .circuits import POSITIONAL_SETTINGS, FileOption, Words, circuit_and_values
from .session import emit_json, fmt, registry_of, reports_errors

__all__ = ["register", "Drawing", "draw", "render_text", "render_dot", "render_mermaid"]

#: Deeper than this, an indented tree is unreadable: list by level instead.
MAX_TREE_DEPTH = 40


class Format(str, Enum):
    text = "text"
    dot = "dot"
    mermaid = "mermaid"


@dataclass(frozen=True)
class Wire:
    source: int
    target: int
    arg: int
    value: Any
    grad: Any  # None without a backward pass


@dataclass(frozen=True)
class Drawing:
    """What any format draws: the trace, and every wire with its value and gradient."""

    trace: Trace
    wires: tuple[Wire, ...]
    backward: bool

    @property
    def circuit(self) -> Circuit:
        return self.trace.circuit

    def grad(self, node: int) -> Any:
        return self.trace.grads[node] if self.backward and self.trace.grads is not None else None

    def uses(self, node: int) -> int:
        return sum(1 for w in self.wires if w.source == node)


def draw(trace: Trace, backward: bool = True) -> Drawing:
    """Every wire of ``trace``'s circuit, with the gradient share each carries back."""
    circuit = trace.circuit
    if backward and trace.shares is None:
        trace.backward(shares=True)  # the one backward walk: the tape records each wire's share
    shares = trace.shares or {}
    wires = []
    for i, node in enumerate(circuit.nodes):
        for k, a in enumerate(node.args):
            wires.append(Wire(a, i, k, trace.values[a], shares.get((i, k)) if backward else None))
    return Drawing(trace, tuple(wires), backward)


def _describe(d: Drawing, i: int) -> str:
    """``q = add(x, y)`` for a gate, ``x (input)`` for an input, ``2 (constant)``."""
    circuit = d.circuit
    node = circuit.nodes[i]
    name = circuit.node_name(i)
    if node.kind == INPUT:
        return f"{name} (input)"
    if node.kind == CONST:
        return f"{name} (constant)"
    return f"{name} = {node.name}({', '.join(circuit.node_name(a) for a in node.args)})"


def _numbers(d: Drawing, i: int, wire_grad: Any = None, on_wire: bool = False) -> str:
    text = f"value {fmt(d.trace.values[i])}"
    if not d.backward:
        return text
    total = d.grad(i)
    if on_wire and d.uses(i) > 1:
        return text + f"   grad {fmt(wire_grad)} on this wire ({fmt(total)} in total)"
    return text + f"   grad {fmt(total)}"


def _depths_from_output(circuit: Circuit) -> list[int]:
    depth = [-1] * len(circuit.nodes)
    depth[circuit.output] = 0
    for i in range(circuit.output, -1, -1):
        if depth[i] >= 0:
            for a in circuit.nodes[i].args:
                depth[a] = max(depth[a], depth[i] + 1)
    return depth


def render_text(d: Drawing) -> str:
    if max(_depths_from_output(d.circuit)) > MAX_TREE_DEPTH:
        return _render_levels(d)
    return _render_tree(d)


def _render_tree(d: Drawing) -> str:
    circuit = d.circuit
    out = circuit.output
    lines = [f"{_describe(d, out)}   {_numbers(d, out)}" + ("   (output, seeded with 1)" if d.backward else "")]
    shown = {out}
    wires_into: dict[int, list[Wire]] = {}
    for w in d.wires:
        wires_into.setdefault(w.target, []).append(w)
    # Stack of (wire, indent prefix, last child?); children pushed in reverse to print in order.
    stack: list[tuple[Wire, str, bool]] = []
    children = wires_into.get(out, [])
    for k in range(len(children) - 1, -1, -1):
        stack.append((children[k], "", k == len(children) - 1))
    while stack:
        wire, prefix, last = stack.pop()
        i = wire.source
        branch = "└── " if last else "├── "
        again = i in shown and circuit.nodes[i].args
        line = f"{prefix}{branch}{_describe(d, i)}   {_numbers(d, i, wire.grad, on_wire=True)}"
        lines.append(line + ("   (drawn above)" if again else ""))
        if again:
            continue
        shown.add(i)
        below = wires_into.get(i, [])
        inner = prefix + ("    " if last else "│   ")
        for k in range(len(below) - 1, -1, -1):
            stack.append((below[k], inner, k == len(below) - 1))
    return "\n".join(lines)


def _render_levels(d: Drawing) -> str:
    circuit = d.circuit
    level = [0] * len(circuit.nodes)
    for i, node in enumerate(circuit.nodes):
        if node.args:
            level[i] = 1 + max(level[a] for a in node.args)
    lines = [f"(too deep to draw as a tree: {max(level)} levels; listed by level)"]
    current = -1
    for i in sorted(range(len(circuit.nodes)), key=lambda n: (level[n], n)):
        if level[i] != current:
            current = level[i]
            lines.append(f"level {current}:")
        lines.append(f"  {_describe(d, i)}   {_numbers(d, i)}" + ("   (output)" if i == circuit.output else ""))
    return "\n".join(lines)


def _wire_label(d: Drawing, w: Wire) -> str:
    return fmt(w.value) + (f" / grad {fmt(w.grad)}" if d.backward else "")


def _node_label(d: Drawing, i: int, newline: str) -> str:
    circuit = d.circuit
    node = circuit.nodes[i]
    head = circuit.node_name(i) if node.kind != "gate" else f"{circuit.node_name(i)} = {node.name}"
    parts = [head, f"value {fmt(d.trace.values[i])}"]
    if d.backward:
        parts.append(f"grad {fmt(d.grad(i))}")
    return newline.join(parts)


def render_dot(d: Drawing) -> str:
    def quote(text: str) -> str:
        return jsonlib.dumps(text).replace("\\\\n", "\\n")  # keep DOT's own line breaks

    lines = ["digraph circuit {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for i, node in enumerate(d.circuit.nodes):
        shape = {"input": "ellipse", "const": "plaintext"}.get(node.kind, "box")
        lines.append(f"  n{i} [label={quote(_node_label(d, i, chr(92) + 'n'))}, shape={shape}];")
    lines.append('  output [shape=plaintext, label="output"];')
    for w in d.wires:
        lines.append(f"  n{w.source} -> n{w.target} [label={quote(_wire_label(d, w))}];")
    out = d.circuit.output
    seed = f"{fmt(d.trace.values[out])}" + (" / grad 1" if d.backward else "")
    lines.append(f"  n{out} -> output [label={quote(seed)}];")
    lines.append("}")
    return "\n".join(lines)


def render_mermaid(d: Drawing) -> str:
    def quote(text: str) -> str:
        # Mermaid's escapes are entity codes starting with '#', so '#' itself is escaped first.
        return '"' + text.replace("#", "#35;").replace('"', "#quot;") + '"'

    lines = ["flowchart LR"]
    for i, node in enumerate(d.circuit.nodes):
        label = quote(_node_label(d, i, "<br/>"))
        lines.append(f"  n{i}([{label}])" if node.kind == "input" else f"  n{i}[{label}]")
    lines.append('  output(["output"])')
    for w in d.wires:
        lines.append(f"  n{w.source} -->|{quote(_wire_label(d, w))}| n{w.target}")
    out = d.circuit.output
    seed = fmt(d.trace.values[out]) + (" / grad 1" if d.backward else "")
    lines.append(f"  n{out} -->|{quote(seed)}| output")
    return "\n".join(lines)


def drawing_json(d: Drawing) -> dict[str, Any]:
    circuit = d.circuit
    return {
        "output": circuit.output,
        "nodes": [
            {"id": i, "name": circuit.node_name(i), "kind": node.kind, "gate": node.gate,
             "value": d.trace.values[i], "grad": d.grad(i)}
            for i, node in enumerate(circuit.nodes)
        ],
        "wires": [
            {"from": w.source, "to": w.target, "arg": w.arg, "value": w.value, "grad": w.grad} for w in d.wires
        ],
    }


RENDERERS = {Format.text: render_text, Format.dot: render_dot, Format.mermaid: render_mermaid}


def register(app: typer.Typer) -> None:
    @app.command("graph", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def graph(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        format: Annotated[Format, typer.Option("--format", help="How to draw it.")] = Format.text,
        backward: Annotated[
            bool, typer.Option("--backward/--no-backward", help="Run the backward pass and show gradients.")
        ] = True,
        json: Annotated[bool, typer.Option("--json", help="Print nodes and wires as JSON instead.")] = False,
    ) -> None:
        """The circuit with each wire's value and gradient: gatekit graph '(x + y) * z' x=-2 y=5 z=-4."""
        given = circuit_and_values(words, file, registry_of(ctx), "graph")
        trace = given.circuit.forward(given.values, check_finite=True)
        drawing = draw(trace, backward)
        if json:
            emit_json(drawing_json(drawing))
        else:
            typer.echo(RENDERERS[format](drawing))
