"""The CLI's catalogue commands (gates, eval, check, plugins, strategies) and its plumbing.

Assertions are on parsed ``--json`` output, never on rendered tables; tables are only
checked to render. Errors must be one line on stderr with the right exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import assert_error, invoke, plugin, run_json

import gatekit.cli.gates
from gatekit.cli.values import parse_assignments, parse_number
from gatekit.pytest_plugin import isolated_environ

BUILTIN_GATES = {"add", "sub", "mul", "div", "neg", "reciprocal", "pow", "max", "min", "exp", "log",
                 "sigmoid", "tanh", "relu", "abs"}
LESSON_STRATEGIES = {"random-search", "local-search", "numerical-gradient", "analytic-gradient"}


# -- gates ---------------------------------------------------------------------------------


def test_gates_json_lists_every_gate_with_the_contract_keys():
    rows = run_json("gates")
    by_name = {row["name"]: row for row in rows}
    assert BUILTIN_GATES <= set(by_name)
    assert all(set(row) == {"name", "arity", "symbol", "plugin", "doc"} for row in rows)
    assert by_name["mul"] == {"name": "mul", "arity": 2, "symbol": "*", "plugin": "gatekit_gates",
                              "doc": "mul(x, y) = x * y"}
    assert by_name["exp"]["symbol"] is None and by_name["exp"]["arity"] == 1


def test_gates_table_renders():
    result = invoke("gates")
    assert result.exit_code == 0 and "mul" in result.stdout and result.stderr == ""


def test_gates_show_gives_formula_gradient_rule_domain_plugin_and_version():
    info = run_json("gates", "show", "div")
    assert info["doc"] == "div(x, y) = x / y"
    assert info["grad_doc"] == "d/dx = 1 / y, d/dy = -x / y**2"
    assert "|x1| >= 0.1" in info["domain"]
    assert info["plugin"] == "gatekit_gates" and info["builtin"] is True
    assert info["version"] == gatekit.__version__
    assert invoke("gates", "show", "div").exit_code == 0


def test_gates_show_unknown_gate_says_did_you_mean():
    assert_error(invoke("gates", "show", "mull"), 2, "unknown gate 'mull'", "did you mean 'mul'")


# -- eval ----------------------------------------------------------------------------------


def test_eval_the_multiply_gate_of_the_lesson_with_a_negative_number_as_typed():
    assert run_json("eval", "mul", "1", "-3") == {"gate": "mul", "inputs": [1.0, -3.0], "output": -3.0,
                                                  "grads": [-3.0, 1.0]}


def test_eval_takes_negatives_anywhere_and_in_any_notation():
    out = run_json("eval", "add", "-1.5", "-2e-1")
    assert out["output"] == pytest.approx(-1.7, abs=1e-15) and out["grads"] == [1.0, 1.0]
    assert run_json("eval", "neg", "-4")["output"] == 4.0


def test_eval_a_smooth_gate_gives_its_local_gradient():
    out = run_json("eval", "exp", "1")
    assert out["output"] == pytest.approx(2.718281828459045, abs=1e-15)
    assert out["grads"] == [out["output"]]


def test_eval_table_renders_with_a_negative_value():
    result = invoke("eval", "mul", "1", "-3")
    assert result.exit_code == 0 and "-3" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("mull", "1", "-3"), ("unknown gate 'mull'", "did you mean 'mul'")),
        (("mul", "1"), ("'mul' takes 2 value(s), got 1",)),
        (("mul", "1", "2", "3"), ("'mul' takes 2 value(s), got 3",)),
        (("mul", "1", "abc"), ("argument 2", "'abc' is not a number")),
        (("mul", "1", "-3", "--jsn"), ("no such option '--jsn'",)),
        (("mul", "1", "nan"), ("not a finite number",)),
    ],
)
def test_eval_usage_errors_are_one_line_and_exit_2(args, fragments):
    assert_error(invoke("eval", *args), 2, *fragments)


def test_eval_where_the_gate_is_undefined_fails_naming_the_node():
    assert_error(invoke("eval", "log", "-1"), 1, "log", "nan")


# -- check ---------------------------------------------------------------------------------


def test_check_every_builtin_gate_passes():
    rows = run_json("check", "--rounds", "1")
    assert BUILTIN_GATES <= {row["gate"] for row in rows}
    for row in rows:
        assert {"gate", "plugin", "ok", "max_abs_error", "max_rel_error"} <= set(row)
        assert row["ok"] is True, row
        assert 0 <= row["max_rel_error"] < 1e-5


def test_check_named_gates_only():
    rows = run_json("check", "mul", "sigmoid")
    assert [row["gate"] for row in rows] == ["mul", "sigmoid"]


def test_check_fails_with_exit_1_on_a_wrong_backward():
    result = invoke("--plugin", plugin("wrong_backward.py"), "check", "badgrad", "mul", "--json")
    assert result.exit_code == 1
    rows = {row["gate"]: row for row in json.loads(result.stdout)}
    assert rows["badgrad"]["ok"] is False and rows["badgrad"]["plugin"] == "wrong_backward"
    assert rows["badgrad"]["max_rel_error"] > 0.1
    assert rows["mul"]["ok"] is True
    assert_error(result, 1, "badgrad")


def test_check_unknown_gate():
    assert_error(invoke("check", "sigmod"), 2, "unknown gate 'sigmod'", "did you mean 'sigmoid'")


# -- plugins and --plugin --------------------------------------------------------------------


def test_plugin_file_adds_a_gate_for_this_run():
    assert run_json("--plugin", plugin("good_plugin.py"), "eval", "cube", "-2") == {
        "gate": "cube", "inputs": [-2.0], "output": -8.0, "grads": [12.0]}
    assert "cube" not in {row["name"] for row in run_json("gates")}  # only for that run


def test_plugins_lists_third_party_plugins_and_builtins_only_with_all():
    rows = run_json("--plugin", plugin("good_plugin.py"), "plugins")
    by_name = {row["name"]: row for row in rows}
    assert by_name["good_plugin"]["gates"] == ["cube"] and by_name["good_plugin"]["errors"] == []
    assert not any(row["builtin"] for row in rows)
    everything = {row["name"]: row for row in run_json("plugins", "--all")}
    assert BUILTIN_GATES <= set(everything["gatekit_gates"]["gates"])
    assert LESSON_STRATEGIES <= set(everything["gatekit_strategies"]["strategies"])
    assert everything["gatekit_gates"]["version"] == gatekit.__version__


def test_a_plugin_that_raises_is_a_one_line_warning_and_the_command_still_runs():
    result = invoke("--plugin", plugin("raises_on_import.py"), "eval", "mul", "2", "3", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output"] == 6.0  # stdout is only the JSON
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Warning: plugin 'raises_on_import' failed (import): RuntimeError")


def test_plugins_shows_the_load_error_of_a_plugin_that_never_loaded():
    result = invoke("--plugin", plugin("raises_on_import.py"), "plugins", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["raises_on_import"]["loaded"] is False
    assert rows["raises_on_import"]["errors"][0]["stage"] == "import"
    assert "fails on purpose" in rows["raises_on_import"]["errors"][0]["message"]


def test_a_plugin_file_that_does_not_exist_is_a_usage_error(tmp_path):
    assert_error(invoke("--plugin", str(tmp_path / "nope.py"), "gates"), 2, "nope.py", "does not exist")


def test_strict_plugins_turn_a_load_error_into_a_failure():
    result = invoke("--plugin", plugin("raises_on_import.py"), "gates", env={"GATEKIT_STRICT_PLUGINS": "1"})
    assert_error(result, 1, "raises_on_import")


# -- strategies ----------------------------------------------------------------------------


def test_strategies_json_lists_each_with_typed_options_and_plugin():
    infos = {info["name"]: info for info in run_json("strategies")}
    assert LESSON_STRATEGIES <= set(infos)
    numerical = {o["name"]: o for o in infos["numerical-gradient"]["options"]}
    assert numerical["h"]["type"] == "float" and numerical["h"]["default"] == 1e-4 and numerical["h"]["help"]
    assert infos["numerical-gradient"]["plugin"] == "gatekit_strategies"
    assert invoke("strategies").exit_code == 0


def test_strategies_show_one():
    info = run_json("strategies", "show", "local-search")
    assert info["name"] == "local-search"
    anchor = {o["name"]: o for o in info["options"]}["anchor"]
    assert anchor["type"] == "str" and anchor["choices"] == ["best", "start"]
    assert invoke("strategies", "show", "local-search").exit_code == 0


def test_strategies_show_unknown_says_did_you_mean():
    assert_error(invoke("strategies", "show", "random-serch"), 2, "did you mean 'random-search'")


# -- errors and plumbing ---------------------------------------------------------------------


def test_an_unexpected_exception_is_one_line_with_a_hint_and_debug_shows_the_traceback(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gatekit.cli.gates, "evaluate_gate", boom)
    assert_error(invoke("eval", "mul", "1", "2"), 1, "RuntimeError: boom", "GATEKIT_DEBUG=1")
    debug = invoke("eval", "mul", "1", "2", env={"GATEKIT_DEBUG": "1"})
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and debug.stderr.strip().splitlines()[-1] == "Error: unexpected RuntimeError: boom"


def test_a_click_usage_error_exits_2():
    assert invoke("eval").exit_code == 2
    assert invoke("no-such-command").exit_code == 2


def test_shell_completion_offers_gate_and_strategy_names():
    env = {"_GATEKIT_COMPLETE": "complete_bash", "COMP_WORDS": "gatekit eval mu", "COMP_CWORD": "2"}
    result = invoke(env=env)
    assert result.stdout.split() == ["mul"]
    env.update(COMP_WORDS="gatekit optimize --strategy analytic-", COMP_CWORD="3")
    assert invoke(env=env).stdout.split() == ["analytic-gradient"]


@pytest.mark.parametrize(
    ("word", "fragment"),
    [("x", "expected NAME=VALUE"), ("x=", "has no value"), ("x=abc", "'abc' is not a number"),
     ("x=inf", "not a finite number"), ("--nope", "no such option '--nope'")],
)
def test_assignment_errors(word, fragment):
    with pytest.raises(gatekit.UsageError, match=fragment):
        parse_assignments(["y=1", word], "run")


def test_assignments_parse_negative_and_scientific_numbers_and_reject_repeats():
    assert parse_assignments(["x=-3", "y=1e-3", "z=+2"], "run") == {"x": -3.0, "y": 0.001, "z": 2.0}
    with pytest.raises(gatekit.UsageError, match="given twice"):
        parse_assignments(["x=1", "x=2"], "run")
    assert parse_number("-0.5", "argument 1") == -0.5


def _command_paths() -> list[str]:
    import typer.main

    from gatekit.cli import app

    root = typer.main.get_command(app)
    paths = []
    for name, command in root.commands.items():
        paths.append(name)
        paths += [f"{name} {sub}" for sub in (getattr(command, "commands", None) or {})]
    return paths


def test_the_readme_documents_every_command_with_an_example():
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## The CLI\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    paths = _command_paths()
    assert len(paths) >= 12
    for path in paths:
        assert f"`gatekit {path}" in section, f"README's CLI section does not document 'gatekit {path}'"
        command = path.split()[0]
        assert re.search(rf"^\$ gatekit (--plugin \S+ )?{command}\b", section, re.M), f"no example of {command}"


def _console_script() -> Path | None:
    script = Path(sys.executable).parent / "gatekit"
    return script if script.exists() else None


@pytest.mark.skipif(_console_script() is None, reason="the gatekit console script is not installed here")
def test_the_installed_console_script_runs_and_reports_errors():
    script = str(_console_script())
    env = isolated_environ()  # no GATEKIT_ switch, and no plugin installed here
    ok = subprocess.run([script, "eval", "mul", "1", "-3", "--json"], capture_output=True, text=True, env=env,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["grads"] == [-3.0, 1.0]
    bad = subprocess.run([script, "eval", "mull", "1", "-3"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "Error: unknown gate 'mull'; did you mean 'mul'?"]


def test_version_lists_gatekit_then_each_loaded_plugin():
    result = invoke("--plugin", plugin("good_plugin.py"), "--version")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"gatekit {gatekit.__version__}",
        f"  gatekit_gates {gatekit.__version__} (built-in)",
        f"  gatekit_strategies {gatekit.__version__} (built-in)",
        "  good_plugin - (--plugin)",
    ]


@pytest.mark.skipif(_console_script() is None, reason="the gatekit console script is not installed here")
@pytest.mark.parametrize(
    "args, expected",
    [
        (["optimize", "x * y", "x=1", "y=2", "--steps", "abc"], "Error: Invalid value for '--steps'"),
        (["frobnicate"], "Error: No such command 'frobnicate'"),
    ],
)
def test_the_parsers_own_usage_errors_are_one_line_too(args, expected):
    env = isolated_environ()  # no GATEKIT_ switch, and no plugin installed here
    result = subprocess.run([str(_console_script()), *args], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected) and "--help" in lines[0]
    assert result.stdout == ""
