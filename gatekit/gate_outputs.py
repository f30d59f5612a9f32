"""What a gate's forward may return, and finding the gate that returned something else.

A forward returns a real number (a float, an int, a numpy real scalar) or an array of
real numbers (numpy, or any array that speaks numpy's or the array API's protocols).
Junk (a string, None, a dict, a list, a bool, a complex number, an array of booleans)
would otherwise be reported as the failure of the *next* gate, or land in the CLI's
JSON as ``true``. For scalar inputs the output must be a scalar too: a gate that turns
numbers into an array of shape (3, 4) is wrong, not broadcasting.

Checking costs a pass over the nodes, so the engine runs it once per circuit and kind
of input (scalars, arrays), and again whenever a gate raises, to blame the gate that
produced the junk rather than the one that tripped over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["output_problem", "first_junk"]

_REAL_KINDS = "fiu"


def _dtype_kind(dtype: Any) -> str | None:
    try:
        return np.dtype(dtype).kind
    except TypeError:  # an array API dtype numpy does not know: judge by its name
        name = str(dtype)
        if "complex" in name:
            return "c"
        if "bool" in name:
            return "b"
        return "f" if ("float" in name or "int" in name) else None


def output_problem(value: Any, scalar_inputs: bool) -> str | None:
    """Why ``value`` cannot be a forward's output (None when it can)."""
    cls = value.__class__
    if cls is float or cls is np.float64:
        return None
    if isinstance(value, (bool, np.bool_)):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, np.integer, np.floating)):
        return None
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if isinstance(shape, tuple) and dtype is not None:
        kind = _dtype_kind(dtype)
        if kind not in tuple(_REAL_KINDS):
            return f"an array of {dtype}"
        if scalar_inputs and len(shape) > 0:
            return f"an array of shape {shape} for scalar inputs"
        return None
    if value is None:
        return "None"
    shown = _short(value)
    return f"{type(value).__name__} {shown}" if shown else type(value).__name__


def first_junk(values: Sequence[Any], gate_nodes: Sequence[int], scalar_inputs: bool) -> tuple[int, str] | None:
    """The first gate node (in order) whose value is no valid output, and why; or None."""
    for i in gate_nodes:
        problem = output_problem(values[i], scalar_inputs)
        if problem is not None:
            return i, problem
    return None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        return ""
    return f"({text})" if len(text) <= 40 else f"({text[:37]}...)"
