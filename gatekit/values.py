"""What a value may be: input values and constants are real numbers or arrays of floats.

Kept in one place so that a circuit's inputs, its defaults (from a file) and its
constants are all refused or accepted by the same rules.

The dtype rule: a number (int, float, numpy scalar) becomes a Python float; an array
of floats keeps its dtype (float32 in, float32 values and gradients out; mixing
float32 with float64 gives float64, as numpy promotes); an array of integers becomes
float64. Python-float constants (``2 * x``) do not widen a float32 array. Both tiers,
interpreted and compiled, keep the rule (tests/test_dtypes.py holds each to it), and a
reduction (``sum``, ``mean``) gives its input its own dtype's gradient. Anything that
would lose information or meaning is refused with one clear error: booleans,
strings, complex numbers, object arrays holding non-numbers, masked arrays (their mask
would be dropped).

Arrays of other libraries (anything the Python array API reaches: array-api-strict,
dask, CuPy, JAX, ...) follow the same rule in their own library and are never
converted: floats as given, integers as the library's float64, booleans and complex
numbers refused. The array inputs of one call are of one library (numbers mix with
any); a numbers-only input's gradient against them is a 0-d array of that library
(reduced there: a dask graph stays lazy), where against numpy it is a Python float.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

from .arrays import array_namespace, is_foreign, library_name
from .errors import UnknownNameError, UsageError

__all__ = ["as_input", "plain", "resolve_inputs", "values_in_order", "is_real", "is_constant", "is_input_name", "label_problem", "NAME_PATTERN",
           "INPUT_NAME_RULE", "CONSTANT_RULE"]

#: Names of gates and strategies: what an expression or a command line can spell.
NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*(-[a-z0-9_]+)*$")


def as_input(name: str, value: Any) -> Any:
    """An input value as a float or an array of floats (see the dtype rule above); a clear error for anything else.

    Strings and booleans are refused rather than converted: ``"3"`` or ``True``
    as an input is far more often a mistake than a number. An array of floats is
    used as given, not copied.
    """
    if isinstance(value, float):
        return value
    if value.__class__ is np.ndarray and value.dtype.kind == "f":  # the common array, without the checks below
        return value if value.ndim else float(value)

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
    if is_foreign(value):
        return _foreign_input(value, refused)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise refused() from None
    kind = array.dtype.kind
    if kind == "c":
        raise refused(" (complex numbers: the gates are real-valued; pass .real or abs() of them)")
    if kind in "USa":
        raise refused(" (strings: convert them first, e.g. np.asarray(values, dtype=float))")
    if kind not in "iuf" and not (kind == "O" and _all_real(array)):
        raise refused()
    if kind != "f":
        try:
            array = array.astype(np.float64)
        except OverflowError:
            raise refused(" (too large for a float)") from None
    return array if array.ndim else float(array)


def _foreign_input(value: Any, refused: Callable[[str], UsageError]) -> Any:
    """An array of another library (array API): used as given if of floats, integers made its float64."""
    xp = array_namespace(value)
    dtype = value.dtype
    if xp.isdtype(dtype, "real floating"):
        return value
    if xp.isdtype(dtype, "integral"):
        return xp.astype(value, xp.float64)
    if xp.isdtype(dtype, "complex floating"):
        raise refused(" (complex numbers: the gates are real-valued; pass the real part or abs() of them)")
    raise refused(f" (an array of {dtype})")


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


#: What an input name may be, as the builder, the file reader and the writer all say it.
INPUT_NAME_RULE = "an identifier (letters, digits, '_'; not a Python keyword)"
#: What a constant may be: what a circuit file can hold and an expression can spell.
CONSTANT_RULE = "a finite real number"


def is_input_name(name: Any) -> bool:
    """An input name every way in and out accepts: an identifier that is not a keyword."""
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def is_constant(value: Any) -> bool:
    """A constant every way in and out accepts: a real number within float range, finite."""
    return is_real(value) and math.isfinite(float(value))


def resolve_inputs(
    inputs: Sequence[str],
    defaults: Mapping[str, Any],
    given: Mapping[str, Any],
    *,
    where: str = "(not an input of this circuit)",
    how: Callable[[list[str]], str] = lambda missing: "",
    shown: Callable[[str], str] = repr,
    unread: Collection[str] = (),
) -> dict[str, Any]:
    """Every input's value: the given one (checked by :func:`as_input`), else its default.

    The one place that checks names against a circuit's inputs: an unknown name is an
    :class:`~gatekit.UnknownNameError` ("did you mean", ``where`` says where it was
    found), and every missing input is named in one message (``how`` says how the
    caller can give one: keywords, ``NAME=VALUE`` words, a start point; ``shown`` how
    each is named). A value for an ``unread`` name (declared when the circuit was built,
    left out because the output never reads it) is accepted and ignored.
    """
    known = inputs if isinstance(inputs, (dict, set, frozenset)) else set(inputs)  # a tuple: quadratic in the inputs
    for name in given:
        if name not in known and name not in unread:  # unread: declared, but the output never reads it
            raise UnknownNameError("input", str(name), inputs, where)
    missing = [name for name in inputs if name not in given and name not in defaults]
    if missing:
        raise UsageError(
            f"no value for input{'s' if len(missing) > 1 else ''} {', '.join(map(shown, missing))}{how(missing)} "
            f"(the circuit's inputs: {', '.join(inputs)})"
        )
    resolved = {name: as_input(name, given[name]) if name in given else defaults[name] for name in inputs}
    _one_library(resolved)
    return resolved


def values_in_order(inputs: Sequence[str], xs: Any, call: str = "gradient_list") -> dict[str, Any]:
    """A sequence of input values, one per input in the circuit's order, as the dict ``gradient`` takes.

    The values themselves are checked by the resolver afterwards; here only the sequence:
    a mapping or a lone number is refused, and so is the wrong length, naming the order.
    A 1-d numpy array of floats (an optimiser's vector) holds one number per input.
    """
    order = ", ".join(inputs) if len(inputs) <= 8 else ", ".join(inputs[:8]) + f", ... ({len(inputs)} in all)"
    if isinstance(xs, np.ndarray) and xs.ndim == 1:
        xs = xs.tolist()
    if isinstance(xs, Mapping) or isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence | np.ndarray):
        hint = "; for a dict of values, call gradient(values)" if isinstance(xs, Mapping) else ""
        raise UsageError(f"{call} takes a sequence of values, one per input in the order of circuit.inputs "
                         f"({order}), got {type(xs).__name__}{hint}")
    if len(xs) != len(inputs):
        raise UsageError(f"{call} takes {len(inputs)} value(s), one per input in the order of circuit.inputs "
                         f"({order}), got {len(xs)}")
    return dict(zip(inputs, xs))


def _one_library(values: Mapping[str, Any]) -> None:
    """Refuse arrays of two libraries in one call (numbers mix with any; a numpy array with a dask one too)."""
    libraries: dict[str, str] = {}
    for name, value in values.items():
        if value.__class__ is not float and value.__class__ is not np.ndarray and is_foreign(value):
            libraries.setdefault(library_name(value), name)
    if not libraries:
        return
    arrays = {name for name, value in values.items() if value.__class__ is np.ndarray}
    if arrays and libraries.keys() != {"dask"}:  # dask computes with numpy arrays; the standard's others do not
        libraries.setdefault("numpy", sorted(arrays)[0])
    if len(libraries) > 1:
        shown = ", ".join(f"{name!r} is an array of {library}" for library, name in libraries.items())
        raise UsageError(f"the inputs are arrays of different libraries ({shown}); give every array input in one "
                         "library (numbers mix with any), e.g. convert with that library's asarray")
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


def plain(value: Any) -> Any:
    """A 0-d array or numpy scalar (what ufuncs give for floats) as a Python float; else as is."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    return value
