"""The Problem: what a strategy sees of a circuit, and the meter on every evaluation.

Only the free inputs are exposed, as a numpy vector in ``problem.names`` order; held
inputs stay at their start values. Every way to learn about the circuit goes
through here, so the counts are honest by construction:

=============================  ==================================================
``score(point)``               1 forward
``scores(points)``             k forwards for k candidate points (one vectorised pass)
``gradient(point)``            1 forward + 1 backward (the forward is free at the
                               current point, which the core has already evaluated)
``numerical_gradient(point)``  forward differences: n + 1 forwards (n at the current
                               point, whose value is known); central: 2n forwards
=============================  ==================================================

A strategy always climbs the *score*: the output when maximizing, minus the output
when minimizing. Running out of budget, or meeting an inf or a nan, ends the run
right there (the core reports why); a strategy does not need to handle either.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import StrategyContractError, UsageError
from .values import as_input

if TYPE_CHECKING:
    from .circuit import Circuit
    from .trace import Trace

__all__ = ["Problem", "StopRun"]


class StopRun(Exception):
    """Raised inside a step to end the run: ``reason`` is "budget" or "non-finite".

    The core catches it; a strategy that swallows it is stopped anyway, because the
    problem remembers that it has stopped.
    """

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class Problem:
    """The free inputs of one circuit, their evaluation, and the counts.

    Read by strategies: ``names``, ``n``, ``options``, ``rng``, ``maximize``,
    ``start``, ``current``, ``current_score``, ``best``, ``best_score``, ``step``,
    ``steps``, ``forward_evals``, ``backward_evals``, ``budget``. Points are float64
    arrays of shape ``(n,)``; batches have shape ``(k, n)``. A free input that is an
    array (a layer's weights) gives one coordinate per element, named ``W[2,0]``;
    held inputs may be arrays too (the data), and :meth:`hold` swaps them.
    """

    def __init__(
        self,
        circuit: Circuit,
        names: tuple[str, ...],
        held: Mapping[str, Any],
        *,
        maximize: bool = True,
        rng: np.random.Generator | None = None,
        options: Mapping[str, Any] | None = None,
        budget: int | None = None,
        steps: int = 1,
        shapes: Mapping[str, tuple[int, ...]] | None = None,
        compiled: bool = False,
    ):
        self.circuit = circuit
        #: With ``compiled``, evaluations run the circuit's generated code (same numbers, faster).
        self._compiled = circuit.compile() if compiled else None
        #: The free inputs, and the shape of each (``()`` for a number, the usual case).
        self.free = tuple(names)
        self.shapes = {name: tuple((shapes or {}).get(name, ())) for name in self.free}
        #: One name per coordinate of a point: the input's name, or ``W[2,0]`` for an array's element.
        self.names = tuple(
            coordinate for name in self.free for coordinate in _coordinates(name, self.shapes[name])
        )
        self.n = len(self.names)
        #: Every free input a number (no arrays among them): points convert in one call.
        self._all_numbers = bool(self.free) and not any(self.shapes.values())
        self._slices = []
        at = 0
        for name in self.free:
            size = int(np.prod(self.shapes[name], dtype=int))
            self._slices.append((name, slice(at, at + size), self.shapes[name]))
            at += size
        # Held inputs may be arrays (the data a model is trained on).
        self.held = MappingProxyType({name: as_input(name, v) for name, v in held.items()})
        #: Candidates are evaluated one by one when an input is an array (no shared batch axis).
        self._one_by_one = any(np.ndim(v) for v in self.held.values()) or any(self.shapes.values())
        given = sorted(self.free + tuple(self.held))
        if given != sorted(circuit.inputs):
            raise UsageError(
                f"free inputs ({', '.join(self.free)}) and held inputs ({', '.join(self.held)}) must together be "
                f"the circuit's inputs ({', '.join(circuit.inputs)}), each once"
            )
        self.maximize = maximize
        self.sign = 1.0 if maximize else -1.0
        self.rng = rng if rng is not None else np.random.default_rng()
        self.options = MappingProxyType(dict(options or {}))
        self.budget = budget
        self.steps = steps
        self.step = 0
        self.forward_evals = 0
        self.backward_evals = 0
        self.stopped: StopRun | None = None
        # Set by begin(): nothing is known before the start is evaluated.
        self.start = self.current = self.best = np.full(self.n, np.nan)
        self.start_score = self.current_score = self.best_score = float("nan")
        self._trace: Trace | None = None  # the single-point trace at ``current`` (interpreted)
        self._grads: dict[str, Any] | None = None  # or its gradients (compiled: computed with the value)
        self._trace_point: np.ndarray | None = None
        self._seen: list[tuple[np.ndarray, np.ndarray]] = []  # (points, scores) evaluated this step

    # -- points ------------------------------------------------------------------------
    def as_dict(self, point: Any) -> dict[str, Any]:
        """Every input (free and held) at ``point``: plain floats, and held arrays as they are."""
        point = np.asarray(point, dtype=np.float64)
        if self._all_numbers:  # one C call for every coordinate (a scalar-gate model has hundreds)
            values: dict[str, Any] = dict(zip(self.free, point.tolist()))
        else:
            values = {name: point[part].reshape(shape) if shape else float(point[part.start])
                      for name, part, shape in self._slices}
        values.update(self.held)
        return {name: values[name] for name in self.circuit.inputs}

    def _point(self, point: Any) -> np.ndarray:
        array = np.array(point, dtype=np.float64)  # a copy: the caller may reuse its buffer
        if array.shape != (self.n,):
            wanted = f"{self.n} value(s) ({self.describe_free()})"
            raise StrategyContractError(f"a point needs {wanted}, got shape {array.shape}")
        return array

    def _batch(self, points: Any) -> np.ndarray:
        array = np.asarray(points, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != self.n:
            raise StrategyContractError(f"a batch needs shape (k, {self.n}), got shape {array.shape}")
        return array

    def describe_free(self) -> str:
        """The free inputs for a message: names, with the shape of any array among them."""
        return ", ".join(f"{name} {shape}" if shape else name for name, shape in self.shapes.items())

    def vector(self, values: Mapping[str, Any]) -> np.ndarray:
        """The point (shape ``(n,)``) holding these values of the free inputs."""
        if not self.free:
            return np.zeros(0)
        return np.concatenate([np.ravel(np.asarray(values[name], dtype=np.float64)) for name in self.free])

    # -- the meter ---------------------------------------------------------------------
    def _stop(self, reason: str, detail: str) -> StopRun:
        self.stopped = StopRun(reason, detail)
        return self.stopped

    def _charge(self, forwards: int) -> None:
        """Refuse an evaluation the budget cannot pay for in full (nothing is spent)."""
        if self.stopped is not None:
            raise self.stopped
        if self.budget is not None and self.forward_evals + forwards > self.budget:
            left = self.budget - self.forward_evals
            raise self._stop("budget", f"the next evaluation needs {forwards} forward(s); {left} of {self.budget} left")
        self.forward_evals += forwards

    # -- evaluation ----------------------------------------------------------------------
    def score(self, point: Any) -> float:
        """The score at one point (1 forward)."""
        return float(self.scores(self._point(point)[None, :])[0])

    def scores(self, points: Any) -> np.ndarray:
        """The scores of k points in one vectorised pass (k forwards)."""
        batch = self._batch(points)
        k = batch.shape[0]
        if k == 0:
            return np.zeros(0)
        self._charge(k)
        run = self._compiled if self._compiled is not None else self.circuit
        if self._one_by_one:
            # Candidates cannot share an axis with held data (a mean would mix them up):
            # one pass each, still k forwards.
            output = np.array([_one_number(run(self.as_dict(p))) for p in batch])
        else:
            values: dict[str, Any] = {name: batch[:, i] for i, name in enumerate(self.names)}
            values.update(self.held)
            output = np.broadcast_to(np.asarray(run(values), dtype=np.float64), (k,))
        bad = ~np.isfinite(output)
        if bad.any():
            raise self._stop("non-finite", self._nonfinite_detail(batch[int(np.argmax(bad))]))
        result = self.sign * output
        self._seen.append((batch.copy(), result))
        return result

    def _evaluate(self, point: np.ndarray) -> float:
        """One point evaluated as Python floats (1 forward); its trace becomes reusable."""
        self._charge(1)
        values = self.as_dict(point)
        trace, grads = None, None
        if self._compiled is not None:
            output, grads = self._compiled.gradient(values)
        else:
            trace = self.circuit.forward(values)
            output = trace.output
        _one_number(output)
        if not np.isfinite(output):
            raise self._stop("non-finite", self._nonfinite_detail(point, trace))
        self._trace_point, self._trace, self._grads = point, trace, grads
        return self.sign * float(output)

    def gradient(self, point: Any) -> np.ndarray:
        """The score's gradient by backprop: 1 forward (free at ``current``) + 1 backward."""
        if self.stopped is not None:
            raise self.stopped
        point = self._point(point)
        if self._trace_point is None or not np.array_equal(self._trace_point, point):
            self._evaluate(point)
        trace, grads = self._trace, self._grads
        if grads is None:
            assert trace is not None
            grads = trace.backward().input_grads()
        self.backward_evals += 1
        if self._all_numbers:
            gradient = self.sign * np.array([grads[name] for name in self.free], dtype=np.float64)
        else:
            gradient = self.sign * np.concatenate([np.ravel(grads[name]) for name in self.free]) if self.free else np.zeros(0)
        if not np.all(np.isfinite(gradient)):
            if trace is None:  # diagnostic only (not counted): the interpreter names the node
                trace = self.circuit.forward(self.as_dict(point)).backward()
            raise self._stop("non-finite", self._nonfinite_gradient_detail(point, trace))
        return gradient

    def numerical_gradient(self, point: Any, h: float = 1e-4, difference: str = "forward") -> np.ndarray:
        """The score's gradient by finite differences of step ``h``, in one vectorised pass.

        ``difference="forward"``: ``(f(x + h) - f(x)) / h``, n + 1 forwards (n when
        ``point`` is the current point, whose score is known). ``"central"``:
        ``(f(x + h) - f(x - h)) / 2h``, 2n forwards.
        """
        point = self._point(point)
        if difference not in ("forward", "central"):
            raise StrategyContractError(f"unknown difference {difference!r} (valid: forward, central)")
        if isinstance(h, bool) or not (isinstance(h, (int, float)) and np.isfinite(h) and h > 0):
            raise StrategyContractError(f"the difference step h must be a positive number, got {h!r}")
        eye = h * np.eye(self.n)
        if difference == "central":
            both = self.scores(np.vstack([point + eye, point - eye]))
            return (both[: self.n] - both[self.n :]) / (2 * h)
        if np.array_equal(point, self.current) and np.isfinite(self.current_score):
            return (self.scores(point + eye) - self.current_score) / h
        with_base = self.scores(np.vstack([point + eye, point[None, :]]))
        return (with_base[: self.n] - with_base[self.n]) / h

    def hold(self, values: Mapping[str, Any]) -> None:
        """New values for held inputs (the next minibatch of data).

        The current point is scored again on them (1 forward) and becomes the best, so
        a strategy compares candidates with the current point on the same data.
        """
        for name in values:
            if name not in self.held:
                raise UsageError(f"{name!r} is not a held input (held: {', '.join(self.held) or 'none'})")
        held = dict(self.held)
        held.update({name: as_input(name, v) for name, v in values.items()})
        self.held = MappingProxyType(held)
        self._one_by_one = any(np.ndim(v) for v in held.values()) or any(self.shapes.values())
        self._trace, self._grads, self._trace_point = None, None, None
        self._seen.clear()
        score = self._evaluate(self.current)
        self.current_score = self.best_score = score
        self.best = self.current

    # -- the core's side -----------------------------------------------------------------
    def known_score(self, point: np.ndarray) -> float | None:
        """The score of ``point`` if it was already evaluated (now or this step)."""
        if np.array_equal(point, self.current):
            return self.current_score
        if np.array_equal(point, self.best):
            return self.best_score
        for points, scores in reversed(self._seen):
            hits = np.flatnonzero((points == point).all(axis=1))
            if hits.size:
                return float(scores[hits[0]])
        return None

    def visit(self, point: Any) -> float:
        """Move to ``point`` (evaluating it unless its score is known) and update the best."""
        point = self._point(point)
        score = self.known_score(point)
        if score is None:
            score = self._evaluate(point)
        elif self._trace_point is not None and not np.array_equal(self._trace_point, point):
            # the cached trace (or gradients) belongs to a point we are leaving
            self._trace, self._grads, self._trace_point = None, None, None
        point.setflags(write=False)
        self.current, self.current_score = point, score
        if not score <= self.best_score:  # also true while best_score is still nan
            self.best, self.best_score = point, score
        return score

    def begin(self, start: np.ndarray) -> None:
        """Evaluate the start point (1 forward); it becomes current and best."""
        self.visit(start)
        self.start, self.start_score = self.current, self.current_score

    def begin_step(self, step: int) -> None:
        self.step = step
        self._seen.clear()

    # -- non-finite reports --------------------------------------------------------------
    def _at(self, point: np.ndarray) -> str:
        return ", ".join(
            f"{k}={v!r}" if not np.ndim(v) else f"{k}=<array {np.shape(v)}>" for k, v in self.as_dict(point).items()
        )

    def _nonfinite_detail(self, point: np.ndarray, trace: Trace | None = None) -> str:
        if trace is None:
            # Diagnostic only (not counted): rerun the offending candidate alone, so the
            # message can name the node with that candidate's own values.
            trace = self.circuit.forward(self.as_dict(point))
        found = trace.first_nonfinite()
        what = found.message if found is not None else f"the output is {trace.output!r}"
        return f"{what} at {self._at(point)}"

    def _nonfinite_gradient_detail(self, point: np.ndarray, trace: Trace) -> str:
        grads = trace.grads or []
        for i in range(len(grads) - 1, -1, -1):  # from the output back: where it first went bad
            if not np.all(np.isfinite(grads[i])):
                node = self.circuit.nodes[i]
                what = "nan" if np.any(np.isnan(grads[i])) else "inf"
                where = f"input {node.name!r}" if node.kind == "input" else f"node {self.circuit.node_name(i)}"
                return f"the gradient w.r.t. {where} is {what} at {self._at(point)}"
        return f"the gradient is not finite at {self._at(point)}"


def _one_number(output: Any) -> float:
    if np.ndim(output) != 0:
        shape = np.shape(output)
        raise UsageError(
            f"the circuit's output must be one number to optimise, got shape {shape} "
            "(reduce a batch with the sum or mean gate)"
        )
    return float(output)


def _coordinates(name: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [name]
    return [f"{name}[{','.join(str(k) for k in index)}]" for index in np.ndindex(*shape)]
