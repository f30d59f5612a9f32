"""A strategy: pattern search (compass search), a derivative-free climber.

Each step tries one step up and one step down along every free input, all 2n
candidates in one vectorised batch, and moves to the best if it beats the current
point; if none does, it stays and shrinks the step. It stops (converged) once the step
is below ``tolerance``. ``gatekit.optimize`` runs the loop, counts the evaluations
and keeps the best point; the strategy only says where to go next.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit import Converged, Option, Problem, Strategy


class PatternSearch(Strategy):
    name = "pattern-search"
    doc = "try a step up and down along each input, move to the best; shrink the step when none is better"
    options = (
        Option("step_size", float, 0.5, "the first step along each input", exclusive_minimum=0.0),
        Option("shrink", float, 0.5, "the step is multiplied by this when no move is better",
               exclusive_minimum=0.0, exclusive_maximum=1.0),
        Option("tolerance", float, 1e-6, "stop once the step is smaller than this", exclusive_minimum=0.0),
    )

    def init(self, problem: Problem) -> dict[str, float]:
        # State is whatever the strategy keeps between steps: here, the current step size.
        return {"step": problem.options["step_size"]}

    def step(self, problem: Problem, state: dict[str, float]) -> Any:
        if state["step"] < problem.options["tolerance"]:
            return Converged(f"the step {state['step']:.3g} is below tolerance {problem.options['tolerance']:g}")
        moves = state["step"] * np.vstack([np.eye(problem.n), -np.eye(problem.n)])
        candidates = problem.current + moves
        scores = problem.scores(candidates)  # 2n forwards in one pass; the score is always climbed
        best = int(np.argmax(scores))
        if scores[best] > problem.current_score:
            return candidates[best]
        state["step"] *= problem.options["shrink"]
        return problem.current
