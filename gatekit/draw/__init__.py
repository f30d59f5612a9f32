"""Circuit pictures: ``gatekit.draw(circuit_or_trace)`` in SVG, PNG, DOT, Mermaid or text.

::

    picture = gatekit.draw(circuit.forward(x=-2, y=5, z=-4).backward())
    picture.save("circuit.svg")     # or .png, .dot, .mmd, .txt
    picture.svg(), picture.text()   # as strings; in a notebook the picture shows itself

The pieces, one idea each: :mod:`.model` (wires, values and shares, rounded once),
:mod:`.layout` (where boxes go), :mod:`.scene` (the shapes), :mod:`.svg` and
:mod:`.raster` (SVG written directly; PNG through matplotlib), :mod:`.text` (tree,
DOT, Mermaid), :mod:`.reshape` (composites opened, constants drawn at each use).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..circuit import Circuit
from ..errors import UsageError
from ..trace import Trace
from .reshape import open_composites, split_constants
from .model import DEFAULT_DIGITS, Drawing, drawing
from .raster import render_png
from .scene import GRAD_COLOUR, VALUE_COLOUR, scene
from .svg import render_svg
from .text import render_dot, render_mermaid, render_text

__all__ = ["draw", "Picture", "FORMATS", "VALUE_COLOUR", "GRAD_COLOUR", "DEFAULT_DIGITS", "check_digits"]

#: Formats by name, and the file suffixes that choose them.
FORMATS = ("svg", "png", "dot", "mermaid", "text")
SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid",
            ".txt": "text"}


def check_digits(digits: Any) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise UsageError(f"digits must be a whole number from 1 to 17 (significant digits), got {digits!r}")
    return digits


class Picture:
    """A drawn circuit, ready in every format."""

    def __init__(self, model: Drawing, title: str | None = None):
        self.drawing = model
        self.title = title

    def svg(self) -> str:
        return render_svg(scene(self.drawing, self.title))

    def png(self, path: str | Path | None = None) -> bytes:
        return render_png(scene(self.drawing, self.title), path)

    def dot(self) -> str:
        return render_dot(self.drawing)

    def mermaid(self) -> str:
        return render_mermaid(self.drawing)

    def text(self) -> str:
        return render_text(self.drawing)

    def render(self, format: str) -> str | bytes:
        if format not in FORMATS:
            raise UsageError(f"unknown picture format {format!r} (valid: {', '.join(FORMATS)})")
        return getattr(self, format)()

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the picture; the format comes from ``format`` or the file's suffix."""
        path = Path(path)
        if format is None:
            format = SUFFIXES.get(path.suffix.lower())
            if format is None:
                raise UsageError(f"cannot tell the picture format from {path.name!r}: use one of "
                                 f"{', '.join(sorted(SUFFIXES))} or give the format")
        data = self.render(format)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data + "\n", encoding="utf-8")
        return path

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        d = self.drawing
        gates = sum(1 for node in d.circuit.nodes if node.kind == "gate")
        state = "values and gradients" if d.backward else ("values" if d.forward else "structure only")
        return f"<Picture of {gates} gate(s), {state}: .svg() .png() .dot() .mermaid() .text() .save(path)>"


def draw(
    source: Circuit | Trace,
    values: Mapping[str, Any] | None = None,
    *,
    backward: bool = True,
    digits: int = DEFAULT_DIGITS,
    open: bool = False,
    title: str | None = None,
    path: str | Path | None = None,
    format: str | None = None,
) -> Picture:
    """The picture of a trace (values, and gradients unless ``backward=False``) or a circuit.

    A circuit is run at ``values`` (or at its defaults, when it has one for every
    input); with neither it is drawn without numbers. ``digits`` are the significant
    digits of every number; ``open=True`` draws each composite gate as the gates it
    is made of; ``path`` also saves it (``format`` or the suffix says how).
    """
    digits = check_digits(digits)
    if not isinstance(source, (Circuit, Trace)):
        raise UsageError(f"draw() takes a gatekit Circuit or Trace, got {type(source).__name__}")
    if isinstance(source, Circuit):
        circuit = source
        if values is not None or (circuit.inputs and set(circuit.defaults) >= set(circuit.inputs)):
            source = circuit.forward(values or {})
    elif values is not None:
        raise UsageError("draw() got a Trace and values: a trace already has its values")
    if open:
        source = open_composites(source)
    source = split_constants(source)
    if isinstance(source, Trace) and backward and source.grads is None:
        source.backward()
    picture = Picture(drawing(source, backward, digits), title)
    if path is not None:
        picture.save(path, format)
    return picture
