"""The fast way through :func:`gatekit.parse` for one long flat chain: ``x + y - 2 + ...``.

Tokenising with :mod:`tokenize` and parsing with :mod:`ast` costs ~40 us and ~2 KB per
term, so a 10^6-term sum took a minute and over a gigabyte. A text that is nothing but
operands (plain names and unsigned decimal numbers) joined by binary operators of *one*
precedence level (all ``+``/``-`` or all ``*``/``/``) means one thing: the operators
folded left to right, exactly the tree Python would build. Such a text is read here with
one regular expression and wired straight into the :class:`~gatekit.Composer`, which
resolves the operators, checks the names and makes the constants, as for any expression.

Anything else (stages, brackets, calls, unary signs, mixed precedence, keywords, a name
``inputs=`` did not declare), and any text the Composer refuses, returns ``None``: the
general reader then parses it and gives its error with a line and column. Nothing
read here is ever evaluated: names become inputs, numbers go through ``float()``.

Why a second reader rather than one: the general reader takes its tokens, its syntax
errors and the positions of every refused piece of Python (``a.b``, ``lambda``, ``%``,
...) from Python's own tokenizer and ``ast``, which cost tens of microseconds and ~2 KB
per token. A hand-written linear reader of the whole language would have to make all
those messages again; this one reads only the shape that is ever long, and leaves
every error to the general reader (tests check that both build the same circuit).
Cost: ~1.6-2.5 us and ~200 bytes of circuit per term (bench/parse_sum.py).
"""

from __future__ import annotations

import keyword
import math
import operator
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .collector import collector_paused
from .compose import Composer, Wire
from .errors import CircuitError

if TYPE_CHECKING:
    from .circuit import Circuit
    from .registry import Registry

__all__ = ["parse_flat_chain", "FLAT_MIN_OPERATORS"]

#: Shorter texts go the general way (its cost is nothing next to a user's typing).
FLAT_MIN_OPERATORS = 64

_OPERAND = r"(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
#: One term: an operator (absent for the first), an operand, the spaces and tabs after.
#: The text is read term by term, each starting where the last ended (one regular
#: expression over the whole text would keep a backtracking mark per term: ~190 MB
#: for a 10^6-term sum, more than the circuit).
_TERM = re.compile(rf"([-+*/])?[ \t]*({_OPERAND})[ \t]*")
#: A wire on the left: the operator itself, which the Wire hands to its Composer.
_APPLY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def parse_flat_chain(text: str, registry: Registry, inputs: Sequence[str] | None) -> Circuit | None:
    """The circuit of a long flat chain, or ``None`` when the general reader must decide."""
    if len(text) < 4 * FLAT_MIN_OPERATORS:
        return None
    symbols = {symbol for symbol in "+-*/" if symbol in text}
    if text.count("+") + text.count("-") + text.count("*") + text.count("/") < FLAT_MIN_OPERATORS \
            or not (symbols <= {"+", "-"} or symbols <= {"*", "/"}):
        return None  # short, or mixed precedence (or a sign in an exponent): the general reader knows the tree
    composer = Composer(registry)
    values: dict[str, Wire] = {}
    if inputs is not None:
        if isinstance(inputs, str):
            inputs = inputs.replace(",", " ").split()
        try:
            for name in inputs:
                values[name] = composer.input(name)
        except CircuitError:
            return None
    declared = inputs is not None
    total: Wire | float | None = None
    # The collector's passes over a growing graph would cost more than the reading itself.
    try:
        with collector_paused():
            for symbol, operand in _terms(text):
                if not operand or (not symbol) != (total is None):
                    return None  # text the terms do not cover, two operands in a row, a leading sign
                value: Wire | float
                if operand[0] in _NAME_START:
                    wire = values.get(operand)
                    if wire is None:
                        if declared or keyword.iskeyword(operand):
                            return None
                        wire = values[operand] = composer.input(operand)
                    value = wire
                else:
                    value = float(operand)
                    if not math.isfinite(value):
                        return None
                if total is None:
                    total = value
                elif total.__class__ is Wire:
                    total = _APPLY[symbol](total, value)  # the Wire's operator: Composer's fast path
                else:
                    total = composer.operator(symbol, total, value)
            if isinstance(total, float):
                total = composer.const(total)
            return composer.build(total, keep_inputs=True)
    except CircuitError:
        return None


def _terms(text: str) -> Iterator[tuple[str, str]]:
    """(operator, operand) pairs one at a time (a list of a million would be ~100 MB), then
    ("", "") if the terms do not cover the whole text: it is not a chain after all."""
    at = len(text) - len(text.lstrip(" \t"))
    for match in _TERM.finditer(text, at):
        if match.start() != at:
            break
        at = match.end()
        yield match.group(1) or "", match.group(2)
    if at != len(text):
        yield "", ""
