"""``gatekit graph``: the circuit drawn with each wire's value and gradient.

The drawing itself is :func:`gatekit.draw` (the :mod:`gatekit.draw` package); this
module only reads the command line and writes the result.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..draw import DEFAULT_DIGITS, draw
from ..draw.model import Drawing
from ..errors import UsageError
from .circuits import POSITIONAL_SETTINGS, FileOption, Words, circuit_and_values
from .session import emit_json, registry_of, reports_errors

__all__ = ["register", "drawing_json"]


class Format(str, Enum):
    text = "text"
    svg = "svg"
    png = "png"
    dot = "dot"
    mermaid = "mermaid"


def drawing_json(d: Drawing) -> dict[str, Any]:
    circuit = d.circuit
    return {
        "output": circuit.output,
        "nodes": [
            {"id": i, "name": circuit.node_name(i), "kind": node.kind, "gate": node.gate,
             "value": d.value(i), "grad": d.grad(i)}
            for i, node in enumerate(circuit.nodes)
        ],
        "wires": [
            {"from": w.source, "to": w.target, "arg": w.arg, "value": w.value, "grad": w.grad} for w in d.wires
        ],
    }


def register(app: typer.Typer) -> None:
    @app.command("graph", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def graph(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        format: Annotated[
            Optional[Format], typer.Option("--format", help="How to draw it (default: from -o's suffix, else text).",
                                           show_default=False)
        ] = None,
        output: Annotated[
            Optional[Path], typer.Option("-o", "--output", help="Write the picture to this file.", show_default=False)
        ] = None,
        digits: Annotated[int, typer.Option("--digits", help="Significant digits of every number.")] = DEFAULT_DIGITS,
        open_composites: Annotated[
            bool, typer.Option("--open", help="Draw each composite gate as the gates it is made of.")
        ] = False,
        backward: Annotated[
            bool, typer.Option("--backward/--no-backward", help="Run the backward pass and show gradients.")
        ] = True,
        json: Annotated[bool, typer.Option("--json", help="Print nodes and wires as JSON instead.")] = False,
    ) -> None:
        """The circuit with each wire's value and gradient: gatekit graph '(x + y) * z' x=-2 y=5 z=-4."""
        given = circuit_and_values(words, file, registry_of(ctx), "graph")
        trace = given.circuit.forward(given.values, check_finite=True)
        picture = draw(trace, backward=backward, digits=digits, open=open_composites)
        if json:
            emit_json(drawing_json(picture.drawing))
            return
        chosen = format.value if format is not None else None
        if output is not None:
            path = picture.save(output, chosen)
            typer.echo(f"wrote {path}", err=True)
            return
        if chosen == "png":
            raise UsageError("a PNG is binary: give a file to write it to, -o circuit.png")
        typer.echo(picture.render(chosen or "text"))
