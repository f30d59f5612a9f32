"""What a value may be: input values and constants are real numbers or float64 arrays.

Kept in one place so that a circuit's inputs, its defaults (from a file) and its
constants are all refused or accepted by the same rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UsageError

__all__ = ["as_input", "is_real", "label_problem", "is_input_name"]


def as_input(name: str, value: Any) -> Any:
    """An input value as float or float64 array; a clear error for anything else.

    Strings and booleans are refused rather than converted: ``"3"`` or ``True``
    as an input is far more often a mistake than a number. A float64 array is
    used as given, not copied.
    """
    if isinstance(value, float):
        return value

    def refused(why: str = "") -> UsageError:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        return UsageError(f"input {name!r} must be a real number or an array of real numbers, got {shown}{why}")

    if isinstance(value, (int, np.integer, np.floating)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range
            raise refused(" (too large for a float)") from None
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise refused()
    if isinstance(value, np.ma.MaskedArray):
        # np.asarray would drop the mask and compute with the hidden values.
        raise UsageError(f"input {name!r} is a masked array; gatekit would compute with the masked values, so "
                         f"give {name}.filled(value) or {name}.compressed() (the unmasked values) instead")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise refused() from None
    if array.dtype.kind not in "iuf" and not (array.dtype.kind == "O" and _all_real(array)):
        raise refused()
    try:
        array = array.astype(np.float64, copy=False)
    except OverflowError:
        raise refused(" (too large for a float)") from None
    return array if array.ndim else float(array)


def _all_real(array: np.ndarray) -> bool:
    """An object array (a ragged or mixed list) that still holds only real numbers."""
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in array.flat)


def is_real(value: Any) -> bool:
    """A number a constant can hold: int or float (not bool), within float range."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, (bool, np.bool_)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def label_problem(label: object) -> str | None:
    """Why ``label`` cannot name a stage (None when it can).

    A stage label becomes a node id in a circuit file, so what is refused here is what
    a file could not hold: a label must be a string with a visible character (not
    ``""``, ``" "`` or ``"\\u2028"``) that UTF-8 can encode (no lone surrogate such as
    ``"\\ud800"``). One rule at build time means whatever can be built can be saved
    and loaded back.
    """
    if not isinstance(label, str):
        return f"a stage label must be a string, got {type(label).__name__}"
    if not label.strip():
        return f"a stage label must be a non-empty string with a visible character, got {label!r}"
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        return f"a stage label must be text UTF-8 can encode, got {label!r} (it holds a lone surrogate)"
    return None


def is_input_name(name: object) -> bool:
    """An input name is a Python identifier, as an expression would spell it."""
    return isinstance(name, str) and name.isidentifier()
