"""train(): fit a model made of gates to data with any registered strategy.

::

    result = gatekit.train("moons", "mlp:16,16", "hinge", l2=1e-4, steps=100,
                           schedule=gatekit.decay(1.0, 100))
    result.accuracy[-1]    # 1.0: every training point on the right side

The loss circuit (``mean(loss(y, score)) + l2 * sum(p ** 2)``) is minimised over the
model's parameters by the loop :func:`gatekit.optimize` runs (:mod:`gatekit.runs`),
with the data held: the optimiser is any registered strategy (``analytic-gradient`` is
plain gradient descent, SGD with ``batch``), and the lesson's searches and numerical
gradient run on the same problem for comparison. Before each step the loop may hold the next minibatch (the
current point is scored again on it, 1 forward) and set the step size from a
schedule. Counts are the meter's: what the optimiser evaluated, plus the forwards
spent measuring accuracy, reported apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .datasets import Dataset, dataset
from .errors import OptionError, UsageError
from .model_file import Model
from .nn import LOSSES, Network, parse_model
from .runs import COMPILE_FROM_STEPS, check_seed, execute_run, prepare_run

if TYPE_CHECKING:
    from .circuit import Circuit
    from .problem import Problem
    from .registry import Registry

__all__ = ["train", "Training", "decay"]


def decay(start: float, steps: int, final: float = 0.1) -> Callable[[int], float]:
    """A step size falling linearly from ``start`` by ``(1 - final) * start`` over ``steps``:
    ``decay(1.0, 100)`` is the reference demo's ``1.0 - 0.9 * k / 100`` (k = 0 for the first step)."""
    return lambda k: start * (1.0 - (1.0 - final) * k / steps)


@dataclass
class Training:
    """A finished run: the trained parameters, the history, and what it cost."""

    network: Network
    loss_name: str
    l2: float
    parameters: dict[str, Any]
    l2_biases: bool
    feature_names: tuple[str, ...]
    #: At the start and after each step: the loss on that step's data, the accuracy on all of it.
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    strategy: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    seed: int = 0
    #: What the optimiser evaluated (the meter's counts), and the forwards spent on accuracy.
    forward_evals: int = 0
    backward_evals: int = 0
    accuracy_forwards: int = 0
    seconds: float = 0.0
    stop_reason: str = "steps"
    stop_detail: str | None = None

    @property
    def steps_done(self) -> int:
        return len(self.loss) - 1

    @property
    def model(self) -> Model:
        """The trained model: score circuit and parameters, ready to predict or save."""
        return Model(self.network, dict(self.parameters), self.feature_names, self.loss_name)

    def predict(self, X: Any) -> np.ndarray:
        return self.model.predict(X)

    def trace(self, X: Any, y: Any) -> Any:
        """The loss circuit's trace at the trained parameters on (X, y), gradients filled in:
        open any neuron (``trace.value("l1_n3")``, ``trace.grad("l1_n3_w1")``)."""
        circuit = self.network.loss_circuit(self.loss_name, self.l2, biases=self.l2_biases)
        values = {**self.network.data(X), "y": np.asarray(y, dtype=np.float64), **self.parameters}
        return circuit.forward(values).backward()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.network.describe(), "sizes": list(self.network.sizes), "layers": self.network.layers,
            "loss_function": self.loss_name, "l2": self.l2, "strategy": self.strategy, "options": dict(self.options),
            "batch": self.batch, "seed": self.seed, "steps": self.steps_done,
            "loss": list(self.loss), "accuracy": list(self.accuracy),
            "evaluations": {"forward": self.forward_evals, "backward": self.backward_evals,
                            "accuracy_forward": self.accuracy_forwards},
            "seconds": self.seconds, "stop_reason": self.stop_reason, "stop_detail": self.stop_detail,
        }


def _as_dataset(data: Any, n: int, seed: int) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str):
        return dataset(data, n=n, seed=seed)
    if isinstance(data, tuple) and len(data) == 2:
        X, y = (np.asarray(a, dtype=np.float64) for a in data)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise UsageError(f"data (X, y) needs X of shape (n, features) and y of shape (n,), got {X.shape} and {y.shape}")
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise UsageError("labels y must be -1 or +1 (datasets.load_table maps {0, 1} files)")
        return Dataset("data", X, y, tuple(f"x{k}" for k in range(X.shape[1])))
    raise UsageError(f"data must be a Dataset, a dataset name or a file, or a tuple (X, y); got {type(data).__name__}")


def _chunked(data: Any) -> Any:
    """``(X, y)`` with X a dask array, checked and chunked by rows (gatekit.dask_train); else None."""
    if not (isinstance(data, tuple) and len(data) == 2 and type(data[0]).__module__.partition(".")[0] == "dask"):
        return None
    from .dask_train import chunked_data  # the dask extra: imported only for data that need it

    return chunked_data(data)


def _chunked_loss(chunks: Any, network: Network, loss: str, l2: float, registry: Registry | None,
                  biases: bool) -> tuple[Any, Any]:
    from .dask_train import parameter_circuit

    return parameter_circuit(chunks, network, loss, l2, registry, biases)


def _check_batch(batch: Any, n: int) -> int | None:
    if batch is None or batch == n:
        return None
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or not 1 <= batch <= n:
        raise UsageError(f"batch must be a whole number from 1 to the {n} points of the data, got {batch!r}")
    return int(batch)


#: How many numbers one pass of the accuracy's score circuit may hold per node (points x parameter sets).
_ACCURACY_CHUNK = 4096


def _accuracies(network: Network, score: Circuit, data: Dataset, points: list[dict[str, Any]]) -> list[float]:
    """The training accuracy at each of ``points`` (parameter values), as len(points) forwards of ``score``.

    On scalar gates every parameter is a number, so several parameter sets go through in
    one vectorised pass: each parameter a column of k values against the n points, every
    node then (k, n). What it buys: a pass over ~700 gates costs about a millisecond
    whatever its arrays' size, and a run needs one per step. Layer gates take a
    parameter set at a time (``linear`` multiplies one matrix), through the score
    circuit's generated code when there are enough of them to pay for compiling it.
    """
    inputs = network.data(data.X)
    accuracy: list[float] = []
    per_pass = 1 if network.layers else max(1, _ACCURACY_CHUNK // len(data))
    run: Any = score.compile() if per_pass == 1 and len(points) >= COMPILE_FROM_STEPS else score
    for k in range(0, len(points), per_pass):
        chunk = points[k : k + per_pass]
        scores = None
        if len(chunk) > 1:
            columns = {name: np.array([p[name] for p in chunk])[:, None] for name in chunk[0]}
            scores = np.asarray(run({**inputs, **columns}), dtype=np.float64)
        if scores is None or scores.shape != (len(chunk), len(data)):
            # One at a time: a reduction among the gates (not elementwise, as the protocol
            # asks of the rest) gave another shape, having mixed the parameter sets.
            scores = np.array([np.broadcast_to(np.asarray(run({**inputs, **p}), dtype=np.float64), (len(data),))
                               for p in chunk])
        accuracy += np.mean(np.where(scores > 0, 1.0, -1.0) == data.y, axis=1).tolist()
    return accuracy


def train(
    data: Any,
    model: Network | str = "mlp:16,16",
    loss: str = "hinge",
    *,
    l2: float = 0.0,
    l2_biases: bool = True,
    strategy: Any = "analytic-gradient",
    steps: int = 100,
    batch: int | None = None,
    seed: int | None = 0,
    schedule: Callable[[int], float] | None = None,
    layers: bool = False,
    start: Mapping[str, Any] | None = None,
    budget: int | None = None,
    points: int = 100,
    registry: Registry | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **options: Any,
) -> Training:
    """Minimise ``mean(loss) + l2 * sum(p ** 2)`` of ``model`` on ``data`` with ``strategy``.

    ``data``: a :class:`~gatekit.datasets.Dataset`, a name (``moons``, ``circles``,
    ``blobs``, ``six-points``; ``points`` of them, drawn with ``seed``), a CSV/.npy
    file, or ``(X, y)``. ``model``: a :class:`~gatekit.nn.Network` or ``linear`` /
    ``mlp:16,16`` (``layers`` picks the layer-gate path; ``seed`` its start). ``(X, y)`` with
    ``X`` a dask array trains on chunks: each step's gradient is the full batch's, summed
    over the chunks in dask (:mod:`gatekit.dask_train`; ``batch`` does not apply).
    ``batch``: points per step (default all): each epoch is a fresh permutation of the
    data from ``numpy.random.default_rng([seed, 1])``, cut into batches in order (the
    last ``n % batch`` points of a permutation wait for the next one). ``schedule(k)``: the strategy's ``step_size`` at step k (from 0).
    ``start`` sets some parameters' starting values (the rest are seeded).
    ``l2_biases=False`` regularises the weights only.
    ``options`` go to the strategy (``step_size=0.5``, ``candidates=50``, ...).
    """
    seed = check_seed(seed)
    chunks = _chunked(data)  # (X, y) as dask arrays: a full-batch gradient reduced over chunks
    data = chunks if chunks is not None else _as_dataset(data, points, seed)
    features = chunks.features if chunks is not None else data.X.shape[1]
    network = model if isinstance(model, Network) else parse_model(model, features, layers=layers, seed=seed)
    if network.n_inputs != features:
        raise UsageError(f"the model takes {network.n_inputs} feature(s); the data have {features}")
    if loss not in LOSSES:
        from .errors import UnknownNameError

        raise UnknownNameError("loss", loss, LOSSES)
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not np.isfinite(l2) or l2 < 0:
        raise UsageError(f"l2 must be a number of at least 0, got {l2!r}")
    batch = _check_batch(batch, len(data))
    if chunks is not None:
        if batch is not None:
            raise UsageError("batch: data in dask chunks train on the full batch (every chunk, every step)")
        circuit, full_batch = _chunked_loss(chunks, network, loss, float(l2), registry, l2_biases)
    else:
        circuit = network.loss_circuit(loss, float(l2), registry, biases=l2_biases)
    score = network.circuit(registry)
    rng = np.random.default_rng([seed, 1])  # the minibatches' own stream, apart from the strategy's
    n = len(data)
    orders: list[np.ndarray] = []  # each step's rows: a fresh permutation of the data, batch by batch

    def rows(step: int) -> np.ndarray:
        per = n // batch  # type: ignore[operator]
        while len(orders) * per < step:
            orders.append(rng.permutation(n))
        k = step - 1
        return orders[k // per][(k % per) * batch : (k % per + 1) * batch]  # type: ignore[operator]

    def held(part: Dataset) -> dict[str, Any]:
        return {**network.data(part.X), "y": part.y}

    first = data if batch is None else data.batch(rows(1))
    params = network.initial_parameters()
    for name, value in (start or {}).items():
        if name not in params:
            from .errors import UnknownNameError

            raise UnknownNameError("parameter", name, params, "in start")
        params[name] = value
    data_names = [*network.data_names(), "y"] if chunks is None else []  # chunks: the data live in a gate
    start = {**(held(first) if chunks is None else {}), **params}
    run = prepare_run(circuit, start, strategy, steps, False, data_names, seed, budget, registry, options)
    if schedule is not None and "step_size" not in run.options:
        raise OptionError(f"strategy {run.strategy.name!r} has no step_size option, so a schedule does not apply")
    step_option = next((o for o in run.strategy.options if o.name == "step_size"), None)

    def before_step(problem: Problem, step: int) -> None:
        if schedule is not None:
            try:
                rate = step_option.parse(float(schedule(step - 1)))  # type: ignore[union-attr]
            except ValueError as exc:
                raise OptionError(f"the schedule's step_size at step {step} {exc}") from None
            problem.options = MappingProxyType({**problem.options, "step_size": rate})
        if batch is not None and step > 1:
            problem.hold(held(data.batch(rows(step))))

    began = time.perf_counter()
    result = execute_run(run, progress, before_step)
    losses = [result.start_output] + [record.output for record in result.history]
    points_seen = [result.start] + [record.point for record in result.history]  # where each loss was measured
    seen = [{name: point[name] for name in params} for point in points_seen]
    accuracy_forwards = len(seen)
    if chunks is not None:  # counted in the same passes over the chunks as the loss
        before = full_batch.passes
        accuracy = [full_batch.accuracy(point) for point in seen]
        accuracy_forwards = full_batch.passes - before  # a point no step evaluated: one pass more
    else:
        accuracy = _accuracies(network, score, data, seen)
    trained = {name: result.final[name] for name in params}
    return Training(
        network=network, loss_name=loss, l2=float(l2), parameters=trained, l2_biases=l2_biases, feature_names=data.feature_names,
        loss=losses, accuracy=accuracy, strategy=result.strategy, options=dict(result.options), batch=batch,
        seed=seed, forward_evals=result.forward_evals, backward_evals=result.backward_evals,
        accuracy_forwards=accuracy_forwards, seconds=time.perf_counter() - began,
        stop_reason=result.stop_reason, stop_detail=result.stop_detail,
    )
