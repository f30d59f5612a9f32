"""Held inputs may be arrays: the data a circuit is fitted to, held while its parameters move."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from gatekit import UsageError


def least_squares(registry):
    return gatekit.parse("mean((a * x + b - y) ** 2)", registry=registry)


def test_optimize_fits_a_line_to_held_data_arrays(registry):
    x = np.linspace(-1.0, 1.0, 20)
    y = 3.0 * x - 0.5
    result = gatekit.optimize(least_squares(registry), {"a": 0.0, "b": 0.0, "x": x, "y": y}, "analytic-gradient",
                              steps=60, maximize=False, hold=["x", "y"], step_size=0.5)
    assert result.final["a"] == pytest.approx(3.0, abs=1e-3)
    assert result.final["b"] == pytest.approx(-0.5, abs=1e-6)
    np.testing.assert_array_equal(result.final["x"], x)  # the data come back as they went in
    assert (result.forward_evals, result.backward_evals) == (61, 60)


@pytest.mark.parametrize("strategy", ["random-search", "local-search", "numerical-gradient"])
def test_batched_candidates_are_evaluated_one_by_one_against_held_data(registry, strategy):
    # A candidate batch cannot share an axis with the data; the counts stay k forwards.
    x = np.linspace(-1.0, 1.0, 7)
    circuit = least_squares(registry)
    start = {"a": 0.0, "b": 0.0, "x": x, "y": 2.0 * x}
    result = gatekit.optimize(circuit, start, strategy, steps=3, maximize=False, hold="x y", seed=1)
    assert result.final_output <= result.start_output
    manual = float(np.mean((result.final["a"] * x + result.final["b"] - 2.0 * x) ** 2))
    assert result.final_output == pytest.approx(manual, rel=1e-12)
    candidates = {"random-search": 100, "local-search": 10, "numerical-gradient": 2}[strategy]
    assert result.forward_evals == 1 + 3 * candidates + (3 if strategy == "numerical-gradient" else 0)


def test_free_inputs_may_be_arrays_too_the_point_is_their_elements_flattened(registry):
    # W (2,) is free: the problem sees 3 coordinates, named W[0], W[1] and b.
    circuit = gatekit.parse("mean((linear(W, x, b) - y) ** 2)", registry=registry)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = x @ np.array([2.0, -1.0]) + 0.5
    result = gatekit.optimize(circuit, {"W": np.zeros(2), "b": 0.0, "x": x, "y": y}, "analytic-gradient",
                              steps=400, maximize=False, hold="x y", step_size=0.3)
    np.testing.assert_allclose(result.final["W"], [2.0, -1.0], atol=1e-6)
    assert result.final["b"] == pytest.approx(0.5, abs=1e-6) and result.final["W"].shape == (2,)
    problem = gatekit.Problem(circuit, ("W", "b"), {"x": x, "y": y}, shapes={"W": (2,)})
    assert problem.names == ("W[0]", "W[1]", "b") and problem.n == 3


def test_an_empty_free_array_is_refused(registry):
    with pytest.raises(UsageError, match="free input 'a' is an empty array"):
        gatekit.optimize(least_squares(registry), {"a": np.ones(0), "b": 0.0, "x": 1.0, "y": 1.0}, hold="x y")


def test_held_data_with_a_nan_is_refused_before_any_evaluation(registry):
    with pytest.raises(UsageError, match="held input 'x' must be finite"):
        gatekit.optimize(least_squares(registry), {"a": 0.0, "b": 0.0, "x": [1.0, np.nan], "y": [1.0, 2.0]},
                         hold="x y")


def test_an_output_that_is_still_an_array_says_to_reduce_it(registry):
    circuit = gatekit.parse("a * x", registry=registry)
    with pytest.raises(UsageError, match="one number to optimise.*sum or mean gate"):
        gatekit.optimize(circuit, {"a": 1.0, "x": np.ones(3)}, hold="x")
