"""``linear``: a matrix times a vector, or times each row of a batch (a layer in one gate).

``linear(W, x)`` is ``W @ x`` for a vector ``x`` of shape ``(in,)`` and ``x @ W.T``
for a batch of shape ``(n, in)``: ``W`` has shape ``(out, in)``, or ``(in,)`` for a
layer of one output (a dot product, one number per point: what a hinge loss wants).
Backward is the usual pair of products: ``dW = grad^T x`` (summed over the batch)
and ``dx = grad W``. Each gradient already has its input's shape, so the engine has
nothing to reduce.
"""

from __future__ import annotations

import numpy as np

from gatekit import Domain, Gate, UsageError


def _check(w, x):
    ws, xs = np.shape(w), np.shape(x)
    if len(ws) not in (1, 2) or len(xs) not in (1, 2) or xs[-1] != ws[-1]:
        raise UsageError(
            "linear(W, x) needs W of shape (out, in) or (in,) and x of shape (in,) or (n, in) with the same in; "
            f"got W of shape {ws} and x of shape {xs}"
        )


class Linear(Gate):
    name, arity = "linear", 2
    doc = "linear(W, x) = W @ x (x a vector, or each row of a batch x: x @ W.T)"
    grad_doc = "d/dW = grad^T x (summed over the batch), d/dx = grad W"
    domain = Domain(shapes=(((3, 2), (2,)), ((3, 2), (4, 2)), ((1, 3), (5, 3)), ((3,), (3,)), ((3,), (4, 3))))

    def forward(self, w, x):
        _check(w, x)
        return x @ w.T

    def backward(self, grad, out, w, x):
        # grad has out's shape: (), (out,), (n,) or (n, out) for the four cases below.
        if w.ndim == 2 and x.ndim == 2:  # a layer over a batch: the common case first
            return grad.T @ x, grad @ w
        grad = np.asarray(grad, dtype=np.float64)
        if np.ndim(x) == 1:
            return (np.outer(grad, x) if np.ndim(w) == 2 else grad * x), grad @ w if np.ndim(w) == 2 else grad * w
        return grad @ x, grad[:, None] * w
