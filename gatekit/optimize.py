"""optimize() and compare(): run strategies on a circuit and report what each cost.

The core owns the loop, so every strategy is measured the same way: it evaluates
the start (1 forward), then each step asks the strategy for the next point, moves
there (evaluating it unless the strategy already did, in a batch), records the
output, the best so far and the evaluations so far, and stops after ``steps``, when
the budget cannot pay for the next evaluation, on an inf or a nan (naming the node
that produced it), or when the strategy says it has converged::

    result = gatekit.optimize(circuit, {"x": 1, "y": -3}, "analytic-gradient", steps=1, step_size=0.001)
    result.final_output      # -2.990003
    result.forward_evals     # 2: the start, and where the step landed
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .containment import describe, is_user_interrupt
from .errors import GatekitError, NonFiniteError, OptionError, UnknownNameError, UsageError, suggest
from .problem import Problem, StopRun
from .values import resolve_inputs
from .strategy import RUN_PARAMETERS, Converged, StrategyContractError, coerce_options, resolve_strategy

if TYPE_CHECKING:
    from pathlib import Path

    from .circuit import Circuit
    from .plot import Plot
    from .registry import Registry

__all__ = ["optimize", "compare", "Result", "StepRecord", "STOP_REASONS"]

#: Why a run ended.
STOP_REASONS = ("steps", "budget", "non-finite", "converged")


@dataclass(frozen=True)
class StepRecord:
    """One step of a run: the output where it landed, the best so far, evaluations so far,
    and the point it landed on (every input, free and held), so a path can be drawn."""

    step: int
    output: float
    best_output: float
    forward: int
    backward: int
    point: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "output": self.output, "best_output": self.best_output,
                "forward": self.forward, "backward": self.backward, "point": dict(self.point)}


@dataclass
class Result:
    """What a run found and what it cost. Points map every input to a float, or an array for an array input."""

    strategy: str
    maximize: bool
    start: dict[str, Any]
    start_output: float
    final: dict[str, Any]
    final_output: float
    best: dict[str, Any]
    best_output: float
    history: list[StepRecord] = field(default_factory=list)
    forward_evals: int = 0
    backward_evals: int = 0
    seconds: float = 0.0
    stop_reason: str = "steps"
    stop_detail: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    held: tuple[str, ...] = ()

    @property
    def steps_done(self) -> int:
        return len(self.history)

    def __repr__(self) -> str:
        return (f"<Result {self.strategy}: best {self.best_output:.6g} after {self.steps_done} step(s), "
                f"{self.forward_evals} forward + {self.backward_evals} backward, stopped: {self.stop_reason}>")

    def plot(self, circuit: Circuit | None = None, path: str | Path | None = None) -> Plot:
        """Output by step (and, given ``circuit`` with two free inputs, the path over its contours)."""
        from .plot import plot_run

        return plot_run(self, circuit, path)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the CLI's ``--json``): floats, ints, strings, lists, dicts."""
        return {
            "strategy": self.strategy,
            "maximize": self.maximize,
            "start_output": self.start_output,
            "final_output": self.final_output,
            "best_output": self.best_output,
            "start": dict(self.start),
            "final": dict(self.final),
            "best": dict(self.best),
            "evaluations": {"forward": self.forward_evals, "backward": self.backward_evals},
            "history": [record.to_dict() for record in self.history],
            "stop_reason": self.stop_reason,
            "stop_detail": self.stop_detail,
            "seconds": self.seconds,
            "options": dict(self.options),
            "seed": self.seed,
            "held": list(self.held),
        }


@dataclass
class _Run:
    """One run, fully validated before any evaluation: what optimize() will do."""

    circuit: Circuit
    strategy: Any
    plugin: str | None
    options: dict[str, Any]
    free: tuple[str, ...]
    start: dict[str, Any]
    steps: int
    maximize: bool
    seed: int
    budget: int | None


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise UsageError(f"steps must be a whole number of at least 1, got {steps!r}")
    return int(steps)


def _check_budget(budget: Any) -> int | None:
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise UsageError(
            f"budget must be a whole number of forward evaluations, at least 1 (the start), got {budget!r}"
        )
    return int(budget)


def _check_seed(seed: Any) -> int:
    if seed is None:
        # Draw one so the run can still be repeated: the result reports it.
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]  # entropy is an int here
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"seed must be a non-negative whole number, got {seed!r}")
    return int(seed)


def _split_inputs(
    circuit: Circuit, start: Mapping[str, Any] | None, hold: Iterable[str]
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The free input names and every input's start value (held ones may be arrays); errors name what is wrong."""
    if isinstance(hold, str):
        hold = [part for part in hold.replace(",", " ").split() if part]
    held = list(hold)
    for name in held:
        if name not in circuit.input_ids:
            raise UnknownNameError("input", str(name), circuit.inputs, "to hold (not an input of this circuit)")
    free = tuple(name for name in circuit.inputs if name not in held)
    if not free:
        raise UsageError(f"every input is held ({', '.join(circuit.inputs)}): nothing is left to optimize")
    resolved = resolve_inputs(circuit.inputs, circuit.defaults, dict(start or {}),
                              where="in the start point (not an input of this circuit)",
                              how=lambda missing: " in the start point; give each a value or a default in the circuit",
                              shown=lambda name: f"{name!r} ({'held' if name in held else 'free'})",
                              unread=circuit.unread_inputs)
    values: dict[str, Any] = {}
    for name, value in resolved.items():
        kind = "held" if name in held else "free"
        if np.ndim(value) != 0:
            # Held inputs are the data, free ones the parameters: numbers or arrays of them.
            if not np.all(np.isfinite(value)):
                raise UsageError(f"the {kind} input {name!r} must be finite everywhere, got a nan or inf in it")
            if kind == "free" and np.size(value) == 0:
                raise UsageError(f"the free input {name!r} is an empty array: nothing to optimise in it")
            values[name] = value
            continue
        if not math.isfinite(value):
            raise UsageError(f"the start value of input {name!r} must be finite, got {value!r}")
        values[name] = float(value)
    return free, values


def _refuse_own_near_misses(function: str, options: Mapping[str, Any], declared: Iterable[str]) -> None:
    """A keyword no strategy declares that is close to ``function``'s own parameter: name that parameter.

    optimize's own parameters (RUN_PARAMETERS) share the keyword space with a strategy's
    options (``**options``): no option may take one of their names (strategy.py refuses
    it), and a slip in one of them must not read as an unknown strategy option.
    """
    declared = set(declared)
    for key in options:
        name = str(key).replace("-", "_")
        if name in declared:
            continue
        if name in ("minimize", "minimise"):
            raise UsageError(f"{function}() has no parameter {key!r}; to minimize, pass maximize=False")
        # Only a clear slip (maximise, step, seeds), and only when no strategy option is as close.
        close = suggest(name, RUN_PARAMETERS, cutoff=0.75)
        if close and not suggest(name, declared, cutoff=0.75):
            raise UsageError(
                f"{function}() got an unknown argument {key!r}; did you mean its own parameter {close[0]!r}? "
                f"(other keywords are strategy options: {', '.join(sorted(declared)) or 'none'})"
            )


def _prepare(
    circuit: Circuit, start: Mapping[str, Any] | None, strategy: Any, steps: Any, maximize: bool,
    hold: Iterable[str], seed: Any, budget: Any, registry: Registry | None, options: Mapping[str, Any],
) -> _Run:
    obj, plugin = resolve_strategy(strategy, registry if registry is not None else circuit.registry)
    _refuse_own_near_misses("optimize", options, (o.name for o in getattr(obj, "options", ())))
    typed = coerce_options(obj, options)
    steps = _check_steps(steps)
    budget = _check_budget(budget)
    free, values = _split_inputs(circuit, start, hold)
    return _Run(circuit, obj, plugin, typed, free, values, steps, bool(maximize), _check_seed(seed), budget)


def optimize(
    circuit: Circuit,
    start: Mapping[str, Any] | None = None,
    strategy: Any = "analytic-gradient",
    steps: int = 100,
    maximize: bool = True,
    hold: Iterable[str] = (),
    seed: int | None = None,
    budget: int | None = None,
    registry: Registry | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **options: Any,
) -> Result:
    """Maximize (or, with ``maximize=False``, minimize) ``circuit``'s output over its free inputs.

    ``start`` maps inputs to values (missing ones fall back to the circuit's
    defaults); ``hold`` names inputs kept at their start values; ``budget`` caps the
    forward evaluations; ``progress(step, steps)`` is called after every step;
    ``options`` are the strategy's own (``step_size=0.01``, ``h=1e-4``, ...; strings
    from a command line are parsed). Every mistake in these raises a
    :class:`~gatekit.GatekitError` before anything is evaluated.
    """
    run = _prepare(circuit, start, strategy, steps, maximize, hold, seed, budget, registry, options)
    return _execute(run, progress)


def compare(
    circuit: Circuit,
    start: Mapping[str, Any] | None = None,
    strategies: Sequence[Any] | None = None,
    steps: int = 100,
    maximize: bool = True,
    hold: Iterable[str] = (),
    seed: int | None = None,
    budget: int | None = None,
    registry: Registry | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **options: Any,
) -> list[Result]:
    """Run several strategies (default: every registered one) on the same circuit, start, steps and budget.

    Each option goes to the strategies that declare it (``step_size`` to the
    gradient strategies, ``candidates`` to the searches); an option that none of
    them declares is an error. Every run gets the same seed. Results come back in
    the order of ``strategies`` (or sorted by name).
    """
    registry = registry if registry is not None else circuit.registry
    names = list(strategies) if strategies is not None else registry.strategy_names()
    if not names:
        raise UsageError("no strategies to compare: none is registered")
    resolved = [resolve_strategy(s, registry)[0] for s in names]
    normalised = {str(k).replace("-", "_"): v for k, v in options.items()}
    declared = {o.name for s in resolved for o in s.options}
    _refuse_own_near_misses("compare", normalised, declared)
    for key in normalised:
        if key not in declared:
            compared = ", ".join(s.name for s in resolved)
            known = ", ".join(sorted(declared)) or "none"
            raise OptionError(
                f"option {key!r} belongs to none of the strategies compared ({compared}); their options: {known}"
            )
    seed = _check_seed(seed)
    runs = [
        _prepare(circuit, start, s, steps, maximize, hold, seed, budget, registry,
                 {k: v for k, v in normalised.items() if k in {o.name for o in s.options}})
        for s in resolved
    ]
    return [_execute(run, progress) for run in runs]


#: Runs this long evaluate the circuit's generated code (same numbers): compiling costs tens
#: of microseconds per gate, which a few evaluations do not win back.
COMPILE_FROM_STEPS = 10


def _execute(
    run: _Run,
    progress: Callable[[int, int], Any] | None,
    before_step: Callable[[Problem, int], Any] | None = None,
) -> Result:
    """The loop. ``before_step(problem, step)`` (gatekit.train's) may change the held data or
    the options before each step; whatever it evaluates is counted like any evaluation."""
    problem = Problem(
        run.circuit, run.free, {k: v for k, v in run.start.items() if k not in run.free},
        maximize=run.maximize, rng=np.random.default_rng(run.seed), options=run.options,
        budget=run.budget, steps=run.steps, shapes={name: np.shape(run.start[name]) for name in run.free},
        compiled=run.steps >= COMPILE_FROM_STEPS,
    )
    history: list[StepRecord] = []
    reason, detail = "steps", None
    began = time.perf_counter()
    try:
        problem.begin(problem.vector(run.start))
        init = getattr(run.strategy, "init", None)
        state = _call(run, init, problem) if callable(init) else None
        for step in range(1, run.steps + 1):
            problem.begin_step(step)
            if before_step is not None:
                before_step(problem, step)
            move = _call(run, run.strategy.step, problem, state)
            if problem.stopped is not None:  # a strategy that swallowed the stop
                raise problem.stopped
            if isinstance(move, Converged):
                reason, detail = "converged", str(move.reason)
            else:
                problem.visit(_check_move(run, problem, move))
            history.append(StepRecord(step, problem.sign * problem.current_score, problem.sign * problem.best_score,
                                      problem.forward_evals, problem.backward_evals, problem.as_dict(problem.current)))
            if progress is not None:
                progress(step, run.steps)
            if reason == "converged":
                break
    except StopRun as stop:
        reason, detail = stop.reason, stop.detail
    seconds = time.perf_counter() - began
    if not np.isfinite(problem.start_score):
        # No finite point to report: the start itself is where it went wrong.
        raise NonFiniteError(f"the circuit's output is not finite at the start point: {detail}")
    return Result(
        strategy=run.strategy.name, maximize=run.maximize,
        start=problem.as_dict(problem.start), start_output=problem.sign * problem.start_score,
        final=problem.as_dict(problem.current), final_output=problem.sign * problem.current_score,
        best=problem.as_dict(problem.best), best_output=problem.sign * problem.best_score,
        history=history, forward_evals=problem.forward_evals, backward_evals=problem.backward_evals,
        seconds=seconds, stop_reason=reason, stop_detail=detail, options=dict(run.options),
        seed=run.seed, held=tuple(name for name in run.circuit.inputs if name not in run.free),
    )


def _call(run: _Run, method: Callable[..., Any], *args: Any) -> Any:
    """Call the strategy; anything it raises that is not gatekit's own becomes a plugin error."""
    plugin = f" (plugin {run.plugin!r})" if run.plugin else ""
    try:
        return method(*args)
    except StrategyContractError as exc:
        if exc.plugin is not None:
            raise
        # The problem caught a misuse (a point of the wrong shape): say whose it was.
        raise StrategyContractError(f"strategy {run.strategy.name!r}{plugin}: {exc}", plugin=run.plugin) from exc
    except (StopRun, GatekitError):
        raise
    except BaseException as exc:  # SystemExit, GeneratorExit...: contained (gatekit/containment.py)
        if is_user_interrupt(exc):
            raise
        raise StrategyContractError(
            f"strategy {run.strategy.name!r}{plugin} raised {describe(exc)}", plugin=run.plugin
        ) from exc


def _check_move(run: _Run, problem: Problem, move: Any) -> np.ndarray:
    try:
        complex_move = np.iscomplexobj(move)  # float64 would drop the imaginary part, with a raw warning
        point = None if complex_move else np.array(move, dtype=np.float64)
    except (TypeError, ValueError):
        complex_move, point = False, None
    if point is None or point.shape != (problem.n,):
        plugin = f" (plugin {run.plugin!r})" if run.plugin else ""
        shape = "nothing" if move is None else (f"shape {point.shape}" if point is not None else repr(move))
        if complex_move:
            shape = "complex numbers"
        raise StrategyContractError(
            f"strategy {run.strategy.name!r}{plugin} returned {shape} from step; expected {problem.n} number(s) "
            f"({problem.describe_free()}) or gatekit.Converged",
            plugin=run.plugin,
        )
    return point
