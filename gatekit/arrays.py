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

__all__ = ["array_namespace", "is_foreign", "library_name", "float_dtype", "device", "all_finite", "first_nonfinite_index"]

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


def all_finite(values: list[Any]) -> list[bool]:
    """For each value, whether every element is finite, reduced in its own library.

    Nothing is converted to numpy: a foreign array is checked with ``xp.isfinite`` and
    ``xp.all``, so only one boolean per value leaves its library. Lazy arrays (dask) are
    computed here, since a yes or no needs their values, but all together in one pass
    (``dask.compute``): each chunk once, never held whole, rather than every value's
    graph again from the inputs.
    """
    flags: list[Any] = []
    lazy: list[int] = []
    for k, value in enumerate(values):
        if not is_foreign(value):
            flags.append(bool(np.all(np.isfinite(value))))
            continue
        xp = array_namespace(value)
        flags.append(xp.all(xp.isfinite(value)))
        if array_api_compat.is_lazy_array(value):
            lazy.append(k)
    if lazy:
        if any(array_api_compat.is_dask_array(values[k]) for k in lazy):
            import dask  # only reached with a dask array in hand, so dask is installed

            computed = dask.compute(*(flags[k] for k in lazy))
            for k, flag in zip(lazy, computed):
                flags[k] = flag
    return [bool(flag) for flag in flags]


def first_nonfinite_index(value: Any) -> tuple[int, ...]:
    """The index (C order) of the first inf or nan of an array that holds one, found in its library.

    For a dask array only the reduction and the one element are computed, not the array.
    """
    if not is_foreign(value):
        array = np.asarray(value)
        return tuple(int(k) for k in np.argwhere(~np.isfinite(array))[0]) if array.ndim else ()
    shape = tuple(value.shape)
    if not shape:
        return ()
    xp = array_namespace(value)
    flat = xp.reshape(value, (-1,))
    # argmax gives the first of equal maxima (the standard says so): the first bad element.
    first = int(xp.argmax(xp.astype(~xp.isfinite(flat), xp.int8)))
    return tuple(int(k) for k in np.unravel_index(first, shape))
