"""The CLI's circuit commands: run, graph, optimize, compare, and their NAME=VALUE words.

Golden figures come from shared/seed/reference-numbers.md (sections 2-4).
"""

from __future__ import annotations

import json

import pytest

from cli_helpers import assert_error, invoke, run_json

XYZ = ("q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
NEURON = ("mult1 = w0 * x0; mult2 = w1 * x1; add1 = mult1 + mult2; add2 = add1 + w2; neg = -add2; "
          "exp1 = exp(neg); add3 = 1 + exp1; f = reciprocal(add3)")
NEURON_AT = ("w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3")


# -- run -----------------------------------------------------------------------------------


def test_run_gives_every_stage_and_input_of_the_recursive_case():
    out = run_json("run", *XYZ)
    assert out["output"] == -12.0
    assert out["inputs"] == {"x": {"value": -2.0, "grad": -4.0}, "y": {"value": 5.0, "grad": -4.0},
                             "z": {"value": -4.0, "grad": 3.0}}
    assert out["stages"] == [{"name": "q", "gate": "add", "value": 3.0, "grad": -4.0},
                             {"name": "f", "gate": "mul", "value": -12.0, "grad": 1.0}]


def test_run_the_neurons_staged_table_matches_section_4():
    out = run_json("run", NEURON, *NEURON_AT)
    expected = [
        ("mult1", "mul", -2.0, 0.19661193324148188), ("mult2", "mul", 6.0, 0.19661193324148188),
        ("add1", "add", 4.0, 0.19661193324148188), ("add2", "add", 1.0, 0.19661193324148188),
        ("neg", "neg", -1.0, -0.19661193324148188), ("exp1", "exp", 0.36787944117144233, -0.534446645388523),
        ("add3", "add", 1.3678794411714423, -0.534446645388523), ("f", "reciprocal", 0.7310585786300049, 1.0),
    ]
    assert [(s["name"], s["gate"]) for s in out["stages"]] == [(n, g) for n, g, _, _ in expected]
    for stage, (_, _, value, grad) in zip(out["stages"], expected):
        assert stage["value"] == pytest.approx(value, abs=1e-12)
        assert stage["grad"] == pytest.approx(grad, abs=1e-12)
    grads = {name: row["grad"] for name, row in out["inputs"].items()}
    assert grads == pytest.approx({"x0": 0.39322386648296376, "w0": -0.19661193324148188,
                                   "x1": -0.5898357997244457, "w1": -0.39322386648296376,
                                   "w2": 0.19661193324148188}, abs=1e-12)


def test_run_unnamed_stages_have_a_null_name_and_negative_expressions_pass_as_typed():
    out = run_json("run", "-x * y", "x=1", "y=-3")
    assert out["output"] == 3.0
    assert [s["name"] for s in out["stages"]] == [None, None]
    assert out["inputs"]["x"]["grad"] == 3.0 and out["inputs"]["y"]["grad"] == -1.0


def test_run_tables_render():
    result = invoke("run", *XYZ)
    assert result.exit_code == 0 and "add(x, y)" in result.stdout and result.stderr == ""


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (("x * y", "x=abc", "y=1"), 2, ("input 'x'", "'abc' is not a number")),
        (("x * y", "x=1"), 2, ("no value for input 'y'", "y=VALUE")),
        (("x * y", "x=1", "y=2", "w=3"), 2, ("unknown input 'w'",)),
        (("x * y", "x=1", "y=2", "yy=3"), 2, ("unknown input 'yy'", "did you mean 'y'")),
        (("x * y", "x=1", "x=2", "y=3"), 2, ("given twice",)),
        (("x * y", "x=", "y=3"), 2, ("'x' has no value",)),
        (("x * y", "x", "y=3"), 2, ("expected NAME=VALUE",)),
        (("x * (y", "x=1", "y=2"), 2, ()),
        (("x @ y", "x=1", "y=2"), 2, ()),
        (("mull(x, y)", "x=1", "y=2"), 2, ("did you mean 'mul'",)),
        (("x=1", "y=2"), 2, ("missing EXPR",)),
        ((), 2, ("missing EXPR",)),
        (("log(x)", "x=-1"), 1, ("log", "nan")),
        (("x * y", "x=1", "y=2", "--jsn"), 2, ("no such option '--jsn'",)),
    ],
)
def test_run_errors_are_one_line_with_the_right_exit_code(args, code, fragments):
    assert_error(invoke("run", *args), code, *fragments)


# -- graph ---------------------------------------------------------------------------------


def test_graph_json_has_every_wire_with_its_value_and_gradient_share():
    out = run_json("graph", "a = x * x; b = a + x; f = b * a", "x=3")
    nodes = {n["name"]: n for n in out["nodes"]}
    assert nodes["f"]["value"] == 108.0 and nodes["x"]["grad"] == 135.0 and nodes["a"]["grad"] == 21.0
    into = {}
    for wire in out["wires"]:
        into.setdefault(wire["from"], []).append(wire)
    for node in out["nodes"]:  # fan-out: a node's gradient is the sum over its wires
        if node["id"] in into:
            assert sum(w["grad"] for w in into[node["id"]]) == pytest.approx(node["grad"], abs=1e-12)
            assert all(w["value"] == node["value"] for w in into[node["id"]])
    assert sorted(w["grad"] for w in into[nodes["x"]["id"]]) == [9.0, 63.0, 63.0]


def test_graph_draws_text_dot_and_mermaid_with_values_and_gradients():
    text = invoke("graph", *XYZ)
    assert text.exit_code == 0
    first = text.stdout.splitlines()[0]
    assert first.startswith("f = mul(q, z)") and "value -12" in first and "grad 1" in first
    dot = invoke("graph", *XYZ, "--format", "dot")
    assert dot.exit_code == 0 and dot.stdout.startswith("digraph")
    assert 'label=<<font color="#1565c0">3</font><br/><font color="#c62828">grad -4</font>>' in dot.stdout
    mermaid = invoke("graph", *XYZ, "--format", "mermaid")
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart") and '"3 / grad -4"' in mermaid.stdout
    forward_only = invoke("graph", *XYZ, "--no-backward")
    assert forward_only.exit_code == 0 and "grad" not in forward_only.stdout


def test_graph_of_a_deep_chain_is_listed_by_level_without_recursion():
    depth = 3000
    expression = "; ".join(["a = x + 1"] + ["a = a * 1"] * depth)
    result = invoke("graph", expression, "x=2")
    assert result.exit_code == 0, result.stderr
    assert "listed by level" in result.stdout.splitlines()[0]
    assert f"level {depth + 1}:" in result.stdout


def test_graph_rejects_an_unknown_format():
    assert invoke("graph", *XYZ, "--format", "jpeg").exit_code == 2


# -- optimize and compare ------------------------------------------------------------------


def test_optimize_numerical_gradient_one_step_reaches_the_lessons_figure():
    out = run_json("optimize", "x * y", "x=1", "y=-3", "--strategy", "numerical-gradient", "--steps", "1",
                   "--option", "h=1e-4", "--option", "difference=forward", "--step-size", "0.01")
    assert out["final_output"] == pytest.approx(-2.9003, abs=1e-12)
    assert out["evaluations"] == {"forward": 4, "backward": 0}
    assert out["strategy"] == "numerical-gradient" and out["stop_reason"] == "steps"
    assert out["start"] == {"x": 1.0, "y": -3.0} and out["start_output"] == -3.0
    assert len(out["history"]) == 1 and out["seconds"] >= 0
    assert set(out["final"]) == set(out["best"]) == {"x", "y"}


def test_optimize_analytic_gradient_is_the_default_strategy():
    out = run_json("optimize", "x * y", "x=1", "y=-3", "--steps", "1", "--step-size", "0.001")
    assert out["strategy"] == "analytic-gradient"
    assert out["final_output"] == pytest.approx(-2.990003, abs=1e-12)
    assert out["evaluations"] == {"forward": 2, "backward": 1}


def test_optimize_holds_inputs_minimises_and_is_reproducible_from_a_seed():
    held = run_json("optimize", "x * y", "x=1", "y=-3", "--hold", "x", "--steps", "3")
    assert held["final"]["x"] == 1.0 and held["final"]["y"] > -3.0
    down = run_json("optimize", "x * y", "x=1", "y=-3", "--minimize", "--steps", "3")
    assert down["final_output"] < -3.0
    args = ("optimize", "x * y", "x=1", "y=-3", "--strategy", "random-search", "--steps", "2", "--seed", "7")
    assert run_json(*args)["best"] == run_json(*args)["best"]


def test_optimize_table_renders():
    result = invoke("optimize", "x * y", "x=1", "y=-3", "--steps", "2")
    assert result.exit_code == 0 and "analytic-gradient" in result.stdout and result.stderr == ""


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--strategy", "random-serch"), ("unknown strategy 'random-serch'", "did you mean 'random-search'")),
        (("--option", "hh=1"), ("unknown option 'hh'", "step_size")),
        (("--option", "step_size=big"), ("step_size", "must be a number")),
        (("--option", "step_size"), ("KEY=VALUE",)),
        (("--option", "seed=1"), ("use --seed",)),
        (("--step-size", "0.1", "--option", "step_size=0.2"), ("given twice",)),
        (("--hold", "w"), ("unknown input 'w'",)),
        (("--steps", "0"), ("steps",)),
    ],
)
def test_optimize_errors_are_one_line_and_exit_2(args, fragments):
    assert_error(invoke("optimize", "x * y", "x=1", "y=-3", *args), 2, *fragments)


def test_compare_runs_every_strategy_or_those_named_with_the_same_budget():
    everything = run_json("compare", "x * y", "x=1", "y=-3", "--steps", "2", "--seed", "0")
    names = [r["strategy"] for r in everything]
    assert {"random-search", "local-search", "numerical-gradient", "analytic-gradient"} <= set(names)
    assert all(r["evaluations"]["forward"] >= 1 and len(r["history"]) == 2 for r in everything)
    two = run_json("compare", "x * y", "x=1", "y=-3", "--strategy", "analytic-gradient",
                   "--strategy", "numerical-gradient", "--steps", "1", "--step-size", "0.01")
    assert [r["strategy"] for r in two] == ["analytic-gradient", "numerical-gradient"]
    analytic, numerical = two
    assert analytic["final_output"] == pytest.approx(numerical["final_output"], abs=1e-6)
    assert analytic["evaluations"] == {"forward": 2, "backward": 1}
    assert numerical["evaluations"]["backward"] == 0
    assert invoke("compare", "x * y", "x=1", "y=-3", "--steps", "2").exit_code == 0


def test_compare_unknown_strategy():
    assert_error(invoke("compare", "x * y", "x=1", "y=-3", "--strategy", "adma"), 2, "did you mean 'adam'")


def test_json_stdout_is_only_json_even_with_a_broken_plugin():
    from cli_helpers import plugin

    result = invoke("--plugin", plugin("raises_on_import.py"), "optimize", "x * y", "x=1", "y=-3", "--steps", "1",
                    "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["strategy"] == "analytic-gradient"
    assert result.stderr.startswith("Warning: plugin 'raises_on_import'")


# -- --file ----------------------------------------------------------------------------------

CIRCUIT_FILE = {
    "format": "gatekit-circuit",
    "version": 1,
    "inputs": [{"name": "x", "default": -2.0}, {"name": "y", "default": 5.0}, "z"],
    "nodes": [{"id": "q", "gate": "add", "args": ["x", "y"]}, {"id": "f", "gate": "mul", "args": ["q", "z"]}],
    "output": "f",
}


@pytest.fixture
def circuit_file(tmp_path):
    path = tmp_path / "xyz.json"
    path.write_text(json.dumps(CIRCUIT_FILE))
    return str(path)


def test_run_a_circuit_file_with_its_defaults_and_values_that_override_them(circuit_file):
    out = run_json("run", "--file", circuit_file, "z=-4")
    assert out["output"] == -12.0 and out["inputs"]["x"] == {"value": -2.0, "grad": -4.0}
    assert [s["name"] for s in out["stages"]] == ["q", "f"]
    override = run_json("run", "--file", circuit_file, "z=-4", "x=1")
    assert override["output"] == -24.0 and override["inputs"]["x"]["value"] == 1.0


def test_optimize_and_graph_take_a_circuit_file(circuit_file):
    out = run_json("optimize", "--file", circuit_file, "z=-4", "--steps", "1", "--step-size", "0.01")
    assert out["final_output"] == pytest.approx(-11.5924, abs=1e-12)  # reference section 3
    assert run_json("graph", "--file", circuit_file, "z=-4")["nodes"][-1]["value"] == -12.0


def test_circuit_file_errors_are_one_line(circuit_file, tmp_path):
    assert_error(invoke("run", "--file", circuit_file), 2, "no value for input 'z'")
    assert_error(invoke("run", "--file", str(tmp_path / "missing.json"), "z=1"), 2, "missing.json")
    assert_error(invoke("run", "--file", str(tmp_path), "z=1"), 2, "directory")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "gatekit-circuit", ')
    assert_error(invoke("run", "--file", str(broken), "z=1"), 2, "broken.json", "invalid JSON")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**CIRCUIT_FILE, "nodes": [{"id": "f", "gate": "mull", "args": ["x", "y"]}]}))
    assert_error(invoke("run", "--file", str(unknown), "z=1"), 2, "unknown gate 'mull'", "did you mean 'mul'")
    assert_error(invoke("run", "x * y", "--file", circuit_file), 2, "not both")


# -- the progress bar ------------------------------------------------------------------------


class _Terminal:
    def isatty(self):
        return True


def test_a_progress_bar_is_wanted_only_on_a_terminal_and_never_with_json(monkeypatch):
    from gatekit.cli import progress

    assert progress.wanted(json=False) is False  # pytest's captured streams are not terminals
    monkeypatch.setattr(progress.sys, "stdout", _Terminal())
    monkeypatch.setattr(progress.sys, "stderr", _Terminal())
    assert progress.wanted(json=False) is True
    assert progress.wanted(json=True) is False


def test_the_progress_bar_follows_each_run_of_a_comparison(monkeypatch, capsys):
    from gatekit.cli import progress

    monkeypatch.setattr(progress, "DELAY", 0.0)
    with progress.ProgressBar(["first", "second"], enabled=True) as bar:
        for _run in range(2):
            for step in (1, 2, 3):
                bar(step, 3)
        assert bar._label() == "second"
    quiet = progress.ProgressBar(["only"], enabled=False)
    quiet(1, 3)
    assert quiet._bar is None
