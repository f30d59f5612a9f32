"""``gatekit codegen EXPR [--file F] [--arrays]``: a circuit's forward and backward pass as Python."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from .circuits import POSITIONAL_SETTINGS, FileOption, Words, load_circuit, split_words
from .session import Json, emit_json, registry_of, reports_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("codegen", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def codegen(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        arrays: Annotated[bool, typer.Option("--arrays", help="The variant for numpy arrays (broadcasting).")] = False,
        json: Json = False,
    ) -> None:
        """The generated forward and backward pass: gatekit codegen 'q = x + y; f = q * z'."""
        expression, extra = split_words(words or (), file, "codegen")
        if extra:
            raise UsageError(f"codegen takes no input values (got {extra[0]!r}); it prints code for any input")
        circuit = load_circuit(expression, file, registry_of(ctx))
        source = circuit.source(arrays=arrays)
        if json:
            emit_json({"source": source, "arrays": arrays, "inputs": list(circuit.inputs)})
        else:
            typer.echo(source, nl=False)
