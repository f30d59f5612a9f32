"""The strategy protocol (validation, options, description) and the built-in strategies."""

from __future__ import annotations

import types

import numpy as np
import pytest

import gatekit
from gatekit import Composer, Converged, Option, Strategy, optimize
from gatekit.strategy import coerce_options, describe_strategy
from gatekit.optimize import compare
from gatekit.strategy import validate_strategy

BUILTINS = ("adam", "analytic-gradient", "local-search", "momentum", "numerical-gradient", "random-search")


@pytest.fixture
def bowl(registry):
    """-(x - 1)^2 - (y + 2)^2: one peak, at (1, -2)."""
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(-((x - 1) ** 2) - (y + 2) ** 2)


# -- the built-ins ---------------------------------------------------------------------------
def test_the_builtins_are_registered_by_the_default_plugin(registry):
    assert tuple(registry.strategy_names()) == BUILTINS
    for name in BUILTINS:
        entry = registry.entry("strategy", name)
        assert entry.plugin.name == "gatekit_strategies" and entry.plugin.builtin
        assert validate_strategy(entry.obj) == []
    assert registry.provided_by("gatekit_strategies")["strategy"] == list(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_climbs_the_bowl(bowl, name):
    options = {"step_size": 0.05} if name != "random-search" else {"low": -3.0, "high": 3.0}
    result = optimize(bowl, {"x": 3.0, "y": 1.0}, name, steps=60, seed=0, **options)
    assert result.stop_reason == "steps"
    assert result.best_output > result.start_output
    assert result.best_output == max(r.best_output for r in result.history)


@pytest.mark.parametrize("name", ["analytic-gradient", "numerical-gradient", "momentum", "adam"])
def test_gradient_strategies_reach_the_peak(bowl, name):
    step = 0.1 if name == "adam" else 0.05
    result = optimize(bowl, {"x": 3.0, "y": 1.0}, name, steps=400, step_size=step)
    assert [result.final["x"], result.final["y"]] == pytest.approx([1.0, -2.0], abs=1e-3)


def test_momentum_starts_like_gradient_ascent_then_speeds_up(bowl):
    start = {"x": 3.0, "y": 1.0}
    plain = optimize(bowl, start, "analytic-gradient", steps=3, step_size=0.01)
    fast = optimize(bowl, start, "momentum", steps=3, step_size=0.01, beta=0.9)
    assert fast.history[0].output == plain.history[0].output  # v = grad on the first step
    assert fast.history[2].output > plain.history[2].output
    assert (fast.forward_evals, fast.backward_evals) == (plain.forward_evals, plain.backward_evals)


def test_adams_first_step_moves_each_input_by_the_step_size(bowl):
    result = optimize(bowl, {"x": 3.0, "y": 1.0}, "adam", steps=1, step_size=0.1)
    # m_hat / sqrt(v_hat) = g / |g| on the first step: a move of step_size uphill in each input.
    assert result.final["x"] == pytest.approx(2.9, abs=1e-7)
    assert result.final["y"] == pytest.approx(0.9, abs=1e-7)


def test_random_search_stays_in_its_box_and_keeps_the_best(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y)
    result = optimize(circuit, {"x": 0.0, "y": 0.0}, "random-search", steps=5, low=2.0, high=3.0, candidates=50, seed=4)
    assert all(2.0 <= v < 3.0 for v in result.best.values())
    assert result.final == result.best
    assert [r.output for r in result.history] == [r.best_output for r in result.history]


def test_local_search_never_moves_further_than_its_step_from_the_anchor(registry):
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(x * y)
    result = optimize(circuit, {"x": 1.0, "y": -3.0}, "local-search", steps=30, step_size=0.05, candidates=3,
                      anchor="start", seed=9)
    assert abs(result.best["x"] - 1.0) <= 0.05 and abs(result.best["y"] + 3.0) <= 0.05
    climbing = optimize(circuit, {"x": 1.0, "y": -3.0}, "local-search", steps=30, step_size=0.05, candidates=3, seed=9)
    assert abs(climbing.best["x"] - 1.0) > 0.05 or abs(climbing.best["y"] + 3.0) > 0.05


# -- options ---------------------------------------------------------------------------------
def test_coerce_options_fills_defaults_and_parses_strings(registry):
    numerical = registry.strategy("numerical-gradient")
    assert coerce_options(numerical, {}) == {"h": 1e-4, "difference": "forward", "step_size": 0.01, "tol": 0.0}
    assert coerce_options(numerical, {"h": "1e-6", "difference": " central ", "step-size": "0.5"}) == {
        "h": 1e-6, "difference": "central", "step_size": 0.5, "tol": 0.0}
    search = registry.strategy("random-search")
    assert coerce_options(search, {"candidates": "250", "low": -1})["candidates"] == 250
    assert type(coerce_options(search, {"low": -1})["low"]) is float


@pytest.mark.parametrize(
    "name, raw, words",
    [
        ("numerical-gradient", {"hh": 1}, ["unknown option 'hh'", "did you mean 'h'", "h (float, default 0.0001)",
                                           "difference (str, default 'forward')"]),
        ("numerical-gradient", {"difference": "sideways"}, ["one of forward, central", "'sideways'"]),
        ("numerical-gradient", {"h": "0"}, ["h", "> 0"]),
        ("numerical-gradient", {"h": "nan"}, ["finite"]),
        ("random-search", {"candidates": "ten"}, ["candidates", "integer", "'ten'"]),
        ("random-search", {"candidates": 0}, [">= 1"]),
        ("random-search", {"candidates": True}, ["candidates"]),
        ("random-search", {"low": "5", "high": "1"}, ["low (5.0) must be below high (1.0)"]),
        ("momentum", {"beta": 1.0}, ["beta", "in [0, 1)"]),
        ("local-search", {"anchor": "end"}, ["one of best, start"]),
    ],
)
def test_a_bad_option_is_an_option_error_listing_the_options(registry, name, raw, words):
    with pytest.raises(gatekit.OptionError) as info:
        coerce_options(registry.strategy(name), raw)
    for word in words:
        assert word in str(info.value)
    assert f"options of strategy {name!r}" in str(info.value)
    assert info.value.exit_code == 2


def test_bool_options_parse_the_usual_spellings():
    option = Option("verbose", bool, False, "say more")
    assert [option.parse(v) for v in ("true", "Yes", "on", "1", "false", "no", "OFF", "0", True)] == [
        True, True, True, True, False, False, False, False, True]
    with pytest.raises(ValueError, match="true or false"):
        option.parse("maybe")


def test_describe_strategy_gives_what_strategies_show_prints(registry):
    info = describe_strategy("local-search", registry)
    assert info["name"] == "local-search" and info["plugin"] == "gatekit_strategies"
    assert info["doc"] == registry.strategy("local-search").doc
    anchor = {o["name"]: o for o in info["options"]}["anchor"]
    assert anchor == {"name": "anchor", "type": "str", "default": "best", "choices": ["best", "start"],
                      "range": "one of best, start", "help": anchor["help"]}
    assert "lesson" in anchor["help"]
    assert {o["name"]: o["range"] for o in info["options"]}["step_size"] == "> 0"
    with pytest.raises(gatekit.UnknownNameError, match="did you mean 'local-search'"):
        describe_strategy("local_search", registry)


# -- validation at the registry's door ------------------------------------------------------
class Good(Strategy):
    name, doc = "good", "a valid strategy"
    options = (Option("size", float, 1.0, "how big"),)

    def step(self, problem, state):
        return problem.current


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda s: setattr(s, "name", "Bad Name"), "not a valid strategy name"),
        (lambda s: setattr(s, "doc", ""), "doc is missing"),
        (lambda s: setattr(s, "doc", "two\nlines"), "one line"),
        (lambda s: setattr(s, "step", None), "step is missing"),
        (lambda s: setattr(s, "options", ("size",)), "not a gatekit.Option"),
        (lambda s: setattr(s, "options", Option("size", float, 1.0, "x")), "must be a tuple"),
        (lambda s: setattr(s, "options", (Option("size", float, 1, "how big"),)), "default 1 is not a float"),
        (lambda s: setattr(s, "options", (Option("size", list, [], "how big"),)), "not one of float, int, str, bool"),
        (lambda s: setattr(s, "options", (Option("size", float, 1.0, ""),)), "help text is missing"),
        (lambda s: setattr(s, "options", (Option("step-size", float, 1.0, "h"),)), "identifier"),
        (lambda s: setattr(s, "options", (Option("a", str, "c", "h", choices=("x", "y")),)), "one of x, y"),
        (lambda s: setattr(s, "options", (Option("a", int, 1, "h"), Option("a", int, 2, "h"))), "declared twice"),
    ],
)
def test_validate_strategy_says_what_is_wrong(mutate, words):
    strategy = Good()
    assert validate_strategy(strategy) == []
    mutate(strategy)
    assert any(words in problem for problem in validate_strategy(strategy)), validate_strategy(strategy)


def test_validate_strategy_rejects_a_class():
    assert "not an instance" in validate_strategy(Good)[0]


def test_a_plugin_registering_an_invalid_strategy_is_a_load_error_not_a_crash():
    plugin = types.ModuleType("broken_strategies")

    @gatekit.hookimpl
    def gatekit_register_strategies(register):
        register(Good)  # the class, not an instance

    plugin.gatekit_register_strategies = gatekit_register_strategies
    registry = gatekit.load_registry(extra=[plugin], env={}, entry_points=())
    assert tuple(registry.strategy_names()) == BUILTINS
    [error] = registry.load_errors
    assert error.plugin == "broken_strategies" and error.stage == "register" and "not an instance" in error.message


# -- a third party's strategy ---------------------------------------------------------------
class SignStep(Strategy):
    """Moves each free input by a fixed amount in the direction of its gradient's sign."""

    name = "sign-step"
    doc = "move each free input by step_size towards its gradient's sign; stop where it is flat"
    options = (Option("step_size", float, 0.25, "how far to move each input", exclusive_minimum=0.0),)

    def init(self, problem):
        return {"steps_taken": 0}

    def step(self, problem, state):
        gradient = problem.gradient(problem.current)
        if not np.any(gradient):
            return Converged("flat gradient")
        state["steps_taken"] += 1
        return problem.current + problem.options["step_size"] * np.sign(gradient)


def _sign_step_plugin() -> types.ModuleType:
    plugin = types.ModuleType("sign_step_plugin")

    @gatekit.hookimpl
    def gatekit_register_strategies(register):
        register(SignStep())

    plugin.gatekit_register_strategies = gatekit_register_strategies
    return plugin


def test_a_third_party_strategy_runs_through_optimize_unchanged():
    registry = gatekit.load_registry(extra=[_sign_step_plugin()], env={}, entry_points=())
    assert registry.load_errors == []
    assert registry.entry("strategy", "sign-step").plugin.name == "sign_step_plugin"
    c = Composer(registry)
    x, y = c.inputs("x", "y")
    circuit = c.build(-((x - 1) ** 2) - (y + 2) ** 2)
    result = optimize(circuit, {"x": 0.0, "y": 0.0}, "sign-step", steps=20, registry=registry)
    # Sign steps of 0.25 land exactly on the peak: x after 4 steps, y after 8; then the gradient is flat.
    assert result.stop_reason == "converged" and result.stop_detail == "flat gradient"
    assert result.final == {"x": 1.0, "y": -2.0} and result.final_output == 0.0
    assert (result.forward_evals, result.backward_evals) == (1 + 8, 9)
    assert describe_strategy("sign-step", registry)["plugin"] == "sign_step_plugin"
    with pytest.raises(gatekit.OptionError, match=r"step_size \(float, default 0.25\)"):
        optimize(circuit, {"x": 0.0, "y": 0.0}, "sign-step", registry=registry, stepsize=1)
    names = [r.strategy for r in compare(circuit, {"x": 0.0, "y": 0.0}, steps=3, seed=0, registry=registry)]
    assert "sign-step" in names and len(names) == len(BUILTINS) + 1


def test_a_third_party_strategy_cannot_silently_take_a_builtins_name():
    plugin = types.ModuleType("impostor")

    @gatekit.hookimpl
    def gatekit_register_strategies(register):
        impostor = SignStep()
        impostor.name = "adam"
        register(impostor)

    plugin.gatekit_register_strategies = gatekit_register_strategies
    registry = gatekit.load_registry(extra=[plugin], env={}, entry_points=())
    assert registry.entry("strategy", "adam").plugin.name == "gatekit_strategies"
    assert "conflicts" in registry.load_errors[0].message
