"""A chatty plugin never breaks --json; Python's parser warnings never leak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gatekit.pytest_plugin import isolated_environ  # no plugin installed here leaks in
import gatekit
from gatekit.registry import PluginMessage
from cli_helpers import assert_error, invoke
from helpers import write_plugin

CHATTY = """
import sys, warnings
import gatekit
print("hello from import")
warnings.warn("import-time warning")

class Chat(gatekit.Gate):
    name, arity, doc = "chat", 1, "chat(x) = x"
    def forward(self, x):
        return x
    def backward(self, grad, out, x):
        return (grad,)

@gatekit.hookimpl
def gatekit_register_gates(register):
    print("hook says hi")
    print("to stderr", file=sys.stderr)
    warnings.warn("hook warning", DeprecationWarning)
    register(Chat())
"""

SAID = [
    ("import", "hello from import"),
    ("import", "UserWarning: import-time warning"),
    ("hook", "hook says hi"),
    ("hook", "to stderr"),
    ("hook", "DeprecationWarning: hook warning"),
]


def _chatty(tmp_path: Path) -> str:
    return write_plugin(tmp_path, "chatty", CHATTY)


def test_what_a_plugin_prints_or_warns_while_loading_is_kept_as_its_messages(tmp_path, capsys):
    registry = gatekit.load_registry(extra=[_chatty(tmp_path)], env={}, entry_points=())
    assert registry.messages == [PluginMessage("chatty", text, stage) for stage, text in SAID]
    assert registry.load_errors == [] and "chat" in registry
    assert capsys.readouterr() == ("", "")  # nothing reached the real stdout or stderr


def test_cli_a_chatty_plugin_leaves_json_clean_and_says_each_line_once_on_stderr(tmp_path):
    result = invoke("--plugin", _chatty(tmp_path), "run", "chat(x)", "x=2", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == 2.0
    lines = result.stderr.splitlines()
    assert lines == [f"Warning: plugin 'chatty' ({stage}) said: {text}" for stage, text in SAID]


def test_cli_plugins_lists_the_messages(tmp_path):
    result = invoke("--plugin", _chatty(tmp_path), "plugins", "--json")
    [row] = json.loads(result.stdout)
    assert row["messages"] == [{"stage": stage, "message": text} for stage, text in SAID]
    table = invoke("--plugin", _chatty(tmp_path), "plugins")
    assert "said (import): hello from import" in " ".join(table.stdout.split())


def test_the_real_console_script_keeps_stdout_json_only(tmp_path):
    script = Path(sys.executable).with_name("gatekit")
    done = subprocess.run([str(script), "--plugin", _chatty(tmp_path), "gates", "--json"],
                          capture_output=True, text=True, timeout=60, env=isolated_environ())
    assert done.returncode == 0, done.stderr
    assert any(row["name"] == "chat" for row in json.loads(done.stdout))
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == len(SAID)


def test_python_syntax_warnings_never_leak(recwarn):
    registry = gatekit.load_registry(env={}, entry_points=())
    circuit = gatekit.parse("1 + x", registry=registry)
    assert circuit(x=1.0) == 2.0
    for text in ("1if x else y", "x + 0x1for", "'\\d' + x"):
        try:
            gatekit.parse(text, registry=registry)
        except gatekit.ExpressionError:
            pass
    assert [w for w in recwarn if issubclass(w.category, SyntaxWarning)] == []


def test_cli_a_syntax_warning_is_not_a_second_line():
    assert_error(invoke("run", "1if x else y", "x=1", "y=2"), 2, "conditional expressions")


def test_the_real_console_script_says_one_line_for_a_warned_about_expression():
    script = Path(sys.executable).with_name("gatekit")
    done = subprocess.run([str(script), "run", "1if x else y", "x=1", "y=2"], capture_output=True, text=True,
                          timeout=60, env=isolated_environ())
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


RUNTIME_WARNING = """
import warnings
import gatekit

class Warner(gatekit.Gate):
    name, arity, doc = "warner", 1, "warner(x) = x"
    def forward(self, x):
        warnings.warn("careful with " + repr(x))
        return x
    def backward(self, grad, out, x):
        return (grad,)

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Warner())
"""


def test_cli_a_warning_while_a_command_runs_is_one_line(tmp_path):
    path = write_plugin(tmp_path, "warner", RUNTIME_WARNING)
    result = invoke("--plugin", path, "run", "warner(x)", "x=1", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["output"] == 1.0
    assert result.stderr.splitlines() == ["Warning: UserWarning: careful with 1.0"]


LOUD = """
import gatekit

class Loud(gatekit.Gate):
    name, arity, doc = "loud", 1, "loud(x) = x"
    def forward(self, x):
        print("forward of", "loud", end="")  # one line in two writes
        print("!")
        return x
    def backward(self, grad, out, x):
        _helper()
        return (grad,)

def _helper():  # printed two calls below the gate: still the gate's
    print("backward " + "x" * 400)

class Chatter:
    name, doc = "chatter", "a strategy that talks"
    def step(self, problem, state):
        print("step")
        return problem.current + 0.1

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Loud())

@gatekit.hookimpl
def gatekit_register_strategies(register):
    register(Chatter())
"""


def test_cli_what_a_gate_prints_while_it_runs_is_one_stderr_line_naming_its_plugin(tmp_path):
    path = write_plugin(tmp_path, "loud", LOUD)
    result = invoke("--plugin", path, "run", "loud(x) * 2", "x=3", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == 6.0  # stdout is the JSON and nothing else
    assert result.stderr.splitlines() == [
        "Warning: plugin 'loud' (gate 'loud') said: forward of loud!",
        "Warning: plugin 'loud' (gate 'loud') said: backward " + "x" * 288 + "...",  # cut at 300 characters
    ]


def test_cli_a_line_printed_at_every_step_is_one_line_with_a_count(tmp_path):
    path = write_plugin(tmp_path, "loud", LOUD)
    result = invoke("--plugin", path, "optimize", "loud(x)", "x=1", "--strategy", "chatter", "--steps", "5", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["evaluations"] == {"forward": 6, "backward": 0}
    assert result.stderr.splitlines() == [
        "Warning: plugin 'loud' (gate 'loud') said: forward of loud! (6 times)",  # the start and each step
        "Warning: plugin 'loud' (strategy 'chatter') said: step (5 times)",
    ]


def test_the_real_console_script_keeps_a_printing_gate_off_stdout(tmp_path):
    script = Path(sys.executable).with_name("gatekit")
    done = subprocess.run([str(script), "--plugin", write_plugin(tmp_path, "loud", LOUD), "eval", "loud", "2", "--json"],
                          capture_output=True, text=True, timeout=60, env=isolated_environ())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == 2.0
    assert done.stderr.splitlines()[0] == "Warning: plugin 'loud' (gate 'loud') said: forward of loud!"


def test_gatekit_as_a_library_leaves_a_gates_prints_alone(tmp_path, capsys):
    # Outside the CLI a print is the gate's business, as any function's is (README: Plugins).
    registry = gatekit.load_registry(extra=[write_plugin(tmp_path, "loud", LOUD)], env={}, entry_points=())
    assert gatekit.parse("loud(x)", registry=registry)(x=1.0) == 1.0
    assert capsys.readouterr().out == "forward of loud!\n"


TWINS = """
import gatekit

class Echo(gatekit.Gate):
    arity, doc = 1, "echo(x) = x"
    def __init__(self, name):
        self.name = name
    def forward(self, x):
        if self.name == "echo_b":
            print("from b")
        return x
    def backward(self, grad, out, x):
        return (grad,)

@gatekit.hookimpl
def gatekit_register_gates(register):
    register(Echo("echo_a"))
    register(Echo("echo_b"))
"""


def test_cli_of_two_gates_of_one_class_the_line_names_the_one_that_printed(tmp_path):
    result = invoke("--plugin", write_plugin(tmp_path, "twins", TWINS), "run", "echo_a(x) + echo_b(x)", "x=1", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["output"] == 2.0, result.stderr
    assert result.stderr.splitlines() == ["Warning: plugin 'twins' (gate 'echo_b') said: from b"]
