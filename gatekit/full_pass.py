"""Gates whose every evaluation is a full pass over a data set: a batch of candidates, one pass each.

:mod:`gatekit.dask`'s objective and :mod:`gatekit.dask_train`'s full-batch loss are gates
of a few scalar parameters whose value and gradient at one point cost a whole pass
over chunked data. A search strategy scores its candidates in one vectorised call
(``problem.scores``), so the parameters arrive as arrays, one element a candidate: the
gate cannot broadcast a pass, so it makes one per candidate and lays the results out
in the candidates' shape. That job is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["candidates", "batch_forward", "batch_backward"]

#: What a full pass gives at one point: the value, the gradient of each parameter, and
#: anything else the gate keeps (the loss gate's accuracy).
PassAt = Callable[[tuple[Any, ...]], tuple[Any, ...]]


def candidates(xs: tuple[Any, ...]) -> list[tuple[float, ...]] | None:
    """The candidate points in ``xs`` (arrays broadcast together, C order), or None for one point."""
    if not any(np.ndim(x) for x in xs):
        return None
    shape = np.broadcast_shapes(*(np.shape(x) for x in xs))
    columns = [np.broadcast_to(np.asarray(x, dtype=np.float64), shape).ravel() for x in xs]
    return [tuple(float(column[k]) for column in columns) for k in range(columns[0].size)]


def batch_forward(at: PassAt, xs: tuple[Any, ...], batch: list[tuple[float, ...]] | None) -> Any:
    """The value at ``xs`` (``batch``: its :func:`candidates`, None for one point), a pass a candidate."""
    if batch is None:
        return at(xs)[0]
    shape = np.broadcast_shapes(*(np.shape(x) for x in xs))
    return np.array([at(point)[0] for point in batch]).reshape(shape)


def batch_backward(at: PassAt, grad: Any, xs: tuple[Any, ...], batch: list[tuple[float, ...]] | None) -> tuple[Any, ...]:
    """Each parameter's gradient at ``xs`` times ``grad``, in the candidates' shape (a pass a candidate, or memoised)."""
    if batch is None:
        return tuple(grad * g for g in at(xs)[1])
    shape = np.broadcast_shapes(*(np.shape(x) for x in xs))
    rows = np.array([at(point)[1] for point in batch])  # (candidates, parameters)
    return tuple(np.asarray(grad) * rows[:, j].reshape(shape) for j in range(len(xs)))
