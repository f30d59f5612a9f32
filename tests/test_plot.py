"""Plots of optimisation, and the points each run's history keeps."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gatekit
from gatekit.errors import MissingExtraError
from gatekit.plot import run_points
from cli_helpers import assert_error, invoke, run_json

START = {"x": 1.0, "y": -3.0}


def test_history_points_are_where_the_analytic_strategy_stepped():
    circuit = gatekit.parse("x * y")
    result = gatekit.optimize(circuit, START, "analytic-gradient", steps=5, step_size=0.01)
    point = dict(START)
    for record in result.history:
        _, grads = circuit.gradient(point)
        point = {k: point[k] + 0.01 * grads[k] for k in point}  # one gradient step, by hand
        assert record.point == pytest.approx(point, rel=1e-15)
        assert record.output == circuit(record.point)
    assert result.history[-1].point == result.final


@pytest.mark.parametrize("strategy", ["random-search", "local-search", "numerical-gradient", "adam"])
def test_every_history_point_is_a_point_the_run_visited(strategy):
    circuit = gatekit.parse("x * y + z")
    result = gatekit.optimize(circuit, {**START, "z": 0.5}, strategy, steps=6, seed=3, hold=["z"])
    best = max(run_points(result), key=circuit)
    assert best == result.best and circuit(best) == result.best_output
    for record in result.history:
        assert record.point["z"] == 0.5  # held inputs are in every point
        assert circuit(record.point) == record.output


def test_the_json_contract_has_each_steps_point():
    data = run_json("optimize", "x * y", "x=1", "y=-3", "--steps", "2", "--step-size", "0.5")
    assert [h["point"] for h in data["history"]] == [{"x": -0.5, "y": -2.5}, {"x": -1.75, "y": -2.75}]


def _is_png_with_ink(path) -> bool:
    from matplotlib.image import imread

    pixels = imread(path)[..., :3]
    return 300 < pixels.shape[1] < 3000 and float(pixels.std()) > 0.05


def test_plots_are_written_from_python(tmp_path):
    circuit = gatekit.parse("x * y")
    result = gatekit.optimize(circuit, START, "analytic-gradient", steps=20)
    fig = gatekit.plot_run(result, circuit, tmp_path / "run.png")
    assert len(fig.axes) == 3  # output by step, the path over contours, its colour bar
    assert _is_png_with_ink(tmp_path / "run.png")
    one_free = gatekit.optimize(gatekit.parse("x * y + z"), {**START, "z": 1}, steps=3, hold=["y", "z"])
    assert len(result.plot(path=tmp_path / "steps.png").axes) == 1 and len(gatekit.plot_run(one_free).axes) == 1
    results = gatekit.compare(circuit, START, steps=5, seed=0)
    gatekit.plot_comparison(results, tmp_path / "compare.png")
    assert _is_png_with_ink(tmp_path / "compare.png")
    with pytest.raises(gatekit.UsageError):
        gatekit.plot_comparison([])


def test_plot_options_on_the_cli(tmp_path):
    run = invoke("optimize", "x * y", "x=1", "y=-3", "--steps", "10", "--plot", str(tmp_path / "run.png"))
    assert run.exit_code == 0, run.stderr
    assert _is_png_with_ink(tmp_path / "run.png") and "wrote" in run.stderr
    compare = invoke("compare", "x * y", "x=1", "y=-3", "--steps", "3", "--seed", "0",
                     "--plot", str(tmp_path / "compare.png"), "--json")
    assert compare.exit_code == 0 and _is_png_with_ink(tmp_path / "compare.png")


def test_without_matplotlib_a_plot_is_one_error_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = gatekit.optimize(gatekit.parse("x * y"), START, steps=1)
    with pytest.raises(MissingExtraError, match=r"gatekit\[plot\]"):
        gatekit.plot_run(result)
    assert_error(invoke("optimize", "x * y", "x=1", "y=-3", "--plot", str(tmp_path / "p.png")), 1,
                 "needs matplotlib", "pip install 'gatekit[plot]'")
    assert not (tmp_path / "p.png").exists()
    assert "<table" in result._repr_html_()  # the notebook display falls back to the table
