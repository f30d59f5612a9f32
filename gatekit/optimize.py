"""optimize() and compare(): run strategies on a circuit and report what each cost.

The core owns the loop (:mod:`gatekit.runs`, shared with :func:`gatekit.train`), so
every strategy is measured the same way: it evaluates the start (1 forward), then each
step asks the strategy for the next point, moves there (evaluating it unless the strategy already did, in a batch), records the
output, the best so far and the evaluations so far, and stops after ``steps``, when
the budget cannot pay for the next evaluation, on an inf or a nan (naming the node
that produced it), or when the strategy says it has converged::

    result = gatekit.optimize(circuit, {"x": 1, "y": -3}, "analytic-gradient", steps=1, step_size=0.001)
    result.final_output      # -2.990003
    result.forward_evals     # 2: the start, and where the step landed
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import OptionError, UsageError
from .results import STOP_REASONS, Result, StepRecord
from .runs import check_seed, execute_run, prepare_run, refuse_own_near_misses
from .strategy import resolve_strategy

if TYPE_CHECKING:
    from .circuit import Circuit
    from .registry import Registry

__all__ = ["optimize", "compare", "Result", "StepRecord", "STOP_REASONS"]


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
    run = prepare_run(circuit, start, strategy, steps, maximize, hold, seed, budget, registry, options)
    return execute_run(run, progress)


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
    refuse_own_near_misses("compare", normalised, declared)
    for key in normalised:
        if key not in declared:
            compared = ", ".join(s.name for s in resolved)
            known = ", ".join(sorted(declared)) or "none"
            raise OptionError(
                f"option {key!r} belongs to none of the strategies compared ({compared}); their options: {known}"
            )
    seed = check_seed(seed)
    runs = [
        prepare_run(circuit, start, s, steps, maximize, hold, seed, budget, registry,
                    {k: v for k, v in normalised.items() if k in {o.name for o in s.options}})
        for s in resolved
    ]
    return [execute_run(run, progress) for run in runs]

