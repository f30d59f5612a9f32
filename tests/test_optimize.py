"""optimize() and compare(): the loop, the counts, the budget, holding, minimising, stops, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gatekit
from gatekit import Composer, Gate, optimize
from gatekit.optimize import compare

START = {"x": 1.0, "y": -3.0}


@pytest.fixture
def bowl(registry):
    """-(x - 1)^2 - (y + 2)^2 - (z - 3)^2: one peak, at (1, -2, 3)."""
    c = Composer(registry)
    x, y, z = c.inputs("x y z")
    return c.build(-((x - 1) ** 2) - (y + 2) ** 2 - (z - 3) ** 2)


BOWL_START = {"x": 0.0, "y": 0.0, "z": 0.0}


# -- honest counts ----------------------------------------------------------------------
def _per_step(result, key):
    counts = [1 if key == "forward" else 0] + [getattr(r, key) for r in result.history]
    return set(np.diff(counts))


def test_analytic_gradient_costs_one_forward_and_one_backward_a_step(bowl):
    result = optimize(bowl, BOWL_START, "analytic-gradient", steps=7)
    assert _per_step(result, "forward") == {1} and _per_step(result, "backward") == {1}
    assert (result.forward_evals, result.backward_evals) == (8, 7)


def test_forward_differences_cost_n_plus_1_forwards_a_step(bowl):
    result = optimize(bowl, BOWL_START, "numerical-gradient", steps=5, difference="forward")
    assert _per_step(result, "forward") == {3 + 1}
    assert result.backward_evals == 0


def test_central_differences_cost_2n_plus_the_landing_point(bowl):
    result = optimize(bowl, BOWL_START, "numerical-gradient", steps=5, difference="central")
    # 2n for the gradient, 1 to evaluate where the step landed (forward differences
    # reuse that evaluation as their f(x); central differences cannot).
    assert _per_step(result, "forward") == {2 * 3 + 1}


def test_the_problems_gradients_cost_what_they_say(bowl):
    problem = gatekit.Problem(bowl, ("x", "y", "z"), {})
    point = np.array([0.5, 0.5, 0.5])
    problem.numerical_gradient(point, difference="central")
    assert problem.forward_evals == 6
    problem.numerical_gradient(point, difference="forward")  # not the current point: f(x) too
    assert problem.forward_evals == 6 + 4
    problem.gradient(point)
    assert (problem.forward_evals, problem.backward_evals) == (11, 1)
    problem.scores(np.zeros((17, 3)))
    assert problem.forward_evals == 28


def test_numerical_and_analytic_gradients_agree(bowl):
    problem = gatekit.Problem(bowl, ("x", "y", "z"), {})
    point = np.array([0.3, -0.7, 2.0])
    exact = problem.gradient(point)
    assert exact == pytest.approx([2 * (1 - 0.3), -2 * (-0.7 + 2), -2 * (2.0 - 3)], abs=1e-12)
    assert problem.numerical_gradient(point, h=1e-5, difference="central") == pytest.approx(exact, abs=1e-8)


def test_searches_count_every_candidate(product):
    result = optimize(product, START, "random-search", steps=3, candidates=40, seed=1)
    assert _per_step(result, "forward") == {40}
    result = optimize(product, START, "local-search", steps=3, candidates=7, seed=1)
    assert _per_step(result, "forward") == {7}


# -- the budget -------------------------------------------------------------------------
def test_budget_stops_before_an_evaluation_it_cannot_pay_for(bowl):
    result = optimize(bowl, BOWL_START, "numerical-gradient", steps=100, budget=10)
    assert result.stop_reason == "budget"
    # start 1, then 2 steps of n + 1 = 4; the third step's 3 differences would make 12.
    assert result.forward_evals == 9 and result.steps_done == 2
    assert result.stop_detail == "the next evaluation needs 3 forward(s); 1 of 10 left"


def test_budget_applies_to_batches_whole(product):
    result = optimize(product, START, "random-search", steps=10, candidates=100, budget=250, seed=0)
    assert result.stop_reason == "budget" and result.forward_evals == 201 and result.steps_done == 2


def test_budget_must_allow_the_start():
    with pytest.raises(gatekit.UsageError, match="budget"):
        optimize(_product(), START, budget=0)


# -- hold, minimise, converge -----------------------------------------------------------
def test_hold_keeps_inputs_fixed_and_out_of_the_strategys_sight(bowl):
    seen = []

    class Spy(gatekit.Strategy):
        name, doc = "spy", "records what it sees, then climbs"

        def step(self, problem, state):
            seen.append(problem.names)
            return problem.current + 0.1 * problem.gradient(problem.current)

    start = {"x": 0.0, "y": 5.0, "z": 0.0}
    result = optimize(bowl, start, Spy(), steps=3, hold=["y"])
    assert seen == [("x", "z")] * 3
    assert result.final["y"] == result.best["y"] == 5.0
    assert result.final["x"] != 0.0 and result.final["z"] != 0.0
    assert result.held == ("y",)


def test_held_inputs_may_come_from_the_circuits_defaults(registry):
    c = Composer(registry)
    w, x = c.inputs("w", "x")
    circuit = c.build(w * x, defaults={"x": 2.0})
    result = optimize(circuit, {"w": 1.0}, steps=1, step_size=0.5, hold="x")
    assert result.final == {"w": 2.0, "x": 2.0}


def test_minimise(product):
    result = optimize(product, START, "analytic-gradient", steps=1, step_size=0.001, maximize=False)
    # descending: x -= 0.001 * (-3), y -= 0.001 * 1
    assert result.final_output == pytest.approx((1 + 0.003) * (-3 - 0.001), abs=1e-12)
    assert result.final_output < result.start_output
    for strategy in ("random-search", "local-search", "numerical-gradient", "momentum", "adam"):
        result = optimize(product, START, strategy, steps=20, maximize=False, seed=3)
        assert result.best_output < result.start_output, strategy
        assert result.best_output == min(r.output for r in result.history), strategy
        assert result.best_output == min(r.best_output for r in result.history), strategy


def test_best_is_the_best_point_visited(product):
    # Big gradient steps on x * y overshoot and oscillate; best must still be the max seen.
    result = optimize(product, START, "analytic-gradient", steps=30, step_size=0.8)
    outputs = [result.start_output] + [r.output for r in result.history]
    assert result.best_output == max(outputs)
    assert result.best_output == pytest.approx(result.best["x"] * result.best["y"], abs=0)
    assert [r.best_output for r in result.history] == list(np.maximum.accumulate(outputs)[1:])


def test_a_flat_gradient_converges(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.relu(x))
    result = optimize(circuit, {"x": -1.0}, "analytic-gradient", steps=50)
    assert result.stop_reason == "converged" and result.steps_done == 1
    assert "tol" in result.stop_detail
    assert result.final == {"x": -1.0}


def test_tolerance_stops_near_the_peak(bowl):
    result = optimize(bowl, BOWL_START, "analytic-gradient", steps=10_000, step_size=0.1, tol=1e-6)
    assert result.stop_reason == "converged" and result.steps_done < 200
    assert list(result.final.values()) == pytest.approx([1.0, -2.0, 3.0], abs=1e-6)


# -- non-finite values --------------------------------------------------------------------
def test_non_finite_output_stops_and_names_the_node(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.log(x, label="lg"))
    result = optimize(circuit, {"x": 0.5}, "analytic-gradient", steps=10, step_size=1.0, maximize=False)
    # d/dx log = 2 at 0.5, so one descent step of 1 lands on x = -1.5: log(-1.5) is nan.
    assert result.stop_reason == "non-finite"
    assert "'lg'" in result.stop_detail and "log" in result.stop_detail and "nan" in result.stop_detail
    assert "x=-1.5" in result.stop_detail
    assert result.final == {"x": 0.5} and np.isfinite(result.final_output)
    json.dumps(result.to_dict(), allow_nan=False)


def test_non_finite_candidate_in_a_batch_stops(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.log(x, label="lg"))
    result = optimize(circuit, {"x": 0.5}, "random-search", steps=5, low=-1.0, high=1.0, seed=0)
    assert result.stop_reason == "non-finite" and "'lg'" in result.stop_detail
    bad = float(result.stop_detail.rsplit("x=", 1)[1])
    assert bad < 0


def test_non_finite_gradient_stops_and_names_where(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(x**0.5)
    result = optimize(circuit, {"x": 0.0}, "analytic-gradient", steps=5)
    assert result.stop_reason == "non-finite"
    assert "gradient" in result.stop_detail and "'x'" in result.stop_detail and "inf" in result.stop_detail


def test_a_non_finite_start_is_an_error(registry):
    c = Composer(registry)
    (x,) = c.inputs("x")
    circuit = c.build(c.log(x))
    with pytest.raises(gatekit.NonFiniteError, match="start"):
        optimize(circuit, {"x": -1.0})


# -- bad input, each before any work ------------------------------------------------------
class CountingGate(Gate):
    name, arity = "counted", 1
    doc = "counted(x) = x (counts its forward calls)"
    calls = 0

    def forward(self, x):
        CountingGate.calls += 1
        return x

    def backward(self, grad, out, x):
        return (grad,)


@pytest.fixture
def counted(registry):
    registry.add_gate(CountingGate(), "test")
    CountingGate.calls = 0
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(c.counted(x) * y)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"strategy": "anlytic-gradient"}, gatekit.UnknownNameError, ["did you mean", "analytic-gradient"]),
        ({"stepsize": 0.1}, gatekit.OptionError, ["did you mean", "step_size", "tol (float, default 0.0)"]),
        ({"step_size": "big"}, gatekit.OptionError, ["step_size", "number", "'big'"]),
        ({"step_size": -1.0}, gatekit.OptionError, ["step_size", "> 0"]),
        ({"strategy": "random-search", "candidates": 2.5}, gatekit.OptionError, ["candidates", "integer"]),
        ({"strategy": "random-search", "low": 1.0, "high": 0.0}, gatekit.OptionError, ["low", "below"]),
        ({"hold": ["w"]}, gatekit.UnknownNameError, ["'w'", "hold"]),
        ({"start": {"x": 1.0}}, gatekit.UsageError, ["'y' (free)"]),
        ({"start": {"x": 1.0}, "hold": ["y"]}, gatekit.UsageError, ["'y' (held)"]),
        ({"start": {"x": 1.0, "y": 2.0, "q": 3.0}}, gatekit.UnknownNameError, ["'q'", "start"]),
        ({"start": {"x": float("nan"), "y": 2.0}}, gatekit.UsageError, ["finite"]),
        ({"start": {"x": "one", "y": 2.0}}, gatekit.UsageError, ["real number", "'one'"]),  # arrays are fine, text is not
        ({"steps": 0}, gatekit.UsageError, ["steps", "at least 1"]),
        ({"steps": 2.5}, gatekit.UsageError, ["steps"]),
        ({"hold": ["x", "y"]}, gatekit.UsageError, ["nothing is left"]),
        ({"seed": -1}, gatekit.UsageError, ["seed"]),
    ],
)
def test_bad_input_is_one_clear_error_before_any_evaluation(counted, kwargs, error, words):
    kwargs = {"start": START, **kwargs}
    with pytest.raises(error) as info:
        optimize(counted, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert CountingGate.calls == 0


def test_a_strategy_object_that_is_not_a_strategy_is_rejected(product):
    with pytest.raises(gatekit.errors.GateValidationError, match="step"):
        optimize(product, START, strategy=object())


# -- what optimize reports ---------------------------------------------------------------
def test_result_to_dict_is_the_clis_json_shape(product):
    result = optimize(product, START, "local-search", steps=3, seed=0)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    for key in ("strategy", "start_output", "final_output", "best_output", "start", "final", "best",
                "evaluations", "history", "stop_reason", "seconds"):
        assert key in data
    assert data["strategy"] == "local-search"
    assert data["start"] == START and data["start_output"] == -3.0
    assert data["evaluations"] == {"forward": result.forward_evals, "backward": 0}
    assert [h["step"] for h in data["history"]] == [1, 2, 3]
    assert set(data["history"][0]) == {"step", "output", "best_output", "forward", "backward", "point"}
    assert data["options"] == {"step_size": 0.01, "candidates": 10, "anchor": "best"}
    assert data["stop_reason"] == "steps" and data["seconds"] >= 0
    assert all(type(v) is float for v in data["final"].values())


def test_progress_is_called_after_every_step(product):
    calls = []
    optimize(product, START, steps=4, progress=lambda step, steps: calls.append((step, steps)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_start_falls_back_to_the_circuits_defaults(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y, defaults={"x": 1.0, "y": -3.0})
    assert optimize(circuit, steps=1, step_size=0.001).final_output == pytest.approx(-2.990003, abs=1e-12)


@pytest.mark.parametrize("strategy", ["random-search", "local-search", "momentum", "adam", "numerical-gradient"])
def test_a_seed_reproduces_a_run(product, strategy):
    first = optimize(product, START, strategy, steps=5, seed=42)
    again = optimize(product, START, strategy, steps=5, seed=42)
    assert first.history == again.history and first.best == again.best and first.final == again.final
    assert first.seed == again.seed == 42


def test_different_seeds_draw_differently_and_an_unseeded_run_reports_its_seed(product):
    a = optimize(product, START, "random-search", steps=1, seed=1)
    b = optimize(product, START, "random-search", steps=1, seed=2)
    assert a.best != b.best
    free = optimize(product, START, "random-search", steps=1)
    assert optimize(product, START, "random-search", steps=1, seed=free.seed).best == free.best


def test_string_options_from_a_command_line_are_parsed(product):
    result = optimize(product, START, "numerical-gradient", steps=1, **{"step-size": "0.01", "h": "1e-4",
                                                                          "difference": "central"})
    assert result.options == {"h": 1e-4, "difference": "central", "step_size": 0.01, "tol": 0.0}
    assert result.final_output == pytest.approx(0.97 * -2.99, abs=1e-9)


# -- strategies that misbehave -----------------------------------------------------------
def test_a_strategy_that_raises_is_reported_as_its_fault(product):
    class Broken(gatekit.Strategy):
        name, doc = "broken", "raises"

        def step(self, problem, state):
            raise ZeroDivisionError("oops")

    with pytest.raises(gatekit.strategy.StrategyContractError, match="'broken' raised ZeroDivisionError: oops"):
        optimize(product, START, Broken(), steps=2)


def test_a_strategy_that_returns_a_bad_point_is_reported(product):
    class Short(gatekit.Strategy):
        name, doc = "short", "returns one number for two inputs"

        def step(self, problem, state):
            return [1.0]

    with pytest.raises(gatekit.strategy.StrategyContractError, match=r"shape \(1,\).*expected 2"):
        optimize(product, START, Short(), steps=2)


def test_a_strategy_that_misuses_the_problem_is_named(product):
    class Flat(gatekit.Strategy):
        name, doc = "flat", "evaluates a batch of the wrong shape"

        def step(self, problem, state):
            return problem.scores(np.zeros(6))

    with pytest.raises(gatekit.strategy.StrategyContractError, match=r"strategy 'flat'.*shape \(k, 2\)"):
        optimize(product, START, Flat(), steps=2)


def test_a_strategy_that_swallows_the_stop_is_stopped_anyway(product):
    class Stubborn(gatekit.Strategy):
        name, doc = "stubborn", "ignores running out of budget"

        def step(self, problem, state):
            try:
                problem.scores(problem.rng.uniform(-1, 1, size=(5, 2)))
            except Exception:
                pass
            return problem.current

    result = optimize(product, START, Stubborn(), steps=10, budget=12)
    assert result.stop_reason == "budget" and result.forward_evals == 11 and result.steps_done == 2


# -- compare -----------------------------------------------------------------------------
def test_compare_runs_every_strategy_on_the_same_terms(product, registry):
    results = compare(product, START, steps=5, seed=0, step_size=0.01, candidates=20)
    assert [r.strategy for r in results] == registry.strategy_names()
    assert {r.start_output for r in results} == {-3.0}
    assert all(r.steps_done == 5 for r in results)
    by_name = {r.strategy: r for r in results}
    assert by_name["random-search"].options["candidates"] == 20
    assert by_name["analytic-gradient"].options == {"step_size": 0.01, "tol": 0.0}
    assert by_name["analytic-gradient"].backward_evals == 5 and by_name["random-search"].backward_evals == 0
    assert by_name["random-search"].forward_evals == 101


def test_compare_named_strategies_and_budget(product):
    results = compare(product, START, strategies=["analytic-gradient", "numerical-gradient"], steps=50, budget=9)
    assert [r.strategy for r in results] == ["analytic-gradient", "numerical-gradient"]
    assert all(r.forward_evals <= 9 for r in results)
    assert results[0].steps_done == 8 and results[1].steps_done == 2


def test_compare_rejects_an_option_no_strategy_has(product):
    with pytest.raises(gatekit.OptionError, match="none of the strategies"):
        compare(product, START, strategies=["analytic-gradient"], candidates=5)


def _product():
    c = Composer()
    x, y = c.inputs("x", "y")
    return c.build(x * y)
