"""``linear``: a layer in one gate, ``W @ x + b`` for a vector or for each row of a batch.

``linear(W, x, b)`` is ``W @ x + b`` for a vector ``x`` of shape ``(in,)`` and
``x @ W.T + b`` for a batch of shape ``(n, in)``: ``W`` has shape ``(out, in)`` and
``b`` shape ``(out,)`` (or one number for all outputs), or ``W`` is a vector ``(in,)``
for a layer of one output (a dot product: one number per point, what a hinge loss
wants) and ``b`` one number. ``linear(W, x, 0)`` is the bare matrix product.
Backward is the usual products: ``dW = grad^T x`` and ``db = grad``, both summed over
the batch, and ``dx = grad W``. The gate brings each gradient to its input's shape
itself: W, x and b do not broadcast against each other, so the engine's broadcast
rule has nothing to add here. Arrays of another library compute in it; float32 stays
float32 in any library.
"""

from __future__ import annotations

import numpy as np

from gatekit import Domain, Gate, Source, UsageError, array_namespace
from gatekit.arrays import is_foreign


def _check(w, x, b):
    ws, xs, bs = np.shape(w), np.shape(x), np.shape(b)
    if not _fits(ws, xs, bs):
        raise UsageError(
            "linear(W, x, b) needs W of shape (out, in) or (in,), x of shape (in,) or (n, in) with the same in, "
            f"and b of shape (out,) or one number; got W {ws}, x {xs} and b {bs}"
        )


def _fits(ws, xs, bs):
    out = ws[:1] if len(ws) == 2 else ()
    return len(ws) in (1, 2) and len(xs) in (1, 2) and xs[-1] == ws[-1] and bs in ((), (1,), out)


def _summed_to(xp, grad, shape):
    """``grad`` summed over the leading (batch) axes and any axis ``shape`` has as 1."""
    while grad.ndim > len(shape):
        # np.add.reduce is what np.sum calls, without its Python layers (a third of a small sum).
        grad = np.add.reduce(grad, 0) if xp is np else xp.sum(grad, axis=0)
    if shape and grad.shape != shape:
        grad = xp.sum(grad, axis=tuple(k for k, s in enumerate(shape) if s == 1), keepdims=True)
    return grad if shape or xp is not np else float(grad)


class Linear(Gate):
    name, arity = "linear", 3
    doc = "linear(W, x, b) = W @ x + b (x a vector, or each row of a batch x: x @ W.T + b)"
    grad_doc = "d/dW = grad^T x, d/db = grad (both summed over the batch), d/dx = grad W"
    domain = Domain(shapes=(
        ((3, 2), (2,), (3,)), ((3, 2), (4, 2), (3,)), ((1, 3), (5, 3), (1,)), ((3,), (3,), ()),
        ((3,), (4, 3), ()), ((3, 2), (4, 2), ()),
    ))

    def forward(self, w, x, b):
        _check(w, x, b)
        return x @ (w.T if w.ndim == 2 else w) + b  # the standard's .T is for matrices only

    def backward(self, grad, out, w, x, b):
        xp = array_namespace(w, x, b)
        if xp is np:
            grad = np.asarray(grad)
            grad = grad if grad.dtype.kind == "f" else grad.astype(np.float64)  # float32 stays float32
        elif not is_foreign(grad):  # the seed, a number: in the output's shape, dtype and device
            grad = xp.zeros_like(out) + grad
        db = _summed_to(xp, grad, tuple(np.shape(b)))
        # grad has out's shape: (n, out), (out,), (n,) or () for the four cases below.
        if w.ndim == 2 and x.ndim == 2:  # a layer over a batch: the common case first
            return grad.T @ x, grad @ w, db
        if x.ndim == 1:
            if w.ndim == 2:
                return grad[:, None] * x[None, :], grad @ w, db  # the outer product, in the standard's terms
            return grad * x, grad * w, db
        return grad @ x, grad[:, None] * w, db

    def source_for_shapes(self, shapes):
        """The four cases of ``backward`` as array templates, for arguments of these shapes.

        Compiled code made for one kind of inputs asks once per kind (see
        ``gatekit.gate``), so the shape test and the choice of case are made then, not
        every call; the texts are the methods' own operations (``@``, ``np.add.reduce``
        along the batch axis), so the numbers are theirs. None for shapes the
        methods refuse, and for a bias of shape (1,) against more outputs (its sum keeps
        a dimension, which a template cannot say): the methods serve those.
        """
        ws, xs, bs = shapes
        batch, matrix = len(xs) == 2, len(ws) == 2
        if not _fits(ws, xs, bs) or (bs == (1,) and (ws[:1] if matrix else ()) != (1,)):
            return None
        forward = "x @ W.T + b" if matrix else "x @ W + b"
        if matrix and batch:
            dw, dx = "g.T @ x", "g @ W"
        elif matrix:
            dw, dx = "np.multiply.outer(g, x)", "g @ W"
        elif batch:
            dw, dx = "g @ x", "np.multiply.outer(g, W)"
        else:
            dw, dx = "g * x", "g * W"
        # db: grad (one axis for the batch, one for the outputs) summed along axis 0 down
        # to b's dimensions, one axis at a time, as _summed_to does.
        db = "g"
        for _ in range(batch + matrix - len(bs)):
            db = f"np.add.reduce({db}, 0)"
        return Source(None, args=("W", "x", "b"), array_forward=forward, array_backward=(dw, dx, db))
