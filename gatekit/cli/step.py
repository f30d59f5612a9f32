"""``gatekit step EXPR NAME=VALUE ...``: the forward pass, then the backward pass, one gate at a time.

On a terminal each step waits for Enter (``q`` then Enter stops); ``--all``, or
output that is not a terminal, prints every step at once; ``--json`` gives the steps
as data (:func:`gatekit.steps`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..explain import number
from ..stepthrough import steps
from .circuits import POSITIONAL_SETTINGS, FileOption, Words, circuit_and_values
from .session import Json, emit_json, registry_of, reports_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("step", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def step(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        all_steps: Annotated[bool, typer.Option("--all", help="Print every step at once, without waiting.")] = False,
        digits: Annotated[int, typer.Option("--digits", help="Significant digits of every number.")] = 4,
        json: Json = False,
    ) -> None:
        """Walk forward then backward one gate at a time: gatekit step '(x + y) * z' x=-2 y=5 z=-4."""
        from ..draw import check_digits

        given = circuit_and_values(words, file, registry_of(ctx), "step")
        trace = given.circuit.forward(given.values, check_finite=True).backward()
        walk = steps(trace, check_digits(digits))
        if json:
            emit_json([s.to_dict() for s in walk])
            return
        wait = not all_steps and sys.stdin.isatty() and sys.stdout.isatty()
        typer.echo(f"{given.source}: {len(walk) // 2} gate(s), forward then backward"
                   + (" (Enter for the next step, q to stop)" if wait else ""))
        for k, s in enumerate(walk):
            typer.echo(s.text())
            if wait and k + 1 < len(walk) and input().strip().lower() == "q":
                return
        typer.echo(f"output = {number(trace.output, digits)}; input gradients: "
                   + ", ".join(f"{name} = {number(g, digits)}" for name, g in trace.input_grads().items()))
