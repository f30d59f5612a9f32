"""Training on data in chunks: :func:`gatekit.train`'s full-batch loss and gradient, reduced over dask chunks.

``gatekit.train((X, y), ...)`` with ``X`` a dask array of shape (n, features) (``y``,
shape (n,), dask or numpy) lands here. Each evaluation is one pass over the data:
every chunk of rows goes forward and backward through the per-point loss
``sum(loss(y, score))`` at the current parameters, in the ordinary engine (numpy, in
memory, one chunk at a time), giving the chunk's loss, the sum of each parameter's
gradient over its points and how many of its points are on the right side; dask adds
them up, on its default scheduler or on the ``dask.distributed`` cluster the user
started (:func:`gatekit.dask.client`). The loss is that sum over ``n``; the L2 term is
added outside, on the parameters alone. So the optimiser sees a circuit of the
parameters only, with one gate for the data (:class:`FullBatchLoss`), and every
strategy runs on it as on any circuit.

Needs the ``dask`` extra: ``pip install 'gatekit[dask]'``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .compose import Composer
from .datasets import column_index
from .errors import DataFileError, MissingExtraError, UsageError
from .full_pass import batch_backward, batch_forward, candidates
from .nn import Network, is_bias, l2, loss
from .registry import Registry

try:
    import dask
    import dask.array as da
except ImportError:  # pragma: no cover - the extra is part of `make test`
    raise MissingExtraError("training on chunked data (dask arrays)", "dask", "dask") from None

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["ChunkedData", "chunked_data", "read_table", "FullBatchLoss", "parameter_circuit"]


@dataclass(frozen=True)
class ChunkedData:
    """Points ``X`` (n, features) and labels ``y`` (n,) as dask arrays chunked by the same rows."""

    X: Any
    y: Any

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def features(self) -> int:
        return int(self.X.shape[1])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f"x{k}" for k in range(self.features))

    def blocks(self) -> list[tuple[Any, Any]]:
        """The chunks of rows, each as (its points, its labels): delayed objects, nothing computed."""
        return list(zip(self.X.to_delayed().ravel(), self.y.to_delayed().ravel()))


def chunked_data(data: tuple[Any, Any]) -> ChunkedData:
    """``(X, y)`` checked (shapes and real dtypes; labels are checked chunk by chunk) and aligned by rows."""
    X, y = data
    y = y if isinstance(y, da.Array) else da.from_array(np.asarray(y))
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise UsageError(f"data (X, y) needs X of shape (n, features) and y of shape (n,), got {X.shape} and {y.shape}")
    for name, a in (("X", X), ("y", y)):
        if a.dtype.kind not in "iuf":
            raise UsageError(f"data {name} must be a dask array of real numbers, got dtype {a.dtype}")
    # Whole rows in each chunk (a point's features together), the labels cut where the points are.
    X = X.rechunk({1: -1})
    return ChunkedData(X, y.rechunk((X.chunks[0],)))


def _fail(path: str, message: str) -> DataFileError:
    return DataFileError(f"{path}: {message}")  # the form gatekit.datasets' errors take


def read_table(path: str, label: int | str = -1, features: list[int | str] | None = None,
               chunk: int | None = None) -> tuple[Any, Any]:
    """``(X, y)`` as dask arrays from a 2-D ``.npy`` file, memory-mapped: rows of features and a label.

    Columns are chosen as :func:`gatekit.datasets.load_table` chooses them (1-based, -1 the
    last); labels are -1/+1 or 0/1 (mapped), checked in one pass over the label column.
    """
    if not path.endswith(".npy"):
        raise UsageError(f"{path}: training in chunks reads a .npy file (memory-mapped); convert a CSV first")
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _fail(path, f"is not a readable .npy array ({exc})") from None
    if table.ndim != 2 or table.dtype.kind not in "iuf" or table.shape[1] < 2:
        raise _fail(path, f"a .npy dataset is a 2-D array of numbers (rows of features and a label), "
                          f"got shape {table.shape} of {table.dtype}")
    width = table.shape[1]
    label_col = column_index(path, label, None, width)
    cols = [c for c in range(width) if c != label_col] if features is None else [
        column_index(path, f, None, width) for f in features]
    if label_col in cols:
        raise _fail(path, f"column {label_col + 1} cannot be both the label and a feature")
    whole = da.from_array(table, chunks=(chunk or "auto", -1))
    raw = whole[:, label_col]
    outside, zeros, minus = dask.compute(
        (~da.isin(raw, [-1.0, 0.0, 1.0])).any(), (raw == 0).any(), (raw == -1).any())
    if outside or (zeros and minus):
        raise _fail(path, f"column {label_col + 1}: labels must be all in {{-1, +1}} or all in {{0, 1}}")
    return whole[:, cols].astype(np.float64), da.where(raw > 0, 1.0, -1.0)


def _chunk_pass(X: np.ndarray, y: np.ndarray, circuit: Circuit, network: Network,
                params: Mapping[str, Any]) -> tuple[float, dict[str, Any], int]:
    """One chunk through the per-point loss: (its loss sum, each parameter's gradient sum, points right)."""
    y = np.asarray(y, dtype=np.float64)
    if not np.all((y == 1.0) | (y == -1.0)):
        raise UsageError("labels y must be -1 or +1 (datasets.load_table maps {0, 1} files)")
    trace = circuit.forward({**network.data(X), "y": y, **params}).backward()
    grads = trace.input_grads()
    right = int(np.sum(np.where(np.asarray(trace.value("score")) > 0, 1.0, -1.0) == y))
    return float(trace.output), {name: grads[name] for name in params}, right


def _add_up(parts: list[tuple[float, dict[str, Any], int]]) -> tuple[float, dict[str, Any], int]:
    total, grads, right = parts[0][0], dict(parts[0][1]), parts[0][2]
    for part_total, part_grads, part_right in parts[1:]:
        total += part_total
        right += part_right
        for name, g in part_grads.items():
            grads[name] = grads[name] + g
    return total, grads, right


#: Parameter points the memo keeps: forward and backward at one point come together (a
#: search strategy's batch a few at a time), so a long run needs no more than these.
_MEMO_POINTS = 16


class FullBatchLoss:
    """The mean per-point loss over every chunk, as one gate of the parameters.

    Forward and backward at the same parameters share one pass over the data (a memo of
    the last few points, keyed by the parameters' values, not state that changes an answer), which also
    counts the points on the right side, for :meth:`accuracy`.
    """

    symbol = None
    name = "full-batch-loss"
    grad_doc = "the per-point loss's gradient, summed over every chunk in dask, over n"

    def __init__(self, data: ChunkedData, network: Network, loss_name: str, registry: Registry | None):
        c = Composer(registry)
        wires = {name: c.input(name) for name in network.data_names()}
        y = c.input("y")
        score = network.score(c, wires).named("score")
        self.circuit = c.build(c.sum(loss(c, loss_name, y, score)), keep_inputs=True)
        # The parameters in the order train()'s loss circuit declares them (a strategy's point follows it).
        self.names = tuple(name for name in self.circuit.inputs if name not in (*network.data_names(), "y"))
        shapes = {name: np.shape(value) for name, value in network.initial_parameters().items()}
        self.data, self.network, self.shapes = data, network, {name: shapes[name] for name in self.names}
        self.arity = len(self.names)
        self.doc = f"mean {loss_name} loss over the {len(data)} points, in chunks"
        self._lock = threading.Lock()
        self._memo: dict[bytes, tuple[float, tuple[Any, ...], float]] = {}
        self.passes = 0  #: full passes over the data, for the curious and for tests

    def _key(self, params: tuple[Any, ...]) -> bytes:
        return b"|".join(np.asarray(p, dtype=np.float64).tobytes() for p in params)

    def _at(self, params: tuple[Any, ...]) -> tuple[float, tuple[Any, ...], float]:
        key = self._key(params)
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        values = {name: p if np.ndim(p) else float(p) for name, p in zip(self.names, params)}
        parts = [dask.delayed(_chunk_pass, pure=False)(X, y, self.circuit, self.network, values)
                 for X, y in self.data.blocks()]
        total, grads, right = dask.compute(dask.delayed(_add_up, pure=False)(parts))[0]
        n = len(self.data)
        result = total / n, tuple(grads[name] / n for name in self.names), right / n
        with self._lock:
            self.passes += 1
            self._memo[key] = result
            while len(self._memo) > _MEMO_POINTS:  # the oldest first (a dict keeps insertion order)
                del self._memo[next(iter(self._memo))]
        return result

    def accuracy(self, params: Mapping[str, Any]) -> float:
        """The share of points on the right side at ``params`` (a pass, unless already made)."""
        return self._at(tuple(params[name] for name in self.names))[2]

    def _candidates(self, xs: tuple[Any, ...]) -> list[tuple[float, ...]] | None:
        """Scalar parameters given as arrays are candidates (a search strategy's batch): one pass each."""
        if any(self.shapes[name] for name in self.names):
            return None  # array parameters (a layer's weights): the arrays are one point
        return candidates(xs)

    def forward(self, *xs: Any) -> Any:
        return batch_forward(self._at, xs, self._candidates(xs))

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        return batch_backward(self._at, grad, xs, self._candidates(xs))


def parameter_circuit(data: ChunkedData, network: Network, loss_name: str, alpha: float,
                      registry: Registry | None, biases: bool) -> tuple[Circuit, FullBatchLoss]:
    """``full-batch-loss(params) + alpha * sum(p ** 2)``: train()'s loss circuit, its data in chunks."""
    from .plugins import default_registry

    source = registry if registry is not None else default_registry()
    gate = FullBatchLoss(data, network, loss_name, registry)
    names = gate.names
    # The gate beside every gate and strategy of the registry (optimize looks strategies up there).
    local = Registry()
    for kind, add in (("gate", local.add_gate), ("strategy", local.add_strategy)):
        for entry in source.iter_entries(kind):
            add(entry.obj, entry.plugin)
    local.add_gate(gate, "gatekit.dask_train")
    c = Composer(local)
    wires = dict(zip(names, c.inputs(*names)))
    total = c.gate(gate.name, *wires.values()).named("data_loss")
    if alpha:
        kept = [wire for name, wire in wires.items() if biases or not is_bias(name)]
        total = (total + alpha * l2(c, kept)).named("loss")
    return c.build(total, keep_inputs=True), gate
