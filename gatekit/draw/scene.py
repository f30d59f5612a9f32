"""A picture as a list of shapes: boxes, wires and labels, in points.

The lecture-diagram style: inputs on the left, the output on the right, each gate a
box with its operator, each wire's value above it (one colour) and, after a
backward pass, its gradient below it (another colour). A value used several times
shows each wire's share, and the total beside the node. SVG and PNG both draw this
one list, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .layout import FONT, LINE, MARGIN, SMALL, SLANT, layout, text_width
from .model import Drawing

__all__ = ["Rect", "Line", "Label", "Scene", "scene", "VALUE_COLOUR", "GRAD_COLOUR", "INK", "MUTED"]

VALUE_COLOUR = "#1565c0"  # blue: forward values, above each wire
GRAD_COLOUR = "#c62828"  # red: gradients, below each wire
INK = "#222222"
MUTED = "#777777"
GATE_FILL = "#f4f4f4"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    role: str  # "gate"
    node: int


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    role: str  # "wire" or "output"
    source: int
    target: int = -1
    arg: int = -1


@dataclass(frozen=True)
class Label:
    x: float
    y: float  # the baseline
    text: str
    #: "value", "grad", "total", "gate", "input", "const", "stage", "legend-value", "legend-grad", "title"
    role: str
    colour: str
    size: float = FONT
    anchor: str = "middle"  # "start", "middle" or "end"
    node: int = -1  # the node it belongs to (a wire's source for value and grad)
    target: int = -1  # for a wire's labels: the gate it enters, and which argument
    arg: int = -1


@dataclass
class Scene:
    width: float
    height: float
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def scene(d: Drawing, title: str | None = None) -> Scene:
    circuit = d.circuit
    n = len(circuit.nodes)
    texts = [d.symbol(i) if circuit.nodes[i].kind == "gate" else circuit.node_name(i) for i in range(n)]
    # By the wire's position: a wire holding arrays cannot be a dict key.
    value = [d.fmt(w.value) if d.forward else "" for w in d.wires]
    grad = [d.fmt(w.grad) if d.backward else "" for w in d.wires]
    widest: dict[int, float] = {}
    for k, w in enumerate(d.wires):
        widest[w.target] = max(widest.get(w.target, 0.0), text_width(value[k]), text_width(grad[k]))
    out = circuit.output
    out_value = d.fmt(d.value(out)) if d.forward else ""
    out_grad = d.fmt(d.grad(out)) if d.backward else ""
    out_lead = max(text_width(out_value), text_width(out_grad), text_width(circuit.node_name(out))) + 24
    top = (LINE + 6 if title else 0.0) + (LINE + 4 if d.forward else 0.0)
    widths = [text_width(t) for t in texts]
    for i in range(n):
        if d.backward and d.uses(i) > 1 and circuit.nodes[i].kind != "gate":
            widths[i] = max(widths[i], text_width(f"total {d.fmt(d.grad(i))}", SMALL))
    lay = layout(circuit, widths, widest, out_lead, top)
    s = Scene(max(lay.width, _legend_width(d, title)), lay.height)
    boxes = lay.boxes
    y0 = MARGIN + FONT
    if title:
        s.labels.append(Label(MARGIN, y0, title, "title", INK, FONT, "start"))
        y0 += LINE + 6
    if d.forward:
        x = MARGIN
        s.labels.append(Label(x, y0, "value (above each wire)", "legend-value", VALUE_COLOUR, SMALL, "start"))
        if d.backward:
            x += text_width("value (above each wire)", SMALL) + 18
            s.labels.append(Label(x, y0, "gradient (below)", "legend-grad", GRAD_COLOUR, SMALL, "start"))
    for i, node in enumerate(circuit.nodes):
        b = boxes[i]
        if node.kind == "gate":
            s.rects.append(Rect(b.x, b.y, b.w, b.h, "gate", i))
            s.labels.append(Label(b.x + b.w / 2, b.middle + FONT * 0.35, texts[i], "gate", INK, FONT, node=i))
            if node.label:
                s.labels.append(Label(b.x + b.w / 2, b.y - 4, node.label, "stage", MUTED, SMALL, node=i))
        else:
            role = "input" if node.kind == "input" else "const"
            s.labels.append(Label(b.right - 4, b.middle + FONT * 0.35, texts[i], role,
                                  INK if role == "input" else MUTED, FONT, "end", node=i))
        if d.backward and d.uses(i) > 1:
            # A fork: each wire shows its share; the node's gradient is their sum.
            # Under the node: its wires' labels are at the other ends.
            s.labels.append(Label(b.x + b.w / 2 if node.kind == "gate" else b.right - 4, b.y + b.h + SMALL + 4,
                                  f"total {d.fmt(d.grad(i))}", "total", GRAD_COLOUR, SMALL,
                                  "middle" if node.kind == "gate" else "end", node=i))
    for k, w in enumerate(d.wires):
        src, dst = boxes[w.source], boxes[w.target]
        py = dst.port(w.arg, len(circuit.nodes[w.target].args))
        lead = lay.lead[lay.column[w.target]]
        bend = dst.x - lead
        via = tuple(lay.waypoints.get((w.target, w.arg), ()))
        s.lines.append(Line(((src.right, src.middle), *via, (bend, py), (dst.x, py)), "wire", w.source, w.target,
                            w.arg))
        mid = bend + lead / 2
        if d.forward:
            s.labels.append(Label(mid, py - 4, value[k], "value", VALUE_COLOUR, FONT, node=w.source,
                                  target=w.target, arg=w.arg))
        if d.backward:
            s.labels.append(Label(mid, py + FONT + 1, grad[k], "grad", GRAD_COLOUR, FONT, node=w.source,
                                  target=w.target, arg=w.arg))
    b = boxes[out]
    end = b.right + out_lead
    s.lines.append(Line(((b.right, b.middle), (end, b.middle)), "output", out))
    mid = b.right + out_lead / 2
    if d.forward:
        s.labels.append(Label(mid, b.middle - 4, out_value, "value", VALUE_COLOUR, FONT, node=out))
    if d.backward:
        s.labels.append(Label(mid, b.middle + FONT + 1, out_grad, "grad", GRAD_COLOUR, FONT, node=out))
    s.labels.append(Label(end, b.middle - 4 - LINE, "output", "output", MUTED, SMALL, "end", node=out))
    return s


def _legend_width(d: Drawing, title: str | None) -> float:
    legend = text_width("value (above each wire)", SMALL) + 18 + text_width("gradient (below)", SMALL)
    return 2 * MARGIN + max(legend if d.forward else 0.0, text_width(title or "") + SLANT)
