"""The circuit as text: a tree from the output, a Graphviz DOT graph, a Mermaid flowchart.

The tree draws a node used twice once and refers to it after; a circuit too deep to
indent is listed by level instead. Every walk is a loop, never recursion.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from ..circuit import CONST, INPUT
from .model import Drawing, Wire
from .scene import GRAD_COLOUR, VALUE_COLOUR

__all__ = ["render_text", "render_dot", "render_mermaid", "MAX_TREE_DEPTH"]

#: Deeper than this, an indented tree is unreadable: list by level instead.
MAX_TREE_DEPTH = 40


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
    if not d.forward:
        return ""
    text = f"   value {d.fmt(d.value(i))}"
    if not d.backward:
        return text
    total = d.grad(i)
    if on_wire and d.uses(i) > 1:
        return text + f"   grad {d.fmt(wire_grad)} on this wire ({d.fmt(total)} in total)"
    return text + f"   grad {d.fmt(total)}"


def _depths_from_output(d: Drawing) -> list[int]:
    circuit = d.circuit
    depth = [-1] * len(circuit.nodes)
    depth[circuit.output] = 0
    for i in range(circuit.output, -1, -1):
        if depth[i] >= 0:
            for a in circuit.nodes[i].args:
                depth[a] = max(depth[a], depth[i] + 1)
    return depth


def render_text(d: Drawing) -> str:
    if max(_depths_from_output(d)) > MAX_TREE_DEPTH:
        return _render_levels(d)
    return _render_tree(d)


def _render_tree(d: Drawing) -> str:
    circuit = d.circuit
    out = circuit.output
    seed = f"   (output, seeded with {d.fmt(d.grad(out))})" if d.backward else ""
    lines = [f"{_describe(d, out)}{_numbers(d, out)}{seed}"]
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
        line = f"{prefix}{branch}{_describe(d, i)}{_numbers(d, i, wire.grad, on_wire=True)}"
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
        lines.append(f"  {_describe(d, i)}{_numbers(d, i)}" + ("   (output)" if i == circuit.output else ""))
    return "\n".join(lines)


def _wire_label(d: Drawing, w: Wire) -> str:
    if not d.forward:
        return ""
    text = d.fmt(w.value)
    if d.backward:
        text += f" / grad {d.fmt(w.grad)}"
        if d.uses(w.source) > 1:
            text += f" (of {d.fmt(d.grad(w.source))})"
    return text


def _node_label(d: Drawing, i: int, newline: str) -> str:
    """A gate's stage name (if it has one that says more than its gate) over its operator."""
    circuit = d.circuit
    node = circuit.nodes[i]
    parts = []
    if node.kind == "gate" and node.label and node.label != node.name:
        parts.append(node.label)
    parts.append(d.symbol(i) if node.kind == "gate" else circuit.node_name(i))
    if d.backward and d.uses(i) > 1:
        parts.append(f"grad {d.fmt(d.grad(i))} in total")
    return newline.join(parts)


def _seed_label(d: Drawing) -> str:
    out = d.circuit.output
    if not d.forward:
        return "output"
    return d.fmt(d.value(out)) + (f" / grad {d.fmt(d.grad(out))}" if d.backward else "")


def _dot_edge_label(d: Drawing, value: Any, grad: Any, total: Any = None) -> str:
    """An HTML-like DOT label: the value in the value colour over the gradient in the gradient's."""
    if not d.forward:
        return '""'
    text = f'<font color="{VALUE_COLOUR}">{escape(d.fmt(value))}</font>'
    if d.backward:
        share = f"grad {d.fmt(grad)}" + (f" (of {d.fmt(total)})" if total is not None else "")
        text += f'<br/><font color="{GRAD_COLOUR}">{escape(share)}</font>'
    return f"<{text}>"


def render_dot(d: Drawing) -> str:
    """Graphviz DOT: values (one colour) over gradients (another) on the edges (``| dot -Tsvg``)."""

    def quote(text: str) -> str:
        return json.dumps(text).replace("\\\\n", "\\n")  # keep DOT's own line breaks

    lines = ["digraph circuit {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];',
             '  edge [fontname="monospace"];']
    for i, node in enumerate(d.circuit.nodes):
        shape = {"input": "plaintext", "const": "plaintext"}.get(node.kind, "box")
        lines.append(f"  n{i} [label={quote(_node_label(d, i, chr(92) + 'n'))}, shape={shape}];")
    lines.append('  output [shape=plaintext, label="output"];')
    for w in d.wires:
        total = d.grad(w.source) if d.backward and d.uses(w.source) > 1 else None
        lines.append(f"  n{w.source} -> n{w.target} [label={_dot_edge_label(d, w.value, w.grad, total)}];")
    out = d.circuit.output
    lines.append(f"  n{out} -> output [label={_dot_edge_label(d, d.value(out), d.grad(out))}];")
    lines.append("}")
    return "\n".join(lines)


def render_mermaid(d: Drawing) -> str:
    """A Mermaid flowchart (renders in Markdown on most forges)."""

    def quote(text: str) -> str:
        # Mermaid's escapes are entity codes starting with '#', so '#' itself is escaped first.
        return '"' + text.replace("#", "#35;").replace('"', "#quot;") + '"'

    lines = ["flowchart LR"]
    for i, node in enumerate(d.circuit.nodes):
        label = quote(_node_label(d, i, "<br/>"))
        lines.append(f"  n{i}([{label}])" if node.kind == "input" else f"  n{i}[{label}]")
    lines.append('  output(["output"])')
    for w in d.wires:
        label = _wire_label(d, w)
        lines.append(f"  n{w.source} -->|{quote(label)}| n{w.target}" if label else f"  n{w.source} --> n{w.target}")
    lines.append(f"  n{d.circuit.output} -->|{quote(_seed_label(d))}| output")
    return "\n".join(lines)
