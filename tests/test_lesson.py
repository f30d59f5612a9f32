"""The lesson's numbers (shared/seed/reference-numbers.md sections 2-5), as golden tests.

Figures without a stated tolerance are held to 1e-12; "about" figures get the
range the reference gives.
"""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from gatekit import Composer, check_circuit, optimize

START = {"x": 1.0, "y": -3.0}


@pytest.fixture
def neuron(registry):
    """Section 4: mul, mul, add, add, neg, exp, add 1, reciprocal."""
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs("w0 x0 w1 x1 w2")
    return c.build(c.reciprocal(1 + c.exp(-(w0 * x0 + w1 * x1 + w2))))


def test_the_circuits_backprop_agrees_with_central_differences(product, neuron):
    assert check_circuit(product, START).ok
    assert check_circuit(neuron, {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}).ok


# -- section 2: the four strategies on x * y from (1, -3) ------------------------------
def test_random_search_100_draws_in_the_lesson_box_reaches_20_to_25(product):
    bests = []
    for seed in range(20):
        result = optimize(product, START, "random-search", steps=1, seed=seed, low=-5.0, high=0.0, candidates=100)
        assert result.forward_evals == 101  # the start, then 100 candidates in one pass
        assert all(-5.0 <= v < 0.0 for v in result.best.values())
        assert result.best_output == pytest.approx(result.best["x"] * result.best["y"], abs=1e-12)
        bests.append(result.best_output)
    bests = np.array(bests)
    # 25 is the supremum on [-5, 0)^2; the chance that 100 draws stay under 20 is about 11 %.
    assert np.all(bests < 25.0) and np.all(bests > 15.0)
    assert np.mean(bests >= 20.0) >= 0.75


def test_the_lessons_local_search_nudging_the_start_gets_about_minus_2_96(product):
    # The lesson: 100 candidates, each start + 0.01 * U(-1, 1), keep the best.
    best_possible = (1 - 0.01) * (-3 + 0.01)  # both nudges at their full size, uphill
    for seed in range(10):
        result = optimize(product, START, "local-search", steps=100, seed=seed, anchor="start", candidates=1,
                          step_size=0.01)
        assert -2.975 < result.best_output <= best_possible
        assert all(abs(result.best[k] - START[k]) <= 0.01 for k in START)


def test_hill_climbing_local_search_does_better_than_the_lessons_variant(product):
    for seed in range(10):
        lesson = optimize(product, START, "local-search", steps=100, seed=seed, anchor="start", candidates=1)
        climbing = optimize(product, START, "local-search", steps=100, seed=seed, candidates=1)
        assert climbing.forward_evals == lesson.forward_evals == 101  # same budget
        assert climbing.best_output > lesson.best_output + 0.1


def test_numerical_gradient_forward_differences_and_one_step(product):
    problem = gatekit.Problem(product, ("x", "y"), {})
    gradient = problem.numerical_gradient(np.array([1.0, -3.0]), h=1e-4, difference="forward")
    # The lesson printed -3.00000000000189 and 1.0000000000021103: the same float arithmetic.
    assert gradient[0] == pytest.approx(-3.0, abs=1e-9)
    assert gradient[1] == pytest.approx(1.0, abs=1e-9)
    assert gradient[0] == pytest.approx(-3.00000000000189, abs=1e-15)
    assert gradient[1] == pytest.approx(1.0000000000021103, abs=1e-15)
    result = optimize(product, START, "numerical-gradient", steps=1, h=1e-4, difference="forward", step_size=0.01)
    assert result.final_output == pytest.approx(-2.9003, abs=1e-12)


def test_analytic_gradient_one_step(product):
    output, grads = product.gradient(START)
    assert grads == {"x": -3.0, "y": 1.0}
    result = optimize(product, START, "analytic-gradient", steps=1, step_size=0.001)
    assert result.final_output == pytest.approx(-2.990003, abs=1e-12)


# -- section 3: (x + y) * z --------------------------------------------------------------
def test_sum_times_z_one_step(registry):
    c = Composer(registry)
    x, y, z = c.inputs("x", "y", "z")
    circuit = c.build((x + y).named("q") * z)
    start = {"x": -2.0, "y": 5.0, "z": -4.0}
    assert check_circuit(circuit, start).ok
    result = optimize(circuit, start, "analytic-gradient", steps=1, step_size=0.01)
    assert result.start_output == -12.0
    assert result.final_output == pytest.approx(-11.5924, abs=1e-12)


# -- section 4: the neuron, w2 held -----------------------------------------------------
def test_neuron_one_step_holding_w2(neuron):
    start = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    result = optimize(neuron, start, "analytic-gradient", steps=1, step_size=0.001, hold=["w2"])
    assert result.start_output == pytest.approx(0.7310585786300049, abs=1e-12)
    assert result.final_output == pytest.approx(0.7317538522828431, abs=1e-12)
    assert result.final["w2"] == -3.0


# -- section 5: the classic write-up's neuron -----------------------------------------
def test_classic_neuron_one_step(registry):
    c = Composer(registry)
    a, b, cc, x, y = c.inputs("a b c x y")
    circuit = c.build(c.sigmoid(a * x + b * y + cc))
    start = {"a": 1.0, "b": 2.0, "c": -3.0, "x": -1.0, "y": 3.0}
    assert check_circuit(circuit, start).ok
    result = optimize(circuit, start, "analytic-gradient", steps=1, step_size=0.01)
    assert result.start_output == pytest.approx(0.8807970779778823, abs=1e-12)
    assert result.final_output == pytest.approx(0.8825, abs=1e-4)
