"""A scene as PNG (or any format matplotlib writes), through matplotlib's Agg canvas.

matplotlib is an extra (``pip install 'gatekit[plot]'``): it is well kept, renders
PNG and SVG from pip alone (no Graphviz binary) and ships its own fonts, so a picture
looks the same on every machine. The figure is built without pyplot, so nothing
global (backends, open figures) changes in the caller's process.
"""

from __future__ import annotations

from pathlib import Path
from ..errors import UsageError
from ..plot import require_matplotlib
from .scene import GATE_FILL, INK, Scene

__all__ = ["render_png"]

#: Pixels per inch of a PNG: the scene is in points, so 150 makes it about twice as sharp as 72.
DPI = 150
#: Beyond this many pixels a side, Agg cannot draw (and no one could read it).
MAX_PIXELS = 30000
_VA = "baseline"


def render_png(s: Scene, path: str | Path | None = None, dpi: int = DPI) -> bytes:
    """The PNG's bytes (also written to ``path`` if given)."""
    import io

    require_matplotlib()
    pixels = (s.width * dpi / 72, s.height * dpi / 72)
    if max(pixels) > MAX_PIXELS:
        raise UsageError(
            f"the circuit is too large for a PNG ({pixels[0]:.0f} x {pixels[1]:.0f} pixels at {dpi} dpi; at most "
            f"{MAX_PIXELS} a side): draw it as svg or text instead"
        )
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    fig = Figure(figsize=(s.width / 72, s.height / 72), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, s.width)
    ax.set_ylim(s.height, 0)
    ax.axis("off")
    for line in s.lines:
        xs, ys = zip(*line.points)
        ax.plot(xs, ys, color=INK, linewidth=1.2, solid_capstyle="butt")
    for rect in s.rects:
        ax.add_patch(FancyBboxPatch((rect.x, rect.y), rect.w, rect.h, boxstyle="round,pad=0,rounding_size=4",
                                    facecolor=GATE_FILL, edgecolor=INK, linewidth=1.2))
    for label in s.labels:
        ax.text(label.x, label.y, label.text, color=label.colour, fontsize=label.size,
                family="DejaVu Sans Mono", ha={"start": "left", "middle": "center", "end": "right"}[label.anchor],
                va=_VA)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
