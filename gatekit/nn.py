"""Models made of gates: a neuron, a layer and an MLP, composed as circuits of registered gates.

Two ways to build the same network, with the same parameters and the same numbers:

- **scalar gates** (``layers=False``): every weight is a named input (``l2_n7_w3`` is
  layer 2, neuron 7, weight 3; ``l2_n7_b`` its bias) and every neuron is a chain of
  ``mul`` and ``add`` gates and its activation, labelled ``l2_n7``, so a learner can
  open any neuron of a trained network and read its values and gradients in a trace.
  The data come in as one input per feature (``x0``, ``x1``), each an array of points.
- **layer gates** (``layers=True``): one ``linear(W, x, b)`` gate per layer (``W2`` of
  shape (out, in), ``b2`` of shape (out,)), the data as one input ``X`` of shape (n, in).
  22 gates instead of 1,319: the fast path.

The last layer has no activation and one output: the score, one number per point
(its weights are a vector ``W3`` of shape (in,), its bias a number ``b3``). Weights
start uniform in [-1, 1) from ``numpy.random.default_rng(seed)``, layer by layer, each
as an (out, in) matrix; biases start at 0. Losses (:func:`loss`) and L2 regularisation
(:func:`l2`) are composites of registered gates too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .compose import Composer, Wire
from .errors import UsageError, UnknownNameError

if TYPE_CHECKING:
    from .circuit import Circuit
    from .registry import Registry

__all__ = ["Network", "mlp", "linear_model", "parse_model", "neuron", "layer", "dense", "loss", "l2", "LOSSES"]


# -- scalar gates -------------------------------------------------------------------------------


def neuron(c: Composer, inputs: Sequence[Wire], name: str, activation: str | None = "relu",
           params: dict[str, Wire] | None = None) -> Wire:
    """``activation(w1*x1 + ... + wk*xk + b)`` with parameter inputs ``{name}_w1..`` and ``{name}_b``.

    The sum is labelled ``{name}_sum`` and the neuron's output ``name``. The parameter
    wires go into ``params`` by name when given (to regularise them, say).
    """
    names = [f"{name}_w{i}" for i in range(1, len(inputs) + 1)] + [f"{name}_b"]
    wires = [c.input(n) for n in names]
    if params is not None:
        params.update(zip(names, wires))
    weights, total = wires[:-1], wires[-1]
    for w, x in zip(weights, inputs):
        total = total + w * x
    if activation is None:
        return total.named(name)
    total.named(f"{name}_sum")
    return c.gate(activation, total, label=name)


def layer(c: Composer, inputs: Sequence[Wire], size: int, name: str, activation: str | None = "relu",
          params: dict[str, Wire] | None = None) -> list[Wire]:
    """``size`` neurons over the same inputs, named ``{name}_n1``, ``{name}_n2``, ..."""
    return [neuron(c, inputs, f"{name}_n{j}", activation, params) for j in range(1, size + 1)]


# -- layer gates --------------------------------------------------------------------------------


def dense(c: Composer, x: Wire, name: str, activation: str | None = "relu",
          params: dict[str, Wire] | None = None) -> Wire:
    """``activation(linear(W, x, b))`` with parameter inputs ``W{name}`` and ``b{name}``, labelled ``layer{name}``."""
    weights, bias = c.input(f"W{name}"), c.input(f"b{name}")
    if params is not None:
        params.update({f"W{name}": weights, f"b{name}": bias})
    out = c.linear(weights, x, bias)
    if activation is None:
        return out.named(f"layer{name}")
    return c.gate(activation, out, label=f"layer{name}")


# -- the network ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """An MLP as a recipe: ``sizes`` from the inputs to the one output, e.g. (2, 16, 16, 1)."""

    sizes: tuple[int, ...]
    layers: bool = False
    activation: str = "relu"
    seed: int = 0

    def __post_init__(self) -> None:
        sizes = self.sizes
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise UsageError(f"an MLP needs sizes like (2, 16, 16, 1): whole numbers of at least 1, got {sizes!r}")
        if sizes[-1] != 1:
            raise UsageError(f"the last layer gives the score, one number per point: sizes must end in 1, got {sizes!r}")
        object.__setattr__(self, "sizes", tuple(int(s) for s in sizes))

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_parameters(self) -> int:
        return sum((a + 1) * b for a, b in zip(self.sizes, self.sizes[1:]))

    def describe(self) -> str:
        kind = "layer gates" if self.layers else "scalar gates"
        if len(self.sizes) == 2:  # no hidden layer, so no activation
            return f"linear {self.sizes[0]}-1 ({self.n_parameters} parameters, {kind})"
        return f"MLP {'-'.join(map(str, self.sizes))} ({self.n_parameters} parameters, {kind}, {self.activation})"

    # data
    def data_names(self) -> tuple[str, ...]:
        return ("X",) if self.layers else tuple(f"x{k}" for k in range(self.n_inputs))

    def data(self, X: Any) -> dict[str, Any]:
        """The circuit's data inputs for points ``X`` of shape (n, inputs)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise UsageError(f"the model takes points with {self.n_inputs} feature(s), got data of shape {X.shape}")
        if self.layers:
            return {"X": X}
        return {f"x{k}": np.ascontiguousarray(X[:, k]) for k in range(self.n_inputs)}

    # parameters
    def initial_parameters(self) -> dict[str, Any]:
        """Seeded starting values, named for this network's path."""
        rng = np.random.default_rng(self.seed)
        matrices = [(rng.uniform(-1.0, 1.0, size=(b, a)), np.zeros(b)) for a, b in zip(self.sizes, self.sizes[1:])]
        return self._named(matrices)

    def _named(self, matrices: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        last = len(matrices)
        params: dict[str, Any] = {}
        for l, (W, b) in enumerate(matrices, start=1):
            if self.layers:
                params[f"W{l}"], params[f"b{l}"] = (W[0].copy(), float(b[0])) if l == last else (W.copy(), b.copy())
                continue
            for j in range(W.shape[0]):
                prefix = f"l{l}_n{j + 1}"
                params[f"{prefix}_b"] = float(b[j])
                for i in range(W.shape[1]):
                    params[f"{prefix}_w{i + 1}"] = float(W[j, i])
        return params

    def matrices(self, params: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each layer's (W, b) as arrays, from parameters of either path."""
        out = []
        for l, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]), start=1):
            if self.layers:
                W, bias = np.asarray(params[f"W{l}"], dtype=float), np.asarray(params[f"b{l}"], dtype=float)
                out.append((W.reshape(b, a), bias.reshape(b)))
                continue
            W = np.array([[params[f"l{l}_n{j}_w{i}"] for i in range(1, a + 1)] for j in range(1, b + 1)])
            out.append((W, np.array([params[f"l{l}_n{j}_b"] for j in range(1, b + 1)])))
        return out

    def convert(self, params: Mapping[str, Any], layers: bool) -> dict[str, Any]:
        """The same parameters named for the other path (scalar <-> layer gates)."""
        return Network(self.sizes, layers, self.activation, self.seed)._named(self.matrices(params))

    # circuits
    def score(self, c: Composer, data: Mapping[str, Wire], params: dict[str, Wire] | None = None) -> Wire:
        """Declare this network's parameters in ``c`` (and in ``params``, by name) and return its score wire."""
        hidden = len(self.sizes) - 2
        if self.layers:
            h = data["X"]
            for l in range(1, hidden + 2):
                h = dense(c, h, str(l), self.activation if l <= hidden else None, params)
            return h
        units = [data[name] for name in self.data_names()]
        for l, size in enumerate(self.sizes[1:], start=1):
            units = layer(c, units, size, f"l{l}", self.activation if l <= hidden else None, params)
        return units[0]

    def circuit(self, registry: Registry | None = None) -> Circuit:
        """The score circuit alone: data and parameters in, one score per point out."""
        c = Composer(registry)
        data = {name: c.input(name) for name in self.data_names()}
        return c.build(self.score(c, data).named("score"))

    def loss_circuit(
        self, loss_name: str = "hinge", alpha: float = 0.0, registry: Registry | None = None, biases: bool = True
    ) -> Circuit:
        """``mean(loss(y, score)) + alpha * sum(p ** 2)``: data, labels ``y`` and parameters in.

        ``biases=False`` leaves the biases out of the sum (the lesson's SVM pulls only on its weights).
        """
        c = Composer(registry)
        data = {name: c.input(name) for name in self.data_names()}
        y = c.input("y")
        wires: dict[str, Wire] = {}
        score = self.score(c, data, wires).named("score")
        params = [wire for name, wire in wires.items() if biases or not is_bias(name)]
        total = c.mean(loss(c, loss_name, y, score)).named("data_loss")
        if alpha:
            total = (total + alpha * l2(c, params)).named("loss")
        return c.build(total)


def is_bias(name: str) -> bool:
    """Whether a parameter's name is a bias's (``l1_n3_b``, ``b2``): what ``biases=False`` leaves out of L2."""
    return name.endswith("_b") or (name.startswith("b") and name[1:].isdigit())


def mlp(n_inputs: int, sizes: Sequence[int], *, layers: bool = False, activation: str = "relu", seed: int = 0) -> Network:
    """An MLP from ``n_inputs`` through ``sizes`` (ending in 1): ``mlp(2, [16, 16, 1])`` has 337 parameters."""
    return Network((n_inputs, *sizes), layers, activation, seed)


def linear_model(n_inputs: int, *, layers: bool = False, seed: int = 0) -> Network:
    """``score = w . x + b``: the linear classifier (an SVM with the hinge loss)."""
    return Network((n_inputs, 1), layers, "relu", seed)


def parse_model(text: str, n_inputs: int, *, layers: bool = False, seed: int = 0) -> Network:
    """``linear`` or ``mlp:16,16`` (hidden sizes; the one output is added), as the CLI spells them."""
    kind, _, rest = text.strip().partition(":")
    if kind == "linear" and not rest:
        return linear_model(n_inputs, layers=layers, seed=seed)
    if kind == "mlp":
        try:
            hidden = [int(part) for part in rest.split(",") if part.strip()]
        except ValueError:
            hidden = []
        if hidden and all(h >= 1 for h in hidden):
            return mlp(n_inputs, [*hidden, 1], layers=layers, seed=seed)
    raise UsageError(f"unknown model {text!r}: use linear, or mlp:H1,H2,... with hidden layer sizes (e.g. mlp:16,16)")


# -- losses ---------------------------------------------------------------------------------------


def _hinge(c: Composer, y: Wire, score: Wire) -> Wire:
    return c.relu(1 - y * score)


def _logistic(c: Composer, y: Wire, score: Wire) -> Wire:
    # log(1 + exp(z)) for z = -y * score, as relu(z) + log(1 + exp(-|z|)): never overflows.
    z = -(y * score)
    return c.relu(z) + c.log(1 + c.exp(-c.abs(z)))


def _squared(c: Composer, y: Wire, score: Wire) -> Wire:
    return (score - y) ** 2


#: Per-point losses by name: each maps (labels, scores) to one loss per point.
LOSSES = {"hinge": _hinge, "logistic": _logistic, "squared": _squared}
LOSS_DOCS = {
    "hinge": "relu(1 - y * score): zero once a point is beyond the margin",
    "logistic": "log(1 + exp(-y * score)): the log-loss of sigmoid(score)",
    "squared": "(score - y) ** 2",
}


def loss(c: Composer, name: str, y: Wire, score: Wire) -> Wire:
    """The per-point loss ``name`` (hinge, logistic, squared) of scores against labels in {-1, +1}."""
    if name not in LOSSES:
        raise UnknownNameError("loss", name, LOSSES)
    return LOSSES[name](c, y, score)


def l2(c: Composer, params: Sequence[Wire]) -> Wire:
    """``sum(p ** 2)`` over every parameter (numbers or arrays), one ``sumsq`` gate each, labelled ``l2``."""
    if not params:
        raise UsageError("l2 needs at least one parameter")
    terms = [c.sumsq(p) for p in params]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total.named("l2")
