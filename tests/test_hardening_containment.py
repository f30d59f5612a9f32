"""Plugin code is contained: whatever it raises is its own failure, never the CLI's end.

The rule (gatekit/containment.py): a BaseException from plugin code (import, hook,
a gate's forward/backward, a strategy step) becomes a load error or one error naming
the plugin; only a real Ctrl-C (a SIGINT) still stops the run, with one line.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatekit.pytest_plugin import isolated_environ  # no plugin installed here leaks in
import gatekit
from gatekit.containment import is_user_interrupt, watching_interrupts
from cli_helpers import assert_error, invoke
from helpers import write_plugin

RAISED = {
    "boom": "class Boom(BaseException): pass\nraise Boom('x')",
    "keyboard": "raise KeyboardInterrupt",
    "generator_exit": "raise GeneratorExit('bye')",
    "system_exit": "raise SystemExit(4)",
}

GATE_PLUGIN = """
import gatekit

class Boom(BaseException):
    pass

class Hostile(gatekit.Gate):
    name, arity, doc = "hostile", 1, "hostile(x) = x"

    def forward(self, x):
        if WHERE == "forward":
            raise RAISED
        return x

    def backward(self, grad, out, x):
        raise RAISED

class Exiter:
    name, doc = "exiter", "a strategy that raises in its step"

    def step(self, problem, state):
        raise RAISED

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Hostile())

@gatekit.hookimpl
def gatekit_register_strategies(register):
    register(Exiter())
"""

EXCEPTIONS = {
    "SystemExit": "SystemExit(4)",
    "GeneratorExit": "GeneratorExit('bye')",
    "KeyboardInterrupt": "KeyboardInterrupt()",
    "Boom": "Boom('x')",
}


def _gate_plugin(tmp_path: Path, raised: str, where: str) -> str:
    source = GATE_PLUGIN.replace("RAISED", EXCEPTIONS[raised]).replace("WHERE", repr(where))
    return write_plugin(tmp_path, "hostile", source)


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_a_plugin_raising_a_base_exception_on_import_is_a_load_error(tmp_path, kind):
    path = write_plugin(tmp_path, kind, RAISED[kind])
    with watching_interrupts():
        registry = gatekit.load_registry(extra=[path], env={}, entry_points=())
    assert [(e.plugin, e.stage) for e in registry.load_errors] == [(kind, "import")]
    assert "mul" in registry


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_an_installed_plugin_raising_a_base_exception_is_a_load_error(kind):
    class EntryPoint:
        name, dist = kind, None

        def load(self):
            namespace: dict = {}
            exec(compile(RAISED[kind], "<plugin>", "exec"), namespace)  # the test's own code

    with watching_interrupts():
        registry = gatekit.load_registry(env={}, entry_points=[EntryPoint()])
    assert [(e.plugin, e.stage) for e in registry.load_errors] == [(kind, "import")]


def test_a_hook_raising_keyboard_interrupt_is_a_load_error(tmp_path):
    path = write_plugin(tmp_path, "hookki", """
        import gatekit
        @gatekit.hookimpl
        def gatekit_register_gates(register):
            raise KeyboardInterrupt
    """)
    with watching_interrupts():
        registry = gatekit.load_registry(extra=[path], env={}, entry_points=())
    [error] = registry.load_errors
    assert (error.plugin, error.stage) == ("hookki", "hook") and "KeyboardInterrupt" in error.message


def test_outside_the_cli_a_keyboard_interrupt_is_the_users():
    # Without the SIGINT watch gatekit cannot tell, and never swallows a real Ctrl-C.
    assert is_user_interrupt(KeyboardInterrupt())
    with watching_interrupts():
        assert not is_user_interrupt(KeyboardInterrupt())
        assert not is_user_interrupt(SystemExit(1))


@pytest.mark.parametrize("raised", sorted(EXCEPTIONS))
@pytest.mark.parametrize("where", ["forward", "backward"])
def test_a_gate_raising_a_base_exception_is_an_error_naming_it(tmp_path, raised, where):
    registry = gatekit.load_registry(extra=[_gate_plugin(tmp_path, raised, where)], env={}, entry_points=())
    circuit = gatekit.parse("hostile(x) * 2", registry=registry)
    with watching_interrupts(), pytest.raises(gatekit.errors.GateContractError) as info:
        circuit.forward(x=1.0).backward()
    assert f"gate 'hostile' (plugin 'hostile')" in str(info.value)
    assert f"in {where}" in str(info.value) and info.value.plugin == "hostile"


@pytest.mark.parametrize("raised", sorted(EXCEPTIONS))
def test_a_strategy_raising_a_base_exception_is_an_error_naming_it(tmp_path, raised):
    registry = gatekit.load_registry(extra=[_gate_plugin(tmp_path, raised, "none")], env={}, entry_points=())
    circuit = gatekit.parse("x * x", registry=registry)
    with watching_interrupts(), pytest.raises(gatekit.PluginError) as info:
        gatekit.optimize(circuit, {"x": 1.0}, "exiter", steps=2)
    assert "strategy 'exiter' (plugin 'hostile')" in str(info.value)


# -- the CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_cli_every_command_survives_a_plugin_raising_on_import(tmp_path, kind):
    result = invoke("--plugin", write_plugin(tmp_path, kind, RAISED[kind]), "gates", "--json")
    assert result.exit_code == 0, result.stderr
    assert "mul" in result.stdout and "Traceback" not in result.stderr
    assert f"plugin {kind!r} failed (import)" in result.stderr


@pytest.mark.parametrize("raised", sorted(EXCEPTIONS))
def test_cli_a_gate_raising_a_base_exception_is_one_line(tmp_path, raised):
    path = _gate_plugin(tmp_path, raised, "backward")
    assert_error(invoke("--plugin", path, "run", "hostile(x)", "x=1"), 1, "gate 'hostile' (plugin 'hostile')", raised)


@pytest.mark.parametrize("raised", sorted(EXCEPTIONS))
def test_cli_a_strategy_raising_a_base_exception_is_one_line(tmp_path, raised):
    path = _gate_plugin(tmp_path, raised, "none")
    result = invoke("--plugin", path, "optimize", "x * x", "x=1", "--strategy", "exiter")
    assert_error(result, 1, "strategy 'exiter' (plugin 'hostile')", raised)


SLOW_GATE = """
import sys, time, gatekit
class Slow(gatekit.Gate):
    name, arity, doc = "slow", 1, "slow(x) = x"
    def forward(self, x):
        print("started", file=sys.stderr, flush=True)  # stderr: the CLI holds a gate's stdout till the end
        time.sleep(30)
        return x
    def backward(self, grad, out, x):
        return (grad,)
@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Slow())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cli_a_real_ctrl_c_still_stops_the_command_with_one_line(tmp_path):
    script = Path(sys.executable).with_name("gatekit")
    process = subprocess.Popen(
        [str(script), "--plugin", write_plugin(tmp_path, "slow", SLOW_GATE), "run", "slow(x)", "x=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=isolated_environ(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job ignores it
    )
    assert process.stderr is not None
    assert process.stderr.readline().strip() == "started"
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, (out, err)
    assert err.strip() == "Error: interrupted"


UNPRINTABLE = """
import gatekit

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text for you")

class Gate(gatekit.Gate):
    name, arity, doc = "unprintable", 1, "unprintable(x) = x"
    def forward(self, x):
        raise Unprintable()
    def backward(self, grad, out, x):
        return (grad,)

class Strategy:
    name, doc = "unprintable-steps", "raises an exception with no text"
    def step(self, problem, state):
        raise Unprintable()

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Gate())

@gatekit.hookimpl
def gatekit_register_strategies(register):
    register(Strategy())
"""


def test_an_exception_whose_text_raises_still_names_the_plugin(tmp_path):
    path = write_plugin(tmp_path, "unprintable", UNPRINTABLE)
    assert_error(invoke("--plugin", path, "run", "unprintable(x)", "x=1"), 1,
                 "gate 'unprintable' (plugin 'unprintable') at node 1 raised Unprintable in forward")
    assert_error(invoke("--plugin", path, "optimize", "x * x", "x=1", "--strategy", "unprintable-steps"), 1,
                 "strategy 'unprintable-steps' (plugin 'unprintable') raised Unprintable")


def test_a_module_whose_getattr_raises_is_contained(tmp_path):
    path = write_plugin(tmp_path, "getattr_boom", """
        class Boom(BaseException):
            pass

        def __getattr__(name):
            raise Boom("no attribute " + name)
    """)
    with watching_interrupts():
        registry = gatekit.load_registry(extra=[path], env={}, entry_points=())
    assert "mul" in registry
    result = invoke("--plugin", path, "gates", "--json")
    assert result.exit_code == 0 and "Traceback" not in result.stderr
