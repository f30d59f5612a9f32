"""Numerical gradients: central or forward differences, with a step scaled to each value.

The reference every gradient check compares backprop with (:mod:`gatekit.check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import UnknownNameError, UsageError, warn_deprecated

__all__ = ["numerical_gradient", "step_size"]

_EPS = np.finfo(np.float64).eps


def step_size(x: Any, difference: str = "central") -> Any:
    """A step that balances truncation and rounding error at the scale of ``x``."""
    base = _EPS ** (1 / 3) if difference == "central" else _EPS**0.5
    return base * np.maximum(1.0, np.abs(x))


def numerical_gradient(
    f: Callable[[dict[str, Any]], Any],
    point: Mapping[str, Any],
    names: Sequence[str] | None = None,
    h: float | None = None,
    difference: str = "central",
    *,
    method: str | None = None,
) -> dict[str, Any]:
    """The gradient of scalar ``sum(f(point))`` w.r.t. each named input, element by element.

    ``difference`` (as the strategies' option is called; ``method=`` is its deprecated
    old name) is ``"forward"`` (``(f(x + h) - f(x)) / h``) or ``"central"``
    (``(f(x + h) - f(x - h)) / 2h``). ``f`` receives a dict of float64 arrays (0-d
    for scalar inputs). ``h`` defaults to a step scaled to each value, and the step
    actually taken (``(x + h) - x`` in floating point) divides the difference; a given
    ``h`` is used exactly as the textbook formula writes it (as the lesson does).
    """
    if method is not None:
        warn_deprecated("numerical_gradient(method=...)", "difference=...")
        difference = method
    if difference not in ("forward", "central"):
        raise UsageError(f"unknown difference {difference!r} (valid: forward, central)")
    if h is not None and (isinstance(h, bool) or not isinstance(h, (int, float)) or not 0 < h < np.inf):
        raise UsageError(f"the step h must be a positive finite number, got {h!r}")
    try:
        base = {k: np.array(v, dtype=np.float64) for k, v in point.items()}
    except (TypeError, ValueError):
        raise UsageError(f"every input of the point must be a number or an array of numbers, got {dict(point)!r}") from None
    wanted = list(base) if names is None else list(names)
    for name in wanted:
        if name not in base:
            raise UnknownNameError("input", str(name), base, "(not in the point)")

    def total(values: dict[str, Any]) -> float:
        with np.errstate(all="ignore"):
            return float(np.sum(f(values)))

    f0 = total(base) if difference == "forward" else 0.0  # central differences never read it
    grads = {}
    for name in wanted:
        x = base[name]
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            old = float(x[k])
            step = float(step_size(old, difference)) if h is None else float(h)
            x[k] = old + step
            up = total(base)
            if difference == "forward":
                taken = (float(x[k]) - old) if h is None else step
                g[k] = (up - f0) / taken
            else:
                x[k] = old - step
                down = total(base)
                taken = (old + step) - (old - step) if h is None else 2 * step
                g[k] = (up - down) / taken
            x[k] = old
        grads[name] = g if g.ndim else float(g)
    return grads
