"""What a run of a strategy found and what it cost: :class:`Result` and its :class:`StepRecord` records.

Plain records, apart from the loop that fills them (:mod:`gatekit.runs`), so the plots,
the notebook display and dask can read a result without importing the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from .circuit import Circuit
    from .plot import Plot

__all__ = ["Result", "StepRecord", "STOP_REASONS"]

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

