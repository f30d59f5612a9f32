"""The strategy, run by gatekit.optimize exactly as a built-in one is."""

from __future__ import annotations

import pytest

import gatekit
import gatekit_smooth


@pytest.fixture
def registry():
    return gatekit.load_registry([gatekit_smooth], env={}, entry_points=())


def _circuit(registry):
    """f(x, y) = cos(x) * y - y * y: largest (1/4) at x = 0, y = 1/2."""
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    return c.build(c.cos(x) * y - y * y)


def test_pattern_search_climbs_to_the_maximum(registry):
    result = gatekit.optimize(_circuit(registry), {"x": 1.0, "y": 0.0}, "pattern-search", steps=200, registry=registry)
    assert result.stop_reason == "converged"
    assert result.best_output == pytest.approx(0.25, abs=1e-9)
    assert result.best["x"] == pytest.approx(0.0, abs=1e-4)
    assert result.best["y"] == pytest.approx(0.5, abs=1e-4)


def test_each_step_costs_two_forwards_per_free_input(registry):
    result = gatekit.optimize(_circuit(registry), {"x": 1.0, "y": 0.0}, "pattern-search", steps=3, registry=registry)
    assert [record.forward for record in result.history] == [1 + 4, 1 + 8, 1 + 12]
    assert result.backward_evals == 0


def test_minimising_and_holding_an_input(registry):
    result = gatekit.optimize(_circuit(registry), {"x": 0.0, "y": 1.0}, "pattern-search", steps=200,
                              maximize=False, hold=["x"], registry=registry, step_size=0.25)
    # With x held at 0, f = y - y * y falls without bound as y moves away; it only ever goes down.
    outputs = [record.output for record in result.history]
    assert result.final["x"] == 0.0
    assert all(later <= earlier for earlier, later in zip(outputs, outputs[1:]))
    assert result.best_output < -100


def test_options_are_typed_and_checked(registry):
    with pytest.raises(gatekit.OptionError, match="shrink"):
        gatekit.optimize(_circuit(registry), {"x": 1.0, "y": 0.0}, "pattern-search", registry=registry, shrink=1.5)
