"""One name for one idea, and no silent surprises: what a library user trips over first."""

from __future__ import annotations

import json
import math

import pytest

import gatekit
from gatekit.errors import CircuitError, OptionError, UsageError


def test_abs_of_a_wire_is_the_abs_gate_with_its_gradient():
    c = gatekit.Composer()
    (x,) = c.inputs("x")
    circuit = c.build(abs(x) * x)
    assert [node.name for node in circuit.nodes if node.kind == "gate"] == ["abs", "mul"]
    out, grads = circuit.gradient(x=-3.0)
    assert (out, grads["x"]) == (-9.0, 6.0)  # d/dx of -x*x at -3
    assert gatekit.check_circuit(circuit, {"x": -1.7}).ok


@pytest.mark.parametrize(
    "keyword, fragment",
    [
        ({"maximise": False}, "did you mean its own parameter 'maximize'"),
        ({"minimize": True}, "to minimize, pass maximize=False"),
        ({"minimise": True}, "to minimize, pass maximize=False"),
        ({"seeds": 1}, "its own parameter 'seed'"),
        ({"budjet": 3}, "its own parameter 'budget'"),
    ],
)
def test_a_slip_in_optimizes_own_names_is_named_as_such(keyword, fragment):
    for call in (
        lambda: gatekit.optimize(gatekit.parse("x * y"), {"x": 1, "y": -3}, "adam", steps=1, **keyword),
        lambda: gatekit.compare(gatekit.parse("x * y"), {"x": 1, "y": -3}, steps=1, **keyword),
    ):
        with pytest.raises(UsageError, match=fragment) as caught:
            call()
        assert "adam" not in str(caught.value).split("(")[0]


def test_a_strategy_option_is_still_a_strategy_option():
    with pytest.raises(OptionError, match="unknown option 'tol' for strategy 'adam'"):
        gatekit.optimize(gatekit.parse("x * y"), {"x": 1, "y": -3}, "adam", steps=1, tol=1e-3)
    result = gatekit.optimize(gatekit.parse("x * y"), {"x": 1, "y": -3}, "adam", steps=1, step_size=0.5)
    assert result.options["step_size"] == 0.5


def test_the_cli_says_maximize_and_minimize_as_its_flag_and_parameter_do():
    from cli_helpers import invoke

    up = invoke("optimize", "x * y", "x=1", "y=-3", "--steps", "1")
    down = invoke("optimize", "x * y", "x=1", "y=-3", "--steps", "1", "--minimize")
    assert "analytic-gradient: maximize," in up.stdout and "analytic-gradient: minimize," in down.stdout
    assert "maximise" not in up.stdout + down.stdout and "minimise" not in down.stdout
    from gatekit.notebook import result_html

    result = gatekit.optimize(gatekit.parse("x * y"), {"x": 1, "y": -3}, steps=1, maximize=False)
    assert "analytic-gradient: minimize, 1 step(s)" in result_html(result)


def test_numerical_gradient_takes_difference_and_warns_on_method():
    f = lambda v: v["x"] ** 3  # noqa: E731
    new = gatekit.numerical_gradient(f, {"x": 2.0}, h=1e-4, difference="forward")
    with pytest.deprecated_call(match=r"numerical_gradient\(method=...\) is deprecated; use difference="):
        old = gatekit.numerical_gradient(f, {"x": 2.0}, h=1e-4, method="forward")
    assert new == old and not math.isclose(new["x"], 12.0, abs_tol=1e-4)  # forward, not central
    assert math.isclose(gatekit.numerical_gradient(f, {"x": 2.0}, h=1e-4)["x"], 12.0, abs_tol=1e-7)


def test_check_gate_counts_rounds_and_warns_on_points():
    sigmoid = gatekit.default_registry().gate("sigmoid")
    result = gatekit.check_gate(sigmoid, rounds=2)
    assert result.ok and result.points_checked == 2 * 3  # each round: scalars, equal arrays, broadcast arrays
    with pytest.deprecated_call(match=r"check_gate\(points=...\) is deprecated; use rounds="):
        old = gatekit.check_gate(sigmoid, points=2)
    assert old.points_checked == result.points_checked


def test_the_cli_check_takes_rounds_and_its_old_name_with_a_warning():
    from cli_helpers import invoke, run_json

    old = invoke("check", "mul", "--points", "2", "--json")
    assert old.exit_code == 0 and json.loads(old.stdout) == run_json("check", "mul", "--rounds", "2")
    assert old.stderr.strip() == "Warning: gatekit check --points is deprecated; use --rounds"
    assert "--points" not in invoke("check", "--help").stdout


def test_building_a_number_is_refused_with_a_clear_error():
    c = gatekit.Composer()
    c.inputs("x")
    with pytest.raises(CircuitError, match=r"build\(\): the output must be a wire .* got 3"):
        c.build(3)


def test_grad_before_backward_runs_backward_once_seeded_with_one():
    trace = gatekit.parse("x * y").forward(x=2.0, y=3.0)
    assert trace.grads is None
    assert trace.grad("x") == 3.0 and trace.grads is not None
    assert "runs ``backward()`` itself" in gatekit.Trace.grad.__doc__


def test_a_strategy_option_may_not_take_one_of_optimizes_own_names():
    class Seeded(gatekit.Strategy):
        name, doc = "seeded", "a strategy whose option would be swallowed by optimize(seed=)"
        options = (gatekit.Option("seed", int, 0, "which seed"),)

        def step(self, problem, state):
            return problem.current

    problems = gatekit.strategy.validate_strategy(Seeded())
    assert problems == ["option 'seed' takes the name of one of gatekit.optimize's own parameters (circuit, start, "
                        "strategy, strategies, steps, maximize, hold, seed, budget, registry, progress); give it "
                        "another name"]
