"""The command line as the ecosystem expects it: ``python -m``, ``-h``, ``--disable-plugin``, tables at 80 columns."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli_helpers import assert_error, invoke, plugin, run_json

from gatekit.pytest_plugin import isolated_environ

def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, walked from typer's click tree (so new ones are included)."""
    import typer.main

    from gatekit.cli import app

    paths: list[tuple[str, ...]] = []
    todo = [((), typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            todo.append(((*path, name), sub))
    return sorted(paths)


#: Every command and group: each must answer ``-h`` as it answers ``--help``.
COMMANDS = _command_paths()
assert {("run",), ("gates", "show"), ("strategies", "show")} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "gatekit")
def test_dash_h_is_help_everywhere(command):
    short, long = invoke(*command, "-h"), invoke(*command, "--help")
    assert short.exit_code == 0 == long.exit_code, short.stderr
    assert short.stdout == long.stdout and "Usage: " in short.stdout


def test_python_dash_m_gatekit_is_the_command_line():
    env = isolated_environ()  # no plugin installed where the suite runs loads in the subprocess
    ok = subprocess.run([sys.executable, "-m", "gatekit", "eval", "mul", "1", "-3", "--json"],
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert '"output": -3.0' in ok.stdout
    bare = subprocess.run([sys.executable, "-m", "gatekit"], capture_output=True, text=True, env=env, timeout=60)
    assert bare.returncode == 0 and "Usage: gatekit" in bare.stdout


def test_disable_plugin_is_repeatable_and_adds_to_the_environment_variable():
    names = {row["name"] for row in run_json("--disable-plugin", "gatekit_strategies", "plugins", "--all")}
    assert names == {"gatekit_gates"}
    result = invoke("--disable-plugin", "gatekit_strategies", "--disable-plugin", "good_plugin",
                    "--plugin", plugin("good_plugin.py"), "plugins", "--all", "--json",
                    env={"GATEKIT_DISABLE_PLUGINS": "gatekit_gates"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_disabling_the_built_in_gates_makes_a_gate_unknown():
    assert_error(invoke("--disable-plugin", "gatekit_gates", "eval", "mul", "1", "2"), 2, "unknown gate 'mul'")


def test_a_global_option_without_a_command_is_a_one_line_usage_error():
    env = isolated_environ()  # no plugin installed where the suite runs loads in the subprocess
    result = subprocess.run([sys.executable, "-m", "gatekit", "--disable-plugin", "x"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["Error: Missing command. (see 'gatekit --help')"]


# -- an option that takes one value is given once ---------------------------------------------------


def _one_value_options() -> list[tuple[tuple[str, ...], str]]:
    """(command, option) for every option of every command that takes one value."""
    import typer.main

    from gatekit.cli import app

    found = []
    todo = [((), typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        todo.extend(((*path, name), sub) for name, sub in getattr(command, "commands", {}).items())
        for param in command.params:
            if param.param_type_name == "option" and not (param.multiple or param.is_flag or param.count):
                found.append((path, param.opts[-1]))
    return sorted(found)


ONE_VALUE_OPTIONS = _one_value_options()
assert {(("optimize",), "--steps"), (("train",), "--seed"), (("graph",), "--output")} <= set(ONE_VALUE_OPTIONS)


@pytest.mark.parametrize(("command", "option"), ONE_VALUE_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_an_option_that_takes_one_value_given_twice_is_a_usage_error(command, option):
    result = invoke(*command, option, "1", option, "2")
    assert result.exit_code == 2 and result.stdout == "", (result.stdout, result.stderr)
    assert f"{option} is given more than once; it takes one value" in " ".join(result.stderr.split())


def test_given_twice_is_one_line_from_the_real_entry_point(monkeypatch, capsys):
    from gatekit.cli import main

    monkeypatch.setattr(sys, "argv", ["gatekit", "optimize", "x * x", "x=1", "--steps", "1", "--steps=2", "--json"])
    with pytest.raises(SystemExit) as stopped:
        main()
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    assert err.splitlines() == ["Error: --steps is given more than once; it takes one value, so give it once "
                                "(see 'gatekit optimize --help')"]


def test_options_that_repeat_and_flags_still_repeat():
    result = run_json("optimize", "x * y", "x=1", "y=2", "--hold", "y", "--hold", "y", "--steps", "1", "--json",
                      "--strategy", "numerical-gradient", "--strategy", "numerical-gradient",
                      "--option", "h=1e-4", "--option", "tol=0")
    assert result["strategy"] == "numerical-gradient" and len(result["history"]) == 1
    rows = run_json("compare", "x * x", "x=1", "--steps", "1", "--strategy", "adam", "--strategy", "momentum")
    assert [row["strategy"] for row in rows] == ["adam", "momentum"]


# -- identifiers in tables, on an 80-column pipe --------------------------------------------------


def _table(*args: str) -> str:
    result = invoke(*args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    tops = [line for line in lines if line.startswith("┏")]
    assert tops and all(line.endswith("┓") for line in tops), result.stdout  # no table cropped at the edge
    return result.stdout


LONG_NAMES = ["alpha_input", "beta_input", "gamma_input", "delta_input", "epsilon_input", "zeta_input"]
LONG = "alpha_input * beta_input + gamma_input * delta_input + epsilon_input * zeta_input"


@pytest.mark.parametrize(
    "args, identifiers",
    [
        (("plugins", "--all"), ["gatekit_strategies", "gatekit_gates", "analytic-gradient", "numerical-gradient",
                                "random-search", "reciprocal"]),
        (("gates",), ["reciprocal", "gatekit_gates", "sigmoid"]),
        (("strategies",), ["analytic-gradient", "numerical-gradient", "step_size", "candidates"]),
        (("check", "reciprocal", "sigmoid"), ["reciprocal", "gatekit_gates"]),
        (("compare", "x * y", "x=1", "y=-3", "--steps", "2", "--seed", "0"),
         ["numerical-gradient", "analytic-gradient", "random-search"]),
        (("optimize", LONG, *(f"{name}={k}.123456789" for k, name in enumerate(LONG_NAMES)), "--steps", "2"),
         [*LONG_NAMES, "output"]),
        (("run", f"a_long_stage_name = {LONG}", *(f"{name}=1.123456789" for name in LONG_NAMES)),
         [*LONG_NAMES, "a_long_stage_name", "1.123456789"]),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)
def test_identifiers_are_never_cut_in_a_table_80_columns_wide(args, identifiers):
    text = _table(*args)
    assert "…" not in text
    words = {word.strip(",") for line in text.splitlines() for word in line.replace("│", " ").split()}
    missing = [name for name in identifiers if name not in words]
    assert not missing, text
