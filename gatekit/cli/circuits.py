"""The circuit a command works on: an expression or a ``--file``, and its input values.

``gatekit run EXPR x=1 y=-3`` and ``gatekit run --file f.json x=1`` share one rule:
without ``--file`` the first word is the expression, every other word is ``NAME=VALUE``;
values on the command line override the file's defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import gatekit

from ..circuit import Circuit
from ..errors import UsageError
from ..registry import Registry
from .values import input_values, looks_like_assignment, parse_assignments

__all__ = ["CircuitAndValues", "circuit_and_values", "FileOption", "Words", "POSITIONAL_SETTINGS"]

#: Lets ``-3`` and ``-x * y`` through as arguments instead of unknown options.
POSITIONAL_SETTINGS = {"ignore_unknown_options": True}

#: ``--file CIRCUIT.json``; no short form, since ``-f...`` could begin an expression.
FileOption = Annotated[
    Optional[Path],
    typer.Option("--file", help="A circuit JSON file instead of EXPR; NAME=VALUE overrides its defaults.",
                 show_default=False),
]
#: The expression (unless ``--file``) followed by ``NAME=VALUE`` words.
Words = Annotated[
    Optional[list[str]],
    typer.Argument(metavar="EXPR NAME=VALUE", show_default=False,
                   help="An expression such as 'x * y' or 'q = x + y; f = q * z' (unless --file), "
                        "then a value for each input."),
]


@dataclass(frozen=True)
class CircuitAndValues:
    """A circuit, where it came from, and the value of every input."""

    circuit: Circuit
    source: str  # the expression, or the file's path
    values: dict[str, Any]


def split_words(words: Sequence[str], file: Path | None, command: str) -> tuple[str | None, list[str]]:
    """(expression or None, the NAME=VALUE words)."""
    words = list(words)
    if file is not None:
        if words and "=" not in words[0]:
            raise UsageError(f"give an expression or --file, not both (got {words[0]!r} and --file {file})")
        return None, words
    if not words or looks_like_assignment(words[0]):
        raise UsageError(
            f"missing EXPR: give an expression first (gatekit {command} 'x * y' x=1 y=-3) "
            "or a circuit file (--file CIRCUIT.json)"
        )
    return words[0], words[1:]


def load_circuit(expression: str | None, file: Path | None, registry: Registry) -> Circuit:
    if file is None:
        assert expression is not None  # split_words gives one or the other
        return gatekit.parse(expression, registry=registry)
    return gatekit.load(file, registry=registry)


def circuit_and_values(words: Sequence[str] | None, file: Path | None, registry: Registry, command: str) -> CircuitAndValues:
    """The circuit named by ``words``/``file`` and every input's value.

    The words are checked before the circuit is built, so a bad number is reported
    even when the expression has a problem too.
    """
    expression, assignments = split_words(words or (), file, command)
    given = parse_assignments(assignments, command)
    circuit = load_circuit(expression, file, registry)
    values = input_values(circuit.inputs, circuit.defaults, given)
    return CircuitAndValues(circuit, expression if expression is not None else str(file), values)
