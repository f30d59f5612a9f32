"""Gradient shapes: every gradient ends up in the shape of the value it belongs to.

Gates broadcast like numpy, so a gate's backward may hand back a gradient in the
node's broadcast shape for an input that was smaller (a scalar weight against a batch
of points). The engine, not the gate author, sums such a gradient back down; these are
the rules it follows, kept apart from the tape walk that applies them.

Arrays of another library (see :mod:`gatekit.arrays`) follow the same rules in that
library's namespace: a gradient is summed there, and a numbers-only input's gradient
stays a 0-d array of it (never converted, so a dask graph stays lazy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .arrays import array_namespace, device, float_dtype, is_foreign
from .errors import UsageError

__all__ = ["shapes_clash", "BadGradient", "seed_gradient", "seed_view", "reduce_gradient", "reduce_pair_gradient",
           "zero_gradient", "any_unbroadcast"]


def shapes_clash(values: Sequence[Any]) -> bool:
    """Whether the shapes of ``values`` cannot broadcast together (numpy's rules)."""
    try:
        np.broadcast_shapes(*(np.shape(v) for v in values))
    except ValueError:
        return True
    except Exception:  # something without a shape: not a shape problem
        return False
    return False


class BadGradient(ValueError):
    """A gate's gradient that no rule can bring to its input's shape (the engine names the gate)."""


def seed_gradient(out: Any, seed: Any) -> Any:
    """The output's gradient in the output's shape (so every node's gradient has its shape)."""
    if seed.__class__ is float:
        if out.__class__ is float or not np.shape(out):
            return seed
        if is_foreign(out):
            return array_namespace(out).full(out.shape, seed, dtype=float_dtype(out), device=device(out))
        return np.full(np.shape(out), seed, _floats(out))
    if is_foreign(seed) or is_foreign(out):
        return _foreign_seed(out, seed)
    array = np.asarray(seed) if not isinstance(seed, (bool, np.bool_, str, bytes)) else None
    if array is None or array.dtype.kind not in "iuf":
        raise UsageError(f"the output's gradient must be a real number or array, got {seed!r}")
    out_shape = np.shape(out)
    try:
        fits = np.broadcast_shapes(array.shape, out_shape) == out_shape
    except ValueError:
        fits = False
    if not fits:
        raise UsageError(
            f"the output's gradient has shape {array.shape}, which does not fit the output's shape {out_shape}"
        )
    if array.shape != out_shape:
        array = np.broadcast_to(array, out_shape)
    # A copy (the caller's seed is never aliased), in the output's float dtype or wider.
    array = array.astype(np.result_type(_floats(out), array.dtype if array.dtype.kind == "f" else _floats(out)))
    return array if array.ndim else float(array)


def seed_view(out: np.ndarray, seed: float) -> np.ndarray:
    """A float seed in the output's shape and float dtype without writing an array: a
    read-only view of one number (gates read it; none may write into a gradient)."""
    return np.broadcast_to(np.array(seed, _floats(out)), out.shape)


def _foreign_seed(out: Any, seed: Any) -> Any:
    """seed_gradient for an output (or a seed) of another library: checked and brought to shape there."""
    xp = array_namespace(out, seed)
    if isinstance(seed, (bool, np.bool_)) or not (
        isinstance(seed, (int, float, np.integer, np.floating))
        or (hasattr(seed, "dtype") and xp.isdtype(seed.dtype, ("integral", "real floating")))
    ):
        raise UsageError(f"the output's gradient must be a real number or array, got {seed!r}")
    out_shape = tuple(np.shape(out))
    seed_shape = tuple(getattr(seed, "shape", ()))
    try:
        fits = np.broadcast_shapes(seed_shape, out_shape) == out_shape
    except ValueError:
        fits = False
    if not fits:
        raise UsageError(
            f"the output's gradient has shape {seed_shape}, which does not fit the output's shape {out_shape}"
        )
    if not hasattr(seed, "dtype"):
        return float(seed) if not out_shape else xp.full(out_shape, float(seed), dtype=float_dtype(out))
    seed = xp.asarray(seed)  # a numpy seed for a foreign output, in the output's library
    dtype = xp.result_type(float_dtype(out), float_dtype(seed))
    # A copy (the caller's seed is never aliased), in the output's float dtype or wider.
    return xp.astype(xp.broadcast_to(seed, out_shape), dtype, copy=True)


def reduce_pair_gradient(grad: Any, x: Any, other: Any, out: Any) -> Any:
    """:func:`reduce_gradient` for input ``x`` of a two-input gate, its commonest case done directly.

    A Python float (a constant, say) meeting arrays gets a float64 gradient in the
    shape of the node and of the other input: that fits, and reduce_gradient would sum
    it over every axis too, so the sum is taken here without its checks. An array
    broadcast along leading axes only (a bias of shape (out,) added to a batch of shape
    (n, out)) is summed over those axes. What it buys: reduce_gradient's general rule
    costs ~30 us a call on a (100, 16) batch, two thirds of it in its two
    ``np.broadcast_shapes`` (each builds throwaway arrays in Python) and the dtype and
    writeability checks; the sum itself is a few microseconds.
    """
    if grad.__class__ is np.ndarray and out.__class__ is np.ndarray and grad.shape == out.shape:
        if (
            x.__class__ is float
            and other.__class__ is np.ndarray
            and grad.dtype == np.float64
            and grad.shape == other.shape
        ):
            return float(grad.sum(axis=tuple(range(grad.ndim))))
        if (
            x.__class__ is np.ndarray
            and 0 < x.ndim < grad.ndim
            and grad.dtype.kind == "f"
            and grad.shape[grad.ndim - x.ndim :] == x.shape
            and (other.__class__ is float or (other.__class__ is np.ndarray and other.shape == out.shape))
        ):
            return grad.sum(axis=tuple(range(grad.ndim - x.ndim)))
    return reduce_gradient(grad, x, (x, other, out))


def reduce_gradient(grad: Any, x: Any, operands: Sequence[Any]) -> Any:
    """Bring a gradient to the shape of the input ``x`` it belongs to.

    ``operands`` are the node's inputs and output. A gradient stands for the gradient
    over the node's whole broadcast shape (its output's and its inputs' shapes
    together): one smaller than that (a constant, say) is broadcast up to it, then
    summed over the axes along which the input was broadcast. A gradient larger than
    the node's broadcast shape, or one that is not an array of real numbers, breaks
    the protocol: :class:`BadGradient`.
    """
    if is_foreign(grad) or is_foreign(x):
        return _reduce_foreign(grad, x, operands)
    shape = np.shape(x)
    raw = grad
    grad = np.asarray(grad) if not isinstance(grad, (str, bytes)) else None
    if grad is None or grad.dtype.kind not in "biuf":
        raise BadGradient(f"returned {raw!r} as a gradient, not a real number or array")
    if grad.dtype.kind != "f":  # float32 stays float32 (values.py's dtype rule)
        grad = grad.astype(np.float64)
    try:
        full = np.broadcast_shapes(*(np.shape(v) for v in operands))
        fits = np.broadcast_shapes(grad.shape, shape, full) == full
    except ValueError:
        fits = False
    if not fits:
        raise BadGradient(f"returned a gradient of shape {grad.shape} for an input of shape {shape}")
    if full != grad.shape:
        grad = np.broadcast_to(grad, full)
    extra = len(full) - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and grad.shape[k] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if not shape:
        return float(grad)
    return grad if grad.flags.writeable else grad.copy()


def _reduce_foreign(grad: Any, x: Any, operands: Sequence[Any]) -> Any:
    """reduce_gradient for another library's arrays: the same rules, summed in that library."""
    shape = tuple(np.shape(x))
    is_number = isinstance(grad, (int, float, np.integer, np.floating)) and not isinstance(grad, (bool, np.bool_))
    if not is_number and not (is_foreign(grad) or isinstance(grad, np.ndarray)):
        raise BadGradient(f"returned {grad!r} as a gradient, not a real number or array")
    xp = array_namespace(grad, x, *operands)
    if not is_number:
        grad = xp.asarray(grad)
        if not xp.isdtype(grad.dtype, ("bool", "integral", "real floating")):
            raise BadGradient(f"returned {grad!r} as a gradient, not a real number or array")
        if not xp.isdtype(grad.dtype, "real floating"):
            grad = xp.astype(grad, xp.float64)
    grad_shape = tuple(getattr(grad, "shape", ()))
    try:
        full = np.broadcast_shapes(*(tuple(np.shape(v)) for v in operands))
        fits = np.broadcast_shapes(grad_shape, shape, full) == full
    except ValueError:
        fits = False
    if not fits:
        raise BadGradient(f"returned a gradient of shape {grad_shape} for an input of shape {shape}")
    if is_number:
        like = next(v for v in (x, *operands) if is_foreign(v))
        grad = xp.full(full, float(grad), dtype=float_dtype(like), device=device(like))
    elif full != grad_shape:
        grad = xp.broadcast_to(grad, full)
    extra = len(full) - len(shape)
    if extra:
        grad = xp.sum(grad, axis=tuple(range(extra)))
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and grad.shape[k] != 1)
    if axes:
        grad = xp.sum(grad, axis=axes, keepdims=True)
    return grad


def any_unbroadcast(grad: Any, x: Any) -> Any:
    """``grad`` summed down to the shape of ``x`` in any array library: the compiled any-library variant's rule."""
    if tuple(np.shape(grad)) == tuple(np.shape(x)):
        return grad
    return reduce_gradient(grad, x, (grad, x))


def zero_gradient(value: Any) -> Any:
    """The gradient of a node no path leads from to the output: zero, in its shape."""
    if is_foreign(value):
        return array_namespace(value).zeros_like(value, dtype=float_dtype(value))
    shape = np.shape(value)
    return np.zeros(shape, _floats(value)) if shape else 0.0


def _floats(value: Any) -> np.dtype:
    """The float dtype of a value's gradient: an array of floats keeps its own, anything else is float64."""
    dtype = getattr(value, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.dtype(np.float64)
