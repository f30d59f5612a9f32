"""A broken plugin hurts nobody but itself: the CLI with each broken fixture loaded.

Each broken fixture of tests/fixtures/plugins is loaded beside ``good_plugin`` (the
gate ``cube``) in the two ways a user meets a plugin:

- ``--plugin PATH``: a file tried without packaging;
- installed: a fake distribution (a ``*.dist-info`` folder whose ``entry_points.txt``
  names the module in the ``gatekit`` group) on ``sys.path`` beside the fixtures, so
  discovery goes through ``importlib.metadata`` exactly as for a pip-installed plugin.

For each: the CLI still starts and every other gate works; ``gatekit plugins`` shows
the error; ``gatekit check`` names the wrong gate and exits 1; running a circuit through
a gate with a malformed backward is one error line naming the gate and its plugin.
The commands run in-process (``CliRunner``); one test runs the real console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import gatekit
from gatekit.pytest_plugin import isolated_environ
from cli_helpers import FIXTURES, assert_error, invoke


@dataclass(frozen=True)
class Broken:
    """What a broken fixture should do: its load error, or the gates it gives and that fail."""

    stage: str | None = None  # the load error's stage, when it fails to load
    fragments: tuple[str, ...] = ()  # what that error must say
    gates: tuple[str, ...] = ()  # gates it registers (all of them fail `gatekit check`)
    errors: int = 0  # how many load errors it causes


BROKEN = {
    "raises_on_import": Broken("import", ("RuntimeError", "fails on purpose while being imported"), errors=1),
    "raises_base_exception": Broken("import", ("Boom", "fails on purpose while being imported"), errors=1),
    "hook_interrupts": Broken("hook", ("gatekit_register_gates", "KeyboardInterrupt"), errors=1),
    "hook_raises": Broken("hook", ("gatekit_register_gates", "ValueError", "fails on purpose inside its hook"),
                          errors=1),
    "registers_junk": Broken("register", ("'not a gate' is not a gate", "got the class Junk, not an instance"),
                             errors=2),
    "takes_builtin_name": Broken("register", ("'mul'", "'takes_builtin_name'", "'gatekit_gates'", "override=True"),
                                 errors=1),
    "wrong_backward": Broken(gates=("badgrad",)),
    "malformed_backward": Broken(gates=("badshape", "wrongcount")),
}
LOAD_FAILURES = [name for name, broken in BROKEN.items() if broken.stage]
WRONG_GATES = [name for name, broken in BROKEN.items() if broken.gates]
BUILTIN_GATES = gatekit.load_registry(env={}, entry_points=()).gate_names()
WAYS = ["--plugin", "installed"]


def _fake_distribution(site: Path, module: str) -> str:
    """A ``*.dist-info`` folder that declares ``module`` as a gatekit plugin; returns its name."""
    dist_name = "fake-" + module.replace("_", "-")
    info = site / f"{dist_name.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[gatekit]\n{module} = {module}\n", encoding="utf-8")
    return dist_name


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site-packages of fake distributions, and the fixtures folder, on sys.path.

    The fixture modules imported from it are forgotten afterwards.
    """
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None)
        if module_file and Path(module_file).parent == FIXTURES:
            sys.modules.pop(name, None)


@pytest.fixture
def load(request, site):
    """``load(*modules)``: the global CLI options that load those fixtures the given way."""
    way = request.param

    def options(*modules: str) -> list[str]:
        if way == "installed":
            for module in modules:
                _fake_distribution(site, module)
            return []
        return [arg for module in modules for arg in ("--plugin", str(FIXTURES / f"{module}.py"))]

    options.way = way  # type: ignore[attr-defined]
    return options


def _json(result) -> object:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def _warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]


# -- the CLI still starts, and every other gate works ------------------------------------------


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", list(BROKEN))
def test_the_cli_starts_and_every_other_gate_works(load, fixture):
    options = load("good_plugin", fixture)
    result = invoke(*options, "gates", "--json")
    listed = {row["name"]: row["plugin"] for row in _json(result)}
    assert set(listed) == set(BUILTIN_GATES) | {"cube"} | set(BROKEN[fixture].gates)
    assert listed["mul"] == "gatekit_gates" and listed["cube"] == "good_plugin"
    # One warning line per load error, each naming the plugin; nothing else on stderr.
    warnings = _warnings(result)
    assert len(warnings) == BROKEN[fixture].errors
    assert all(f"plugin {fixture!r}" in line for line in warnings)
    assert len(result.stderr.splitlines()) == len(warnings)

    # A gate from the good plugin and two built-ins, forward and backward, at x=2, y=3:
    # f = x**3 * y + max(x, y) = 27; df/dx = 3 x**2 y = 36; df/dy = x**3 + 1 = 9.
    run = _json(invoke(*options, "run", "cube(x) * y + max(x, y)", "x=2", "y=3", "--json"))
    assert run["output"] == 27.0
    assert run["inputs"] == {"x": {"value": 2.0, "grad": 36.0}, "y": {"value": 3.0, "grad": 9.0}}

    evaluated = _json(invoke(*options, "eval", "mul", "1", "-3", "--json"))
    assert (evaluated["output"], evaluated["grads"]) == (-3.0, [-3.0, 1.0])


# -- gatekit plugins shows the error -------------------------------------------------------------


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", LOAD_FAILURES)
def test_plugins_shows_the_load_error(load, fixture):
    rows = {row["name"]: row for row in _json(invoke(*load("good_plugin", fixture), "plugins", "--json"))}
    broken = rows[fixture]
    assert broken["gates"] == [] and broken["errors"], broken
    assert [error["stage"] for error in broken["errors"]] == [BROKEN[fixture].stage] * BROKEN[fixture].errors
    said = " ".join(error["message"] for error in broken["errors"])
    for fragment in BROKEN[fixture].fragments:
        assert fragment in said, (fragment, said)
    good = rows["good_plugin"]
    assert (good["loaded"], good["gates"], good["errors"]) == (True, ["cube"], [])
    if load.way == "installed":
        assert (good["distribution"], good["version"]) == ("fake-good-plugin", "0.0.1")


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", WRONG_GATES)
def test_plugins_lists_the_gates_of_a_plugin_that_loads(load, fixture):
    rows = {row["name"]: row for row in _json(invoke(*load(fixture), "plugins", "--json"))}
    assert (rows[fixture]["gates"], rows[fixture]["errors"]) == (list(BROKEN[fixture].gates), [])


# -- gatekit check names the wrong gate and exits 1 -------------------------------------------


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", WRONG_GATES)
def test_check_names_the_wrong_gates_and_exits_1(load, fixture):
    options = load("good_plugin", fixture)
    result = invoke(*options, "check", "--json")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    rows = json.loads(result.stdout)
    assert {row["gate"] for row in rows} == set(BUILTIN_GATES) | {"cube"} | set(BROKEN[fixture].gates)
    failed = {row["gate"]: row["plugin"] for row in rows if not row["ok"]}
    assert failed == {gate: fixture for gate in BROKEN[fixture].gates}

    line = assert_error(invoke(*options, "check"), 1)
    assert all(gate in line for gate in BROKEN[fixture].gates), line
    assert invoke(*options, "check", "cube", "mul").exit_code == 0


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", LOAD_FAILURES)
def test_check_passes_what_did_load_beside_a_plugin_that_failed(load, fixture):
    result = invoke(*load("good_plugin", fixture), "check", "--json")
    rows = json.loads(result.stdout)
    assert result.exit_code == 0 and all(row["ok"] for row in rows), rows
    assert {row["gate"] for row in rows} == set(BUILTIN_GATES) | {"cube"}


# -- a malformed backward stops a run, naming the gate and its plugin --------------------------

MALFORMED_RUNS = {
    "wrongcount": [
        ["run", "wrongcount(x, y) + x", "x=1", "y=2"],
        ["eval", "wrongcount", "1", "2"],
        ["optimize", "wrongcount(x, y)", "x=1", "y=2", "--strategy", "analytic-gradient", "--steps", "3"],
    ],
    "badshape": [
        ["run", "badshape(x) * y", "x=1", "y=2"],
        ["run", "badshape(x) * y", "x=1", "y=2", "--json"],
        ["eval", "badshape", "1.5"],
    ],
}


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize(
    "gate, command", [(gate, command) for gate, commands in MALFORMED_RUNS.items() for command in commands],
    ids=lambda v: v if isinstance(v, str) else " ".join(v[:1]) + ("-json" if "--json" in v else ""),
)
def test_a_malformed_backward_is_one_error_naming_gate_and_plugin(load, gate, command):
    result = invoke(*load("malformed_backward"), *command)
    line = assert_error(result, 1, f"gate {gate!r}", "(plugin 'malformed_backward')", "backward")
    assert result.stdout == "", "nothing half-done reaches stdout"
    assert "gradient" in line


def test_the_real_command_survives_an_installed_broken_plugin(site):
    """The console script itself, with two broken plugins installed: one warning, one error, no traceback."""
    for module in ("raises_on_import", "malformed_backward"):
        _fake_distribution(site, module)
    env = isolated_environ()  # no GATEKIT_ switch, and no plugin installed here
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(FIXTURES)])
    script = Path(sys.executable).with_name("gatekit")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from gatekit.cli import main; main()"]

    fine = subprocess.run([*command, "eval", "mul", "1", "-3", "--json"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["output"] == -3.0
    assert fine.stderr.splitlines() == [
        "Warning: plugin 'raises_on_import' failed (import): "
        "RuntimeError: raises_on_import fails on purpose while being imported"
    ]

    broken = subprocess.run([*command, "run", "wrongcount(x, y)", "x=1", "y=2"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert broken.returncode == 1 and broken.stdout == ""
    errors = [line for line in broken.stderr.splitlines() if not line.startswith("Warning: ")]
    assert errors == [
        "Error: gate 'wrongcount' (plugin 'malformed_backward') at node 2: "
        "backward returned 1 gradient(s) for 2 input(s)"
    ]


# -- the switches -------------------------------------------------------------------------------


@pytest.mark.parametrize("load", ["installed"], indirect=True)
def test_a_disabled_broken_plugin_is_never_imported(load):
    options = load("good_plugin", "raises_on_import")
    result = invoke(*options, "plugins", "--json", env={"GATEKIT_DISABLE_PLUGINS": "raises_on_import"})
    assert [row["name"] for row in _json(result)] == ["good_plugin"]
    assert _warnings(result) == []
    assert "raises_on_import" not in sys.modules


@pytest.mark.parametrize("load", WAYS, indirect=True)
@pytest.mark.parametrize("fixture", LOAD_FAILURES)
def test_strict_mode_turns_a_load_error_into_an_error(load, fixture):
    result = invoke(*load(fixture), "gates", "--json", env={"GATEKIT_STRICT_PLUGINS": "1"})
    assert_error(result, 1, repr(fixture))
    assert result.stdout == ""
