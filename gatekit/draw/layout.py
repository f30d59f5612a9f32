"""Where everything goes: a layered layout, inputs on the left and the output on the right.

Each node gets a column (inputs first, every gate one column right of its furthest
argument, constants just left of the gate that reads them) and a place in its
column. A wire that skips columns gets a waypoint in each column it crosses, so it
runs between boxes, never through one. Places are ordered by the mean place of
what each node connects to (a few sweeps each way), then pulled level with their
arguments where there is room. Small, loop-based and deterministic: no Graphviz, no
recursion, and enough for a picture of ~60 gates.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..circuit import Circuit

__all__ = ["Box", "Layout", "layout", "text_width", "FONT", "SMALL", "LINE", "PORT_GAP"]

#: Font sizes (points) and the advance of a monospace character, as a fraction of its size.
FONT, SMALL, CHAR = 11.0, 9.0, 0.602
LINE = FONT * 1.3
#: Vertical distance between two arguments of one gate: room for a value above each
#: wire and a gradient below it without touching the next wire's.
PORT_GAP = 2 * LINE + 5
ROW_GAP = 26.0  # between two nodes of one column (room for a stage label or a fork's total)
WAYPOINT = 2 * LINE + 4  # the room a passing wire takes in a column (its labels come later)
SLANT = 28.0  # the sloped part of a wire, before its labelled straight end
MARGIN = 16.0


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR


@dataclass
class Box:
    """A node's rectangle (points; y grows downwards)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def middle(self) -> float:
        return self.y + self.h / 2

    def port(self, k: int, arity: int) -> float:
        """The height where argument ``k`` of ``arity`` enters."""
        return self.y + self.h * (k + 0.5) / max(arity, 1)


@dataclass
class Layout:
    boxes: list[Box]
    column: list[int]
    #: Length of the straight, labelled end of the wires into each column.
    lead: list[float]
    #: For each wire that skips columns, keyed (target, arg): the points it passes through.
    waypoints: dict[tuple[int, int], list[tuple[float, float]]]
    width: float
    height: float


def layout(circuit: Circuit, widths: list[float], wire_label_width: dict[int, float], out_lead: float,
           top: float = 0.0) -> Layout:
    """Boxes for every node. ``widths`` is the width of each node's own text; ``wire_label_width[node]``
    the widest label on a wire into it; ``out_lead`` the labelled wire after the output."""
    nodes = circuit.nodes
    n = len(nodes)
    column = _columns(circuit)
    columns = max(column) + 1 if n else 1
    sizes: list[tuple[float, float]] = []
    for i, node in enumerate(nodes):
        w = widths[i] + 16
        if node.kind == "gate":
            sizes.append((max(w, 34.0), max(len(node.args), 1) * PORT_GAP))
        else:
            sizes.append((w, PORT_GAP))
    # The graph the layout orders: real nodes, then one waypoint per skipped column.
    # preds[v] = [(u, port, ports)]: u feeds v at port ``port`` of ``ports``.
    preds: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    chains: dict[tuple[int, int], list[int]] = {}
    for t, node in enumerate(nodes):
        for k, s in enumerate(node.args):
            u = s
            chain = []
            for c in range(column[s] + 1, column[t]):
                v = len(column)
                column.append(c)
                sizes.append((0.0, WAYPOINT))
                preds.append([(u, 0, 1)])
                chain.append(v)
                u = v
            preds[t].append((u, k, len(node.args)))
            if chain:
                chains[(t, k)] = chain
    total = len(column)
    succs: list[list[tuple[int, int, int]]] = [[] for _ in range(total)]
    for v in range(total):
        for u, k, m in preds[v]:
            succs[u].append((v, k, m))
    order = _order(column, columns, preds, succs)
    ys = _places(column, order, sizes, preds, succs)
    # Columns' x: each leaves room for the widest labelled wire end coming into it.
    lead = [0.0] * columns
    for i in range(n):
        lead[column[i]] = max(lead[column[i]], wire_label_width.get(i, 0.0) + 14)
    widest = [0.0] * columns
    for v in range(total):
        widest[column[v]] = max(widest[column[v]], sizes[v][0])
    x = [0.0] * columns
    x[0] = MARGIN
    for c in range(1, columns):
        x[c] = x[c - 1] + widest[c - 1] + SLANT + lead[c]
    shift = top + MARGIN + LINE - min((ys[v] - sizes[v][1] / 2 for v in range(total)), default=0.0)
    boxes = []
    for i in range(n):
        w, h = sizes[i]
        # Inputs and constants are right-aligned, so their wires start where the gates' do.
        left = x[column[i]] + (widest[column[i]] - w if nodes[i].kind != "gate" else 0.0)
        boxes.append(Box(left, ys[i] - h / 2 + shift, w, h))
    waypoints = {
        key: [p for v in chain for p in ((x[column[v]] - lead[column[v]], ys[v] + shift),
                                         (x[column[v]] + widest[column[v]], ys[v] + shift))]
        for key, chain in chains.items()
    }
    width = max((b.right for b in boxes), default=0.0) + out_lead + MARGIN
    height = max((ys[v] + sizes[v][1] / 2 + shift for v in range(total)), default=0.0) + MARGIN + LINE
    return Layout(boxes, column[:n], lead, waypoints, width, height)


def _columns(circuit: Circuit) -> list[int]:
    nodes = circuit.nodes
    column = [0] * len(nodes)
    for i, node in enumerate(nodes):
        if node.kind == "gate":
            column[i] = 1 + max((column[a] for a in node.args if nodes[a].kind != "const"), default=0)
    if nodes:  # the output sits at the right edge
        column[circuit.output] = max(column)
    for i in range(len(nodes) - 1, -1, -1):  # constants just left of their first reader
        if nodes[i].kind == "gate":
            for a in nodes[i].args:
                if nodes[a].kind == "const":
                    column[a] = max(0, column[i] - 1)
    return column


def _order(column: list[int], columns: int, preds: list[list[tuple[int, int, int]]],
           succs: list[list[tuple[int, int, int]]]) -> list[list[int]]:
    """Nodes of each column, top to bottom: by the mean rank of what they connect to."""
    order: list[list[int]] = [[] for _ in range(columns)]
    for v, c in enumerate(column):
        order[c].append(v)
    for sweep in range(6):
        rank = {v: float(r) for col in order for r, v in enumerate(col)}
        forward = sweep % 2 == 0
        for c in (range(1, columns) if forward else range(columns - 2, -1, -1)):
            def key(v: int) -> float:
                if forward and preds[v]:
                    return sum(rank[u] for u, _, _ in preds[v]) / len(preds[v])
                if succs[v]:  # a port's place on its gate counts too: arguments in order
                    return sum(rank[t] + (k + 0.5) / m - 0.5 for t, k, m in succs[v]) / len(succs[v])
                return rank[v]
            order[c].sort(key=key)
            rank.update({v: float(r) for r, v in enumerate(order[c])})
    return order


def _places(column: list[int], order: list[list[int]], sizes: list[tuple[float, float]],
            preds: list[list[tuple[int, int, int]]], succs: list[list[tuple[int, int, int]]]) -> list[float]:
    """Each node's middle height: stacked in order, then pulled level with its neighbours."""
    y = [0.0] * len(column)
    for col in order:
        at = 0.0
        for v in col:
            h = sizes[v][1]
            y[v] = at + h / 2
            at += h + ROW_GAP
    for sweep in range(4):
        forward = sweep % 2 == 0
        for col in (order if forward else order[::-1]):
            wanted = []
            for v in col:
                h = sizes[v][1]
                if forward and preds[v]:
                    # Level with the arguments: each one's height, less its port's offset on this box.
                    wanted.append(sum(y[u] - h * ((k + 0.5) / m - 0.5) for u, k, m in preds[v]) / len(preds[v]))
                elif succs[v] and (not forward or not preds[v]):
                    wanted.append(sum(y[t] + sizes[t][1] * ((k + 0.5) / m - 0.5) for t, k, m in succs[v])
                                  / len(succs[v]))
                else:
                    wanted.append(y[v])
            _fit(col, wanted, sizes, y)
    return y


def _fit(col: list[int], wanted: list[float], sizes: list[tuple[float, float]], y: list[float]) -> None:
    """Place a column's nodes as near as they can be to ``wanted``, in order, never overlapping."""
    placed = list(wanted)
    for r in range(1, len(col)):
        low = placed[r - 1] + sizes[col[r - 1]][1] / 2 + ROW_GAP + sizes[col[r]][1] / 2
        placed[r] = max(placed[r], low)
    if col:  # overlaps pushed things down: share the push by centring on what was wanted
        drift = (sum(placed) - sum(wanted)) / len(col)
        for r, v in enumerate(col):
            y[v] = placed[r] - drift
