"""A word that starts with one dash is an argument, not a cluster of short options.

click reads ``-tanh(x)`` as ``-t -a -n -h ...`` and acted on the ``h`` (help, exit 0):
hypothesis found ``gatekit run '-_gk_chain_0' --json`` printing the help instead of JSON.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cli_helpers import assert_error, invoke, run_json


@pytest.mark.parametrize("expr", ["-tanh(x)", "-exp(x) * 2", "-relu(x)", "-h1 * x"])
def test_an_expression_that_starts_with_a_dash_runs(expr: str) -> None:
    words = [expr, "x=0.5"] + (["h1=2"] if "h1" in expr else [])
    out = run_json("run", *words)
    expected = {"-tanh(x)": -math.tanh(0.5), "-exp(x) * 2": -2 * math.exp(0.5),
                "-relu(x)": -0.5, "-h1 * x": -1.0}[expr]
    assert out["output"] == pytest.approx(expected, rel=1e-15)


def test_options_after_a_dash_word_still_count() -> None:
    result = invoke("run", "-tanh(x)", "x=1", "--json", "--steps", "1")
    assert_error(result, 2, "--steps")  # run has no --steps: the options were still read


def test_help_is_still_help() -> None:
    for args in (["run", "-h"], ["eval", "-h"], ["run", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_negative_numbers_stay_numbers() -> None:
    out = run_json("eval", "mul", "1", "-3")
    assert out["output"] == -3.0 and out["grads"] == [-3.0, 1.0]


def test_graphs_short_output_option_keeps_its_meaning(tmp_path: Path) -> None:
    # '-ofile' is -o with its value attached (click's meaning, kept); '-log(x)' holds an
    # 'o', which used to take 'g(x)' as the output file.
    target = tmp_path / "neuron.svg"
    result = invoke("graph", "-log(x)", "x=2", f"-o{target}")
    assert result.exit_code == 0, result.stderr
    assert target.read_text(encoding="utf-8").lstrip().startswith("<")
    assert not (Path.cwd() / "g(x)").exists()


def test_an_unknown_long_option_is_still_one_clear_error() -> None:
    assert_error(invoke("run", "-tanh(x)", "x=1", "--nope"), 2, "--nope")
