"""Array libraries: which one a value belongs to, and the functions to compute it with.

numpy arrays and numbers compute with numpy, as they always have. Any other array
(array-api-strict, dask, CuPy, JAX, PyTorch, ...) computes with its own library's
functions, named as the Python array API standard names them (``xp.exp``,
``xp.maximum``, ``xp.where``, ``xp.astype``, ``xp.sum``), so what goes in comes back:
a dask array stays lazy, a GPU array stays on its device.

The namespace comes from array-api-compat (``array_namespace``) rather than from
``x.__array_namespace__()`` alone: that method is missing on dask, CuPy and PyTorch
arrays (and on numpy before 2.0), and array-api-compat gives each of those a namespace
that follows the standard, while an array that has the method gets its own.

A gate (the built-ins, or anyone's) writes its array code once against
``xp = gatekit.array_namespace(x, y)``; Python floats keep their own fast path, which
never gets here.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = ["array_namespace", "is_foreign", "library_name", "float_dtype", "device"]

_NUMBERS = (int, float, np.generic)


def is_foreign(value: Any) -> bool:
    """An array of a library other than numpy (numbers and numpy's arrays and scalars are not)."""
    cls = value.__class__
    if cls is float or cls is np.ndarray or isinstance(value, (np.ndarray, *_NUMBERS)):
        return False
    return bool(array_api_compat.is_array_api_obj(value))


def array_namespace(*values: Any) -> Any:
    """The namespace to compute ``values`` with: ``numpy`` for numbers and numpy arrays, else their library's.

    Numbers and numpy arrays mix with any one other library (Python floats are the
    standard's scalars; a numpy array next to a dask one is dask's to handle); arrays of
    two other libraries are refused by array-api-compat with a TypeError.
    """
    for v in values:  # a loop, not a list: a gate asks this on every call
        if v.__class__ is not float and v.__class__ is not np.ndarray and is_foreign(v):
            return array_api_compat.array_namespace(*(w for w in values if is_foreign(w)))
    return np


def library_name(value: Any) -> str:
    """The library an array comes from, as a user would name it (``numpy``, ``dask``, ``array_api_strict``)."""
    if not is_foreign(value):
        return "numpy"
    return type(value).__module__.partition(".")[0]


def float_dtype(value: Any) -> Any:
    """The dtype of ``value``'s gradient: an array of floats keeps its own, anything else is float64.

    A foreign array of integers gets its own library's float64 (``xp.float64``).
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return np.dtype(np.float64)
    if not is_foreign(value):
        return dtype if dtype.kind == "f" else np.dtype(np.float64)
    xp = array_namespace(value)
    return dtype if xp.isdtype(dtype, "real floating") else xp.float64


def device(value: Any) -> Any:
    """The device a foreign array lives on (what ``xp.full(..., device=)`` wants); dask's and numpy's is the CPU."""
    return array_api_compat.device(value)
