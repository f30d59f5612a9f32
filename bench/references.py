"""The references gatekit is measured against, each computing exactly what gatekit does.

- ``python_*``: the circuit written out by hand in plain Python floats, with the
  backward pass derived by hand (W1-W3).
- ``numpy_*``: the same, on numpy arrays (W4a, W4b).
- ``micrograd_*``: micrograd 0.1.0 from PyPI (W1-W3). It has no exp, tanh or max, so
  they are added below in its own style (a new Value whose ``_backward`` adds the local
  gradient), as its README's lecture does. Its topological sort recurses, so W2 needs
  the recursion limit raised (done by :func:`micrograd_chain`).

Every function returns ``(output, [gradient of each input, in the workload's order])``.
Max splits the gradient evenly at a tie, as gatekit's ``max`` does.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from workloads import EXP_SCALE, Workload

__all__ = [
    "python_neuron", "python_chain", "python_chain_dicts", "python_dag",
    "numpy_neuron", "numpy_neuron_tight", "numpy_dag", "python_w5",
    "micrograd_neuron", "micrograd_chain", "micrograd_dag",
]


# -- plain Python floats -------------------------------------------------------------------

def python_neuron(w0: float, x0: float, w1: float, x1: float, w2: float) -> tuple[float, list[float]]:
    mult1 = w0 * x0
    mult2 = w1 * x1
    add1 = mult1 + mult2
    add2 = add1 + w2
    neg = -add2
    exp1 = math.exp(neg)
    add3 = 1.0 + exp1
    f = 1.0 / add3
    d_add3 = -f * f  # d(1/u)/du = -1/u**2
    d_neg = d_add3 * exp1
    d_add2 = -d_neg  # = d_add1 = d_mult1 = d_mult2 = d_w2
    return f, [d_add2 * x0, d_add2 * w0, d_add2 * x1, d_add2 * w1, d_add2]


def _chain_loop(n: int, x0: float, a: Any, b: Any) -> tuple[float, float, list[float], list[float]]:
    """W2 by hand: the output, d/dx0, and the gradients of every a_i and b_i."""
    xs = [x0] * (n + 1)  # xs[i] is the value entering link i
    tanh = math.tanh
    x = x0
    for i in range(n):
        x = tanh(a[i] * x + b[i])
        xs[i + 1] = x
    da, db = [0.0] * n, [0.0] * n
    g = 1.0
    for i in range(n - 1, -1, -1):
        t = xs[i + 1]
        dz = g * (1.0 - t * t)
        da[i] = dz * xs[i]
        db[i] = dz
        g = dz * a[i]
    return x, g, da, db


def python_chain(w: Workload) -> tuple[float, list[float]]:
    n = w.links
    x, g, da, db = _chain_loop(n, w.values[0], w.values[1 : n + 1], w.values[n + 1 :])
    return x, [g, *da, *db]


def python_chain_dicts(w: Workload, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    """W2's loop as ``gradient`` must run it: the inputs from a dict, the gradients as a dict."""
    names = list(w.names)
    xs = tuple(values.values()) if list(values) == names else tuple(values[k] for k in names)
    n = w.links
    x, g, da, db = _chain_loop(n, xs[0], xs[1 : n + 1], xs[n + 1 :])
    return x, dict(zip(names, [g, *da, *db]))


def _share(x: Any, y: Any) -> Any:
    """The part of max's gradient that goes to x: 1, 0, or 1/2 at a tie."""
    return (x > y) + 0.5 * (x == y)


def python_dag(w: Workload) -> tuple[float, list[float]]:
    v = list(w.values)
    exp = math.exp
    for op, a, b in w.ops:
        if op == "mul":
            v.append(v[a] * v[b])
        elif op == "add":
            v.append(v[a] + v[b])
        elif op == "max":
            v.append(v[a] if v[a] > v[b] else v[b])
        else:
            v.append(exp(EXP_SCALE * v[a]))
    out = sum(v[-w.summed :])
    g = [0.0] * len(v)
    for i in range(len(v) - w.summed, len(v)):
        g[i] = 1.0
    base = len(w.values)
    for k in range(len(w.ops) - 1, -1, -1):
        op, a, b = w.ops[k]
        gi = g[base + k]
        if op == "mul":
            g[a] += gi * v[b]
            g[b] += gi * v[a]
        elif op == "add":
            g[a] += gi
            g[b] += gi
        elif op == "max":
            s = _share(v[a], v[b])
            g[a] += gi * s
            g[b] += gi * (1.0 - s)
        else:
            g[a] += gi * v[base + k] * EXP_SCALE
    return out, g[:base]


# -- numpy -----------------------------------------------------------------------------------

def numpy_neuron(w: Workload) -> tuple[np.ndarray, list[np.ndarray]]:
    w0, x0, w1, x1, w2 = w.values
    mult1 = w0 * x0
    mult2 = w1 * x1
    add1 = mult1 + mult2
    add2 = add1 + w2
    neg = -add2
    exp1 = np.exp(neg)
    add3 = 1.0 + exp1
    f = 1.0 / add3
    d_add3 = -f * f
    d_neg = d_add3 * exp1
    d_add2 = -d_neg
    return f, [d_add2 * x0, d_add2 * w0, d_add2 * x1, d_add2 * w1, d_add2]


def numpy_neuron_tight(w: Workload) -> tuple[np.ndarray, list[np.ndarray]]:
    """W4a as a numpy expert writes it: each product once, in place wherever a buffer is free."""
    w0, x0, w1, x1, w2 = w.values
    z = w0 * x0
    tmp = w1 * x1
    z += tmp
    z += w2
    np.negative(z, out=z)
    np.exp(z, out=z)  # z = e = exp(-(w0*x0 + w1*x1 + w2))
    f = z + 1.0
    np.reciprocal(f, out=f)  # f = 1 / (1 + e)
    g = f * f
    g *= z  # d/d(w0*x0 + w1*x1 + w2) = f**2 * e
    return f, [np.multiply(g, x0, out=tmp), g * w0, g * x1, g * w1, g]


def python_w5(xs: list[float]) -> tuple[float, list[float]]:
    """W5: f = sum x_i x_(i+1), and its gradient, by hand."""
    n = len(xs)
    out = sum(xs[i] * xs[i + 1] for i in range(n - 1))
    g = [0.0] * n
    for i in range(n - 1):
        g[i] += xs[i + 1]
        g[i + 1] += xs[i]
    return out, g


def numpy_dag(w: Workload) -> tuple[np.ndarray, list[np.ndarray]]:
    v = list(w.values)
    for op, a, b in w.ops:
        if op == "mul":
            v.append(v[a] * v[b])
        elif op == "add":
            v.append(v[a] + v[b])
        elif op == "max":
            v.append(np.maximum(v[a], v[b]))
        else:
            v.append(np.exp(EXP_SCALE * v[a]))
    last = v[-w.summed :]
    out = last[0]
    for x in last[1:]:
        out = out + x
    g: list[Any] = [None] * len(v)
    ones = np.ones_like(out)
    for i in range(len(v) - w.summed, len(v)):
        g[i] = ones

    def add(i: int, grad: np.ndarray) -> None:
        g[i] = grad if g[i] is None else g[i] + grad

    base = len(w.values)
    for k in range(len(w.ops) - 1, -1, -1):
        gi = g[base + k]
        if gi is None:
            continue
        op, a, b = w.ops[k]
        if op == "mul":
            add(a, gi * v[b])
            add(b, gi * v[a])
        elif op == "add":
            add(a, gi)
            add(b, gi)
        elif op == "max":
            s = _share(v[a], v[b])
            add(a, gi * s)
            add(b, gi * (1.0 - s))
        else:
            add(a, gi * v[base + k] * EXP_SCALE)
    zero = np.zeros_like(out)
    return out, [zero if x is None else x for x in g[:base]]


# -- micrograd -------------------------------------------------------------------------------

def _micrograd() -> Any:
    from micrograd.engine import Value

    return Value


def _exp(x: Any) -> Any:
    out = type(x)(math.exp(x.data), (x,), "exp")

    def _backward() -> None:
        x.grad += out.data * out.grad

    out._backward = _backward
    return out


def _tanh(x: Any) -> Any:
    t = math.tanh(x.data)
    out = type(x)(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


def _max(x: Any, y: Any) -> Any:
    out = type(x)(x.data if x.data > y.data else y.data, (x, y), "max")

    def _backward() -> None:
        s = _share(x.data, y.data)
        x.grad += s * out.grad
        y.grad += (1.0 - s) * out.grad

    out._backward = _backward
    return out


def micrograd_neuron(w0: float, x0: float, w1: float, x1: float, w2: float) -> tuple[float, list[float]]:
    Value = _micrograd()
    ins = [Value(w0), Value(x0), Value(w1), Value(x1), Value(w2)]
    vw0, vx0, vw1, vx1, vw2 = ins
    f = (1 + _exp(-(vw0 * vx0 + vw1 * vx1 + vw2))) ** -1
    f.backward()
    return f.data, [v.grad for v in ins]


def micrograd_chain(w: Workload) -> tuple[float, list[float]]:
    Value = _micrograd()
    # micrograd's topological sort recurses once per node on the path: 3 per link.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * w.links + 1000))
    ins = [Value(x) for x in w.values]
    n = w.links
    x, a, b = ins[0], ins[1 : n + 1], ins[n + 1 :]
    for i in range(n):
        x = _tanh(a[i] * x + b[i])
    x.backward()
    return x.data, [v.grad for v in ins]


def micrograd_dag(w: Workload) -> tuple[float, list[float]]:
    Value = _micrograd()
    ins = [Value(x) for x in w.values]
    v = list(ins)
    for op, a, b in w.ops:
        if op == "mul":
            v.append(v[a] * v[b])
        elif op == "add":
            v.append(v[a] + v[b])
        elif op == "max":
            v.append(_max(v[a], v[b]))
        else:
            v.append(_exp(v[a] * EXP_SCALE))
    last = v[-w.summed :]
    out = last[0]
    for x in last[1:]:
        out = out + x
    out.backward()
    return out.data, [x.grad for x in ins]
