"""The gate protocol (gatekit/gate.py): the base class, Domain and Interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import Domain, Gate, Interval, assert_gate_gradients
from gatekit.errors import GateValidationError
from gatekit.gate import DEFAULT_DOMAIN, OPERATOR_SYMBOLS
from gatekit.registry import validate_gate


class SoftPlus(Gate):
    """A new gate in a dozen lines: the base class supplies symbol, grad_doc and domain."""

    name, arity = "softplus", 1
    doc = "softplus(x) = log(1 + exp(x))"

    def forward(self, x):
        return np.logaddexp(0.0, x)

    def backward(self, grad, out, x):
        return (grad * np.exp(x - out),)  # sigmoid(x) = exp(x - softplus(x))


def test_a_dozen_line_gate_is_valid_and_checks_out(registry):
    gate = SoftPlus()
    assert validate_gate(gate) == []
    assert gate.symbol is None and gate.grad_doc is None and gate.domain is DEFAULT_DOMAIN
    assert isinstance(gate, Gate)  # the runtime-checkable protocol
    assert_gate_gradients(gate)
    registry.add_gate(gate, "softplus-plugin")
    assert registry.gate("softplus") is gate


def test_builtin_gates_satisfy_the_protocol(registry):
    for name in registry.gate_names():
        assert isinstance(registry.gate(name), Gate)


def test_the_operator_symbols():
    assert OPERATOR_SYMBOLS == {2: ("+", "-", "*", "/", "**"), 1: ("-",)}


def test_the_default_domain():
    assert DEFAULT_DOMAIN.intervals == (Interval(-3.0, 3.0),) and DEFAULT_DOMAIN.kink is None


# -- Interval ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    low=st.floats(-100, 99),
    width=st.floats(0.01, 100),
)
def test_interval_samples_stay_inside(seed, low, width):
    interval = Interval(low, low + width)
    x = interval.sample(np.random.default_rng(seed), (50,))
    assert x.shape == (50,)
    assert np.all((x >= interval.low) & (x <= interval.high))
    assert np.all(interval.contains(x))


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    low=st.floats(-5, -0.01),
    high=st.floats(0.2, 5),
    margin=st.floats(0.001, 0.1),
)
def test_away_from_zero_keeps_clear_of_the_pole_and_inside(seed, low, high, margin):
    interval = Interval(low, high, away_from_zero=True, margin=margin)
    x = interval.sample(np.random.default_rng(seed), (200,))
    assert np.all(np.abs(x) >= margin)
    assert np.all((x >= low) & (x <= high))
    assert np.all(interval.contains(x))


def test_away_from_zero_on_a_lopsided_interval():
    # Little room below zero: points pushed out of (-0.1, 0.1) must land on the roomy side.
    interval = Interval(-0.15, 3.0, away_from_zero=True)
    x = interval.sample(np.random.default_rng(0), (5000,))
    assert np.all(interval.contains(x))


def test_contains():
    interval = Interval(-1.0, 1.0, away_from_zero=True, margin=0.5)
    np.testing.assert_array_equal(interval.contains([-2.0, -1.0, -0.4, 0.0, 0.5, 1.0, 1.5]),
                                  [False, True, False, False, True, True, False])  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"low": 3.0, "high": 1.0}, "low=3.0 must be below high=1.0"),
        ({"low": 1.0, "high": 1.0}, "must be below"),
        ({"low": math.nan}, "low=nan must be a finite number"),
        ({"high": math.inf}, "high=inf must be a finite number"),
        ({"low": True}, "low=True must be a finite number"),
        ({"low": "0"}, "low='0' must be a finite number"),
        ({"low": 0.01, "high": 0.05, "away_from_zero": True}, "room of 2 * margin"),
        ({"away_from_zero": True, "margin": 0.0}, "positive margin"),
    ],
)
def test_a_bad_interval_is_an_error_when_defined(kwargs, fragment):
    with pytest.raises(GateValidationError, match=fragment.replace("*", r"\*")):
        Interval(**kwargs)


def test_numpy_numbers_make_an_interval():
    interval = Interval(np.float64(0.1), np.int64(3))
    assert interval.contains(1.0)


# -- Domain ------------------------------------------------------------------------------


def test_one_interval_serves_every_argument():
    positive = Interval(0.1, 3.0)
    for domain in (Domain(positive), Domain((positive,)), Domain([positive])):
        assert domain.intervals == (positive,)
        assert domain.interval(0) == domain.interval(5) == positive
    xs = Domain(positive).sample(np.random.default_rng(1), 3, (4,))
    assert len(xs) == 3 and all(x.shape == (4,) and np.all(x >= 0.1) for x in xs)


def test_the_last_interval_serves_further_arguments():
    domain = Domain((Interval(), Interval(0.1, 3.0)))
    assert domain.interval(0) == Interval()
    assert domain.interval(1) == domain.interval(2) == Interval(0.1, 3.0)
    assert domain.describe(3) == "x0 in [-3, 3]; x1 in [0.1, 3]; x2 in [0.1, 3]"


def test_describe_mentions_the_pole():
    domain = Domain((Interval(), Interval(away_from_zero=True)))
    assert domain.describe(2) == "x0 in [-3, 3]; x1 in [-3, 3] with |x1| >= 0.1"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"intervals": ()}, "non-empty tuple"),
        ({"intervals": (0.1, 3.0)}, "one gatekit.Interval or a non-empty tuple"),
        ({"intervals": "x > 0"}, "one gatekit.Interval"),
        ({"kink": 0.0}, "kink must be a function"),
    ],
)
def test_a_bad_domain_is_an_error_when_defined(kwargs, fragment):
    with pytest.raises(GateValidationError, match=fragment):
        Domain(**kwargs)


def test_a_bad_domain_in_a_plugin_is_a_load_error(tmp_path):
    plugin = tmp_path / "bad_domain.py"
    plugin.write_text(
        "import gatekit\n"
        "class Root(gatekit.Gate):\n"
        "    name, arity, doc = 'root', 1, 'root(x) = x ** 0.5'\n"
        "    domain = gatekit.Domain(gatekit.Interval(3.0, 0.0))\n"
        "    def forward(self, x): return x ** 0.5\n"
        "    def backward(self, grad, out, x): return (grad / (2 * out),)\n"
        "@gatekit.hookimpl\n"
        "def gatekit_register_gates(register): register(Root())\n"
    )
    registry = gatekit.load_registry([str(plugin)], env={}, entry_points=())
    [error] = [e for e in registry.load_errors if e.plugin == "bad_domain"]
    assert error.stage == "import" and "low=3.0 must be below high=0.0" in error.message
    assert "root" not in registry


def test_the_kink_keeps_check_points_away(registry):
    # relu's domain says where it has no derivative; the checker stays clear of it.
    relu = registry.gate("relu")
    assert relu.domain.kink is not None
    np.testing.assert_array_equal(relu.domain.kink(np.array([-2.0, 0.0, 0.5])), [2.0, 0.0, 0.5])
    result = gatekit.check_gate(relu, rounds=20, seed=0)
    assert result.ok and result.points_checked == 60
