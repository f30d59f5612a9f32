"""The two searches of the lesson: random candidates in a box, and random nudges.

Neither looks at a gradient; each step draws its candidates in one batch and
evaluates them in one vectorised pass (k candidates cost k forwards).
"""

from __future__ import annotations

import numpy as np

from gatekit import Option, Strategy


class RandomSearch(Strategy):
    name = "random-search"
    doc = "draw candidates uniformly in the box [low, high) for every free input; keep the best"
    options = (
        Option("low", float, -5.0, "lower edge of the box, for every free input"),
        Option("high", float, 5.0, "upper edge of the box (not included)"),
        Option("candidates", int, 100, "candidates drawn and evaluated per step", minimum=1),
    )

    def check_options(self, options):
        if not options["low"] < options["high"]:
            return [f"low ({options['low']!r}) must be below high ({options['high']!r})"]
        return []

    def step(self, problem, state):
        o = problem.options
        candidates = problem.rng.uniform(o["low"], o["high"], size=(o["candidates"], problem.n))
        return _best_of(problem, candidates)


class LocalSearch(Strategy):
    name = "local-search"
    doc = "nudge a point by up to step_size in each free input at random; move when a nudge is better"
    options = (
        Option("step_size", float, 0.01, "largest nudge of each free input", exclusive_minimum=0.0),
        Option("candidates", int, 10, "nudges drawn and evaluated per step", minimum=1),
        Option(
            "anchor", str, "best",
            "nudge the best point so far (best: hill-climbing) or always the start (start: the lesson's variant)",
            choices=("best", "start"),
        ),
    )

    def step(self, problem, state):
        o = problem.options
        anchor = problem.start if o["anchor"] == "start" else problem.best
        nudges = problem.rng.uniform(-1.0, 1.0, size=(o["candidates"], problem.n))
        return _best_of(problem, anchor + o["step_size"] * nudges)


def _best_of(problem, candidates: np.ndarray) -> np.ndarray:
    """The best candidate if it beats the best so far; otherwise stay at the best."""
    scores = problem.scores(candidates)
    i = int(np.argmax(scores))
    return candidates[i] if scores[i] > problem.best_score else problem.best
