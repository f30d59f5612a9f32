"""Circuits over data larger than memory: dask arrays, chunk by chunk, lazily.

Every chunk goes through the ordinary numpy engine (``circuit.forward(...).backward()``),
so what runs on one chunk is exactly what runs in memory; dask only schedules the chunks,
on its default scheduler or on a ``dask.distributed`` cluster (:func:`client`). Nothing is
computed until the user asks (``dask.compute(out, grads)``): the results are dask arrays.

- :func:`evaluate` gives the output at every point; :func:`gradient` gives it with the
  gradient of every input. An input given as a dask (or numpy) array varies by point and
  gets a gradient per point; an input given as a number is shared by every point and
  gets the sum of its per-point gradients, reduced in dask, chunk by chunk.
- :func:`objective` turns a circuit and its data into a circuit of the shared inputs
  alone whose output is the sum (or mean) over every point: ``gatekit.optimize`` then
  climbs it with a full-batch gradient reduced over the chunks (:func:`optimize`).

Needs the ``dask`` extra: ``pip install 'gatekit[dask]'``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import MissingExtraError, UnknownNameError, UsageError
from .arrays import is_foreign, library_name
from .full_pass import batch_backward, batch_forward, candidates
from .values import as_input

try:
    import dask
    import dask.array as da
except ImportError:  # pragma: no cover - the extra is part of `make test`
    raise MissingExtraError("gatekit.dask (circuits over chunked data)", "dask", "dask") from None

if TYPE_CHECKING:
    from .circuit import Circuit
    from .optimize import Result

__all__ = ["evaluate", "gradient", "objective", "optimize", "client", "split_inputs"]


def split_inputs(
    circuit: Circuit, values: Mapping[str, Any] | None, chunks: Any = "auto"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(per-point inputs as dask arrays of one shape and chunking, shared inputs as numbers)``.

    Names are checked as ``circuit.forward`` checks them; missing inputs take the
    circuit's defaults. A numpy array becomes a dask array of ``chunks``; arrays of
    different shapes are broadcast against each other (their gradients are summed back).
    """
    given = dict(values or {})
    for name in given:
        if name not in circuit.input_ids:
            raise UnknownNameError("input", name, circuit.input_ids, "(not an input of this circuit)")
    arrays: dict[str, Any] = {}
    shared: dict[str, Any] = {}
    for name in circuit.inputs:
        if name in given:
            value = given[name]
        elif name in circuit.defaults:
            value = circuit.defaults[name]
        else:
            raise UsageError(f"no value for input {name!r}; the circuit needs {', '.join(circuit.inputs)}")
        if isinstance(value, da.Array):
            if value.dtype.kind not in "iuf":
                raise UsageError(f"input {name!r} must be a dask array of real numbers, got dtype {value.dtype}")
            arrays[name] = value
            continue
        value = as_input(name, value)  # one set of value rules: numbers, numpy arrays
        if is_foreign(value):  # a CuPy or JAX array, say: chunks here are numpy's
            raise UsageError(f"input {name!r} is an array of {library_name(value)}; gatekit.dask spreads dask or numpy "
                             "arrays over chunks (circuit.gradient runs on any array library directly)")
        if isinstance(value, np.ndarray):
            arrays[name] = da.from_array(value, chunks=chunks)
        else:
            shared[name] = value
    if not arrays:
        raise UsageError(
            "no input is an array, so there are no points to spread over chunks; give at least one input "
            "as a dask or numpy array (or use circuit.forward for one point)"
        )
    return arrays, shared


def _aligned(arrays: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """The arrays broadcast to one shape, chunked as the most chunked of them, and each one's own shape."""
    shapes = {name: tuple(a.shape) for name, a in arrays.items()}
    try:
        broadcast = da.broadcast_arrays(*arrays.values())
    except ValueError:
        shown = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise UsageError(f"the array inputs do not broadcast against each other: {shown}") from None
    target = max(broadcast, key=lambda a: a.npartitions).chunks
    return {name: a.rechunk(target) for name, a in zip(arrays, broadcast)}, shapes


def _dtype(arrays: dict[str, Any]) -> np.dtype:
    """The engine's dtype rule, ahead of time: floats keep theirs, everything else is float64."""
    kinds = [a.dtype if a.dtype.kind == "f" else np.dtype(np.float64) for a in arrays.values()]
    return np.result_type(*kinds)


def _block_values(names: tuple[str, ...], blocks: tuple[np.ndarray, ...], shared: Mapping[str, Any]) -> dict[str, Any]:
    return {**dict(zip(names, blocks)), **shared}


def _forward_block(*blocks: np.ndarray, circuit: Circuit, names: tuple[str, ...], shared: Mapping[str, Any],
                   out_dtype: np.dtype) -> np.ndarray:
    out = circuit(_block_values(names, blocks, shared))
    return np.broadcast_to(np.asarray(out, dtype=out_dtype), blocks[0].shape)


def _pass_block(*blocks: np.ndarray, circuit: Circuit, names: tuple[str, ...],
                shared: Mapping[str, Any]) -> tuple[tuple[int, ...], Any, dict[str, Any]]:
    """One chunk, forward and backward: ``(its shape, the output, every input's gradient)``.

    A chunk of Python objects, not of numbers: the arrays below take each result out of
    it, so that one engine pass serves the output and every gradient. A shared input's
    gradient is already the chunk's sum (the engine sums a broadcast gradient).
    """
    trace = circuit.forward(_block_values(names, blocks, shared)).backward()
    return blocks[0].shape, trace.output, trace.input_grads()


def _take_output(result: tuple[tuple[int, ...], Any, dict[str, Any]], out_dtype: np.dtype) -> np.ndarray:
    shape, out, _ = result
    return np.broadcast_to(np.asarray(out, dtype=out_dtype), shape)  # a constant output spread over the chunk


def _take_grad(result: tuple[tuple[int, ...], Any, dict[str, Any]], input_name: str, out_dtype: np.dtype,
               per_point: bool) -> np.ndarray:
    shape, _, grads = result
    grad = np.asarray(grads[input_name], dtype=out_dtype)
    # A shared input's partial sum as a chunk of one number in every dimension, summed in dask.
    return np.broadcast_to(grad, shape) if per_point else grad.reshape((1,) * len(shape))


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """A gradient over the broadcast shape, summed back to an input's own shape (in dask)."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and grad.shape[k] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def evaluate(circuit: Circuit, values: Mapping[str, Any] | None = None, *, chunks: Any = "auto",
             **kwargs: Any) -> Any:
    """The circuit's output at every point, as a lazy dask array (one engine pass per chunk)."""
    arrays, shared = split_inputs(circuit, {**(values or {}), **kwargs}, chunks)
    aligned, _ = _aligned(arrays)
    dtype = _dtype(arrays)
    names = tuple(aligned)
    return da.map_blocks(_forward_block, *aligned.values(), circuit=circuit, names=names, shared=shared,
                         out_dtype=dtype, dtype=dtype, meta=np.empty((0,) * next(iter(aligned.values())).ndim, dtype=dtype))


def gradient(circuit: Circuit, values: Mapping[str, Any] | None = None, *, chunks: Any = "auto",
             **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """``(output, {input: gradient})`` at every point, lazily: dask arrays, nothing computed yet.

    A per-point input's gradient has its shape; a shared input's gradient is a 0-d dask
    array, the sum over every point (each chunk's sum, then a tree of sums in dask).
    Compute them together (``dask.compute(out, grads)``), so that each chunk's forward
    and backward pass runs once for all of them.
    """
    arrays, shared = split_inputs(circuit, {**(values or {}), **kwargs}, chunks)
    aligned, shapes = _aligned(arrays)
    dtype = _dtype(arrays)
    first = next(iter(aligned.values()))
    ndim = first.ndim
    passes = da.map_blocks(_pass_block, *aligned.values(), circuit=circuit, names=tuple(aligned), shared=shared,
                           dtype=object, meta=np.empty((0,) * ndim, dtype=object))
    meta = np.empty((0,) * ndim, dtype=dtype)
    out = passes.map_blocks(_take_output, out_dtype=dtype, dtype=dtype, meta=meta)
    grads = {}
    for name in circuit.inputs:
        if name in shapes:
            grad = passes.map_blocks(_take_grad, input_name=name, out_dtype=dtype, per_point=True, dtype=dtype, meta=meta)
            grads[name] = _sum_to_shape(grad, shapes[name])
        else:
            ones = tuple((1,) * len(c) for c in passes.chunks)
            partial = passes.map_blocks(_take_grad, input_name=name, out_dtype=dtype, per_point=False, dtype=dtype,
                                        meta=meta, chunks=ones)
            grads[name] = partial.sum()
    return out, grads


# -- a full batch as one circuit ------------------------------------------------------------------


class _BatchGate:
    """The circuit summed (or averaged) over every point of the data, as a gate of the shared inputs.

    Forward and backward at the same parameters share one dask pass: forward computes the
    gradient too and keeps it (a memo keyed by the parameters, not state that changes the
    answer), since every gradient strategy asks for both.
    """

    symbol = None
    grad_doc = "the circuit's gradient, summed over every point in dask"

    def __init__(self, circuit: Circuit, data: Mapping[str, Any], params: tuple[str, ...], mean: bool,
                 chunks: Any):
        self.circuit, self.data, self.params, self.mean, self.chunks = circuit, dict(data), params, mean, chunks
        self.name = "batch-" + ("mean" if mean else "sum")
        self.arity = len(params)
        self.doc = f"{self.name}(" + ", ".join(params) + ") over every point of the data"
        self._lock = threading.Lock()
        self._memo: tuple[tuple[float, ...], float, tuple[float, ...]] | None = None
        self.passes = 0  #: full passes over the data, for the curious and for tests

    def _at(self, params: tuple[float, ...]) -> tuple[float, tuple[float, ...]]:
        with self._lock:
            if self._memo is not None and self._memo[0] == params:
                return self._memo[1], self._memo[2]
        out, grads = gradient(self.circuit, {**self.data, **dict(zip(self.params, params))}, chunks=self.chunks)
        n = out.size
        total, *sums = dask.compute(out.sum(), *(grads[name] for name in self.params))
        scale = 1.0 / n if self.mean else 1.0
        result = float(total) * scale, tuple(float(g) * scale for g in sums)
        with self._lock:
            self.passes += 1
            self._memo = (params, *result)
        return result

    def _point(self, xs: tuple[Any, ...]) -> tuple[float, tuple[float, ...]]:
        return self._at(tuple(float(x) for x in xs))

    def forward(self, *xs: Any) -> Any:
        return batch_forward(self._point, xs, candidates(xs))  # candidates (arrays): one full pass each

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        return batch_backward(self._point, grad, xs, candidates(xs))


def objective(circuit: Circuit, data: Mapping[str, Any], *, reduce: str = "mean", chunks: Any = "auto") -> Circuit:
    """A circuit of the inputs not in ``data`` whose output is ``circuit`` reduced over every point.

    ``data`` maps inputs to dask (or numpy) arrays of points; ``reduce`` is "mean" or
    "sum". Its forward is one pass over the data and its backward reads the gradient
    that pass reduced over the chunks (a full-batch gradient), so every gatekit strategy
    runs on it: ``gatekit.optimize(objective(circuit, data), start, "adam")``.
    """
    from .compose import Composer
    from .registry import Registry

    if reduce not in ("mean", "sum"):
        raise UsageError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
    for name in data:
        if name not in circuit.input_ids:
            raise UnknownNameError("input", name, circuit.input_ids, "(not an input of this circuit)")
    params = tuple(name for name in circuit.inputs if name not in data)
    if not params:
        raise UsageError("every input is data: leave at least one input out of data to optimize it")
    gate = _BatchGate(circuit, data, params, reduce == "mean", chunks)
    registry = Registry()  # the one gate, and the circuit's strategies (gatekit.optimize looks there)
    registry.add_gate(gate, "gatekit.dask")
    for entry in circuit.registry.iter_entries("strategy"):
        registry.add_strategy(entry.obj, entry.plugin)
    c = Composer(registry)
    wires = c.inputs(*params)
    defaults = {name: circuit.defaults[name] for name in params if name in circuit.defaults}
    return c.build(c.gate(gate.name, *wires), defaults=defaults or None)


def optimize(circuit: Circuit, data: Mapping[str, Any], start: Mapping[str, Any] | None = None,
             strategy: Any = "analytic-gradient", *, reduce: str = "mean", chunks: Any = "auto",
             **settings: Any) -> Result:
    """``gatekit.optimize`` on :func:`objective`: the shared inputs, climbed on the whole data set.

    ``settings`` are ``gatekit.optimize``'s (``steps``, ``maximize``, ``seed``, ...) and the
    strategy's options; the strategies are ``circuit``'s registry's.
    """
    from .optimize import optimize as optimize_inputs

    return optimize_inputs(objective(circuit, data, reduce=reduce, chunks=chunks), start, strategy, **settings)


# -- where the chunks run -------------------------------------------------------------------------


def client(address: str | None = None, *, workers: int = 2, threads: int = 1, processes: bool = False,
           memory_limit: str = "1GiB") -> Any:
    """A ``dask.distributed`` client: to the scheduler at ``address``, or to a local cluster started here.

    The local cluster has ``workers`` workers of ``threads`` threads each (threads in this
    process by default; ``processes=True`` for separate processes). The client becomes
    dask's default scheduler until it is closed (use it as a context manager).
    """
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the extra is part of `make test`
        raise MissingExtraError("a dask cluster", "distributed", "dask") from None
    if address is not None:
        return Client(address)
    # Made by the client, so the client owns the LocalCluster and closing one closes both.
    return Client(n_workers=workers, threads_per_worker=threads, processes=processes, memory_limit=memory_limit,
                  dashboard_address=None)
