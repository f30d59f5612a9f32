"""A scene as SVG, written directly: no dependency, so notebooks show circuits without extras.

Every label is a ``<text>`` element with a ``class`` (its role: value, grad, total,
gate, ...) and its colour as ``fill``; a wire's labels sit in the wire's ``<g>`` with
``data-from``, ``data-to`` and ``data-arg``, so the picture can be read back by a program.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .scene import GATE_FILL, INK, Label, Scene

__all__ = ["render_svg"]

_ANCHOR = {"start": "start", "middle": "middle", "end": "end"}


def _text(label: Label) -> str:
    return (f'<text class="{label.role}" x="{label.x:.1f}" y="{label.y:.1f}" fill="{label.colour}" '
            f'font-size="{label.size:g}" text-anchor="{_ANCHOR[label.anchor]}">{escape(label.text)}</text>')


def render_svg(s: Scene) -> str:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{s.width:.0f}" height="{s.height:.0f}" '
        f'viewBox="0 0 {s.width:.1f} {s.height:.1f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">',
        f'<rect class="background" x="0" y="0" width="{s.width:.1f}" height="{s.height:.1f}" fill="white"/>',
    ]
    wire_labels: dict[tuple[int, int], list[Label]] = {}
    others = []
    for label in s.labels:
        if label.target >= 0:
            wire_labels.setdefault((label.target, label.arg), []).append(label)
        else:
            others.append(label)
    for line in s.lines:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in line.points)
        if line.role == "wire":
            out.append(f'<g class="wire" data-from="{line.source}" data-to="{line.target}" data-arg="{line.arg}">')
        else:
            out.append(f'<g class="output" data-from="{line.source}">')
        out.append(f'<polyline points="{points}" fill="none" stroke="{INK}" stroke-width="1.2"/>')
        for label in wire_labels.get((line.target, line.arg), []) if line.role == "wire" else []:
            out.append(_text(label))
        if line.role == "output":
            out.extend(_text(label) for label in others if label.node == line.source and label.role in ("value", "grad"))
        out.append("</g>")
    for rect in s.rects:
        out.append(f'<g class="node" data-node="{rect.node}">')
        out.append(f'<rect class="{rect.role}" x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.w:.1f}" '
                   f'height="{rect.h:.1f}" rx="4" fill="{GATE_FILL}" stroke="{INK}" stroke-width="1.2"/>')
        out.append("</g>")
    output = {id(label) for label in others if label.role in ("value", "grad")}
    for label in others:
        if id(label) not in output:
            out.append(_text(label))
    out.append("</svg>")
    return "\n".join(out)
