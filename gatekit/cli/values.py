"""Numbers and ``NAME=VALUE`` assignments as typed on a command line.

Commands that take numbers accept unknown option-like words as arguments (so
``gatekit eval mul 1 -3`` works); a word here that starts with a dash and is not a
number is therefore reported as the unknown option it must have been.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import UsageError
from ..values import resolve_inputs

__all__ = ["is_number", "parse_number", "parse_numbers", "parse_assignments", "input_values", "looks_like_assignment"]

#: NAME=VALUE where NAME is any identifier the expression parser takes (``ñ=3`` too).
_ASSIGNMENT = re.compile(r"^([^\W\d]\w*)=(.*)$", re.DOTALL)


def _reject_option(word: str, command: str) -> None:
    if word.startswith("-") and len(word) > 1 and not is_number(word):
        raise UsageError(f"no such option {word!r} (see 'gatekit {command} --help')")


def is_number(word: str) -> bool:
    """Whether ``word`` reads as a number (``-3``, ``1e-3``, ``inf``)."""
    try:
        float(word)
    except ValueError:
        return False
    return True


def parse_number(word: str, what: str, command: str = "") -> float:
    """``word`` as a finite float; ``what`` names it in the error ("argument 2", "input 'x'")."""
    _reject_option(word, command)
    try:
        value = float(word)
    except ValueError:
        raise UsageError(f"{what}: {word!r} is not a number (for example 1, -3, 0.5 or 1e-3)") from None
    if not math.isfinite(value):
        raise UsageError(f"{what}: {word!r} is not a finite number")
    return value


def parse_numbers(words: Sequence[str], command: str) -> list[float]:
    return [parse_number(w, f"argument {k + 1}", command) for k, w in enumerate(words)]


def looks_like_assignment(word: str) -> bool:
    """Whether ``word`` reads as ``NAME=NUMBER`` (and so cannot be an expression)."""
    match = _ASSIGNMENT.match(word.strip())
    return match is not None and is_number(match.group(2))


def parse_assignments(words: Iterable[str], command: str) -> dict[str, float]:
    """``["x=1", "y=-3"]`` as ``{"x": 1.0, "y": -3.0}``; one clear error per bad word."""
    values: dict[str, float] = {}
    for word in words:
        _reject_option(word, command)
        match = _ASSIGNMENT.match(word)
        if match is None:
            raise UsageError(f"expected NAME=VALUE with no spaces (for example x=1), got {word!r}")
        name, text = match.groups()
        # Python's parser reads identifiers in NFKC form (a typed 'ﬁ' is 'fi'): so do we.
        name = unicodedata.normalize("NFKC", name)
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not an input name (letters, digits and '_', not starting with a digit)")
        if not text.strip():
            raise UsageError(f"input {name!r} has no value (write {name}=1, for example)")
        if name in values:
            raise UsageError(f"input {name!r} is given twice ({name}={_show(values[name])} and {word})")
        values[name] = parse_number(text.strip(), f"input {name!r}", command)
    return values


def _show(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def input_values(inputs: Sequence[str], defaults: Mapping[str, Any], given: Mapping[str, float]) -> dict[str, Any]:
    """Every input's value: the command line's, else the circuit file's default.

    An unknown name gets "did you mean"; a missing one says how to give it.
    """
    return resolve_inputs(inputs, defaults, given, how=lambda missing: ": add " + " ".join(f"{n}=VALUE" for n in missing))
