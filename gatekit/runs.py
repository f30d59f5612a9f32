"""A run of a strategy: validated once (:func:`prepare_run`), then the loop (:func:`execute_run`).

The one home of the optimisation loop that :func:`gatekit.optimize`, :func:`gatekit.compare`
and :func:`gatekit.train` share. :func:`prepare_run` checks everything a caller gave (the
strategy and its options, steps, budget, seed, which inputs are held and their start
values) before anything is evaluated, and returns a :class:`Run`; :func:`execute_run`
runs it on a :class:`~gatekit.problem.Problem`, the meter that counts every evaluation.
Internal to gatekit (not in ``gatekit.__all__``), but these names are the modules' contract.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .containment import describe, is_user_interrupt
from .errors import GatekitError, NonFiniteError, UnknownNameError, UsageError, suggest
from .problem import Problem, StopRun
from .results import Result, StepRecord
from .strategy import RUN_PARAMETERS, Converged, StrategyContractError, coerce_options, resolve_strategy
from .values import resolve_inputs

if TYPE_CHECKING:
    from .circuit import Circuit
    from .registry import Registry

__all__ = ["Run", "prepare_run", "execute_run", "check_seed", "refuse_own_near_misses", "COMPILE_FROM_STEPS"]


@dataclass
class Run:
    """One run, fully validated before any evaluation: what :func:`execute_run` will do."""

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


def check_seed(seed: Any) -> int:
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


def refuse_own_near_misses(function: str, options: Mapping[str, Any], declared: Iterable[str]) -> None:
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


def prepare_run(
    circuit: Circuit, start: Mapping[str, Any] | None, strategy: Any, steps: Any, maximize: bool,
    hold: Iterable[str], seed: Any, budget: Any, registry: Registry | None, options: Mapping[str, Any],
) -> Run:
    obj, plugin = resolve_strategy(strategy, registry if registry is not None else circuit.registry)
    refuse_own_near_misses("optimize", options, (o.name for o in getattr(obj, "options", ())))
    typed = coerce_options(obj, options)
    steps = _check_steps(steps)
    budget = _check_budget(budget)
    free, values = _split_inputs(circuit, start, hold)
    return Run(circuit, obj, plugin, typed, free, values, steps, bool(maximize), check_seed(seed), budget)


#: Runs this long evaluate the circuit's generated code (same numbers): compiling costs tens
#: of microseconds per gate, which a few evaluations do not win back.
COMPILE_FROM_STEPS = 10


def execute_run(
    run: Run,
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


def _call(run: Run, method: Callable[..., Any], *args: Any) -> Any:
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


def _check_move(run: Run, problem: Problem, move: Any) -> np.ndarray:
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

