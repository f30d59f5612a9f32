"""Gradient shapes: every gradient ends up in the shape of the value it belongs to.

Gates broadcast like numpy, so a gate's backward may hand back a gradient in the
node's broadcast shape for an input that was smaller (a scalar weight against a batch
of points). The engine, not the gate author, sums such a gradient back down; these are
the rules it follows, kept apart from the tape walk that applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import UsageError

__all__ = ["shapes_clash", "BadGradient", "seed_gradient", "seed_view", "reduce_gradient", "reduce_pair_gradient", "zero_gradient"]


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
        return seed if out.__class__ is float or not np.shape(out) else np.full(np.shape(out), seed, _floats(out))
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


def zero_gradient(value: Any) -> Any:
    """The gradient of a node no path leads from to the output: zero, in its shape."""
    shape = np.shape(value)
    return np.zeros(shape, _floats(value)) if shape else 0.0


def _floats(value: Any) -> np.dtype:
    """The float dtype of a value's gradient: an array of floats keeps its own, anything else is float64."""
    dtype = getattr(value, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.dtype(np.float64)
