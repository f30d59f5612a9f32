"""The gradient climbers: numerical and analytic gradients, momentum and Adam.

Each step asks the problem for the score's gradient at the current point and moves
uphill; the problem counts what the gradient cost (backprop: 1 forward + 1
backward; differences: n + 1 or 2n forwards).
"""

from __future__ import annotations

import numpy as np

from gatekit import Converged, Option, Strategy

_STEP = Option("step_size", float, 0.01, "how far to move along the gradient", exclusive_minimum=0.0)
_TOL = Option(
    "tol", float, 0.0,
    "stop (converged) when no gradient component exceeds tol in size (0: only at a flat point)",
    minimum=0.0,
)


def _flat(gradient: np.ndarray, tol: float) -> Converged | None:
    largest = float(np.max(np.abs(gradient))) if gradient.size else 0.0
    if largest <= tol:
        return Converged(f"largest gradient component {largest!r} <= tol {tol!r}")
    return None


class NumericalGradient(Strategy):
    name = "numerical-gradient"
    doc = "step along a finite-difference gradient (forward: n + 1 forwards a step, central: 2n + 1)"
    options = (
        Option("h", float, 1e-4, "the difference step", exclusive_minimum=0.0),
        Option("difference", str, "forward", "forward: (f(x+h) - f(x)) / h; central: (f(x+h) - f(x-h)) / 2h",
               choices=("forward", "central")),
        _STEP,
        _TOL,
    )

    def step(self, problem, state):
        o = problem.options
        gradient = problem.numerical_gradient(problem.current, o["h"], o["difference"])
        return _flat(gradient, o["tol"]) or problem.current + o["step_size"] * gradient


class AnalyticGradient(Strategy):
    name = "analytic-gradient"
    doc = "step along the exact gradient from backprop (1 forward + 1 backward a step)"
    options = (_STEP, _TOL)

    def step(self, problem, state):
        o = problem.options
        gradient = problem.gradient(problem.current)
        return _flat(gradient, o["tol"]) or problem.current + o["step_size"] * gradient


class Momentum(Strategy):
    name = "momentum"
    doc = "gradient steps with a velocity: v = beta * v + grad, x += step_size * v"
    options = (
        _STEP,
        Option("beta", float, 0.9, "how much of the last velocity carries over", minimum=0.0,
               exclusive_maximum=1.0),
    )

    def init(self, problem):
        return {"velocity": np.zeros(problem.n)}

    def step(self, problem, state):
        o = problem.options
        state["velocity"] = o["beta"] * state["velocity"] + problem.gradient(problem.current)
        return problem.current + o["step_size"] * state["velocity"]


class Adam(Strategy):
    name = "adam"
    doc = "Adam: gradient steps scaled by running averages of the gradient and its square"
    options = (
        Option("step_size", float, 0.001, "the step size (learning rate)", exclusive_minimum=0.0),
        Option("beta1", float, 0.9, "decay of the gradient's running mean", minimum=0.0,
               exclusive_maximum=1.0),
        Option("beta2", float, 0.999, "decay of the squared gradient's running mean", minimum=0.0,
               exclusive_maximum=1.0),
        Option("eps", float, 1e-8, "keeps the division finite where the gradient is zero", exclusive_minimum=0.0),
    )

    def init(self, problem):
        return {"m": np.zeros(problem.n), "v": np.zeros(problem.n), "t": 0}

    def step(self, problem, state):
        o = problem.options
        g = problem.gradient(problem.current)
        state["t"] += 1
        state["m"] = o["beta1"] * state["m"] + (1 - o["beta1"]) * g
        state["v"] = o["beta2"] * state["v"] + (1 - o["beta2"]) * g * g
        m_hat = state["m"] / (1 - o["beta1"] ** state["t"])  # undo the bias towards the zero start
        v_hat = state["v"] / (1 - o["beta2"] ** state["t"])
        return problem.current + o["step_size"] * m_hat / (np.sqrt(v_hat) + o["eps"])
