"""The contract, as properties: one clear error or a correct result; no traceback;
nothing lost; nothing executed.

Over expressions, circuit files (and their saving), command lines and plugin
behaviour. The default size fits the suite's time budget (a few seconds); a nightly
run explores far more::

    GATEKIT_HARDENING_PROFILE=nightly .venv/bin/python -m pytest tests/test_hardening_properties.py

(the profiles are ``quick``, the default, and ``nightly``; CI=true keeps either one
derandomized, like the rest of the suite).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import CircuitError, Composer, GatekitError
from gatekit.circuit_file import circuit_to_dict, loads
from gatekit.containment import watching_interrupts
from cli_helpers import RUNNER, invoke
from helpers import write_plugin
from gatekit.cli import main


class _MainResult:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.exit_code, self.stdout, self.stderr, self.exception = code, stdout, stderr, None


def invoke_main(*argv: str) -> _MainResult:
    """Run the console script's ``main()`` in-process (its parser errors are one line too)."""
    import sys

    with RUNNER.isolation() as (out, err, *_):
        saved, sys.argv = sys.argv, ["gatekit", *argv]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = saved
        return _MainResult(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))

_DERANDOMIZE = bool(os.environ.get("CI"))
settings.register_profile("hardening-quick", max_examples=25, deadline=None, derandomize=_DERANDOMIZE,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("hardening-nightly", max_examples=3000, deadline=None, derandomize=_DERANDOMIZE,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = settings.get_profile("hardening-" + os.environ.get("GATEKIT_HARDENING_PROFILE", "quick"))

REGISTRY = gatekit.load_registry(env={}, entry_points=())

#: Markers that only code execution could produce: a file, and a flag in builtins.
SENTINEL = Path(os.environ.get("TMPDIR", "/tmp")) / "gatekit-hardening-executed"
EXECUTING = [
    f"__import__('pathlib').Path({str(SENTINEL)!r}).touch()",
    "__import__('builtins').__dict__.__setitem__('GATEKIT_EXECUTED', 1)",
    "exec('import builtins; builtins.GATEKIT_EXECUTED = 1')",
    "eval('1')",
    "open('x')",
    "(lambda: 1)()",
    "[x for x in (1,)]",
    "x.__class__",
    "f'{x}'",
]


def _nothing_executed() -> None:
    import builtins

    assert not SENTINEL.exists()
    assert not hasattr(builtins, "GATEKIT_EXECUTED")


# -- expressions -----------------------------------------------------------------------------

TOKENS = st.sampled_from(
    ["x", "y", "z", "q", "ñ", "1", "2.5", "1e308", "1e309", "0x10", "9" * 400, "-", "+", "*", "/", "**", "%", "//",
     "(", ")", ",", "=", ";", "\n", " ", "+=", "max", "relu", "exp", "log", "sigmoid", "pow", "if", "else",
     "lambda", "import", "'s'", "[", "]", "{", "}", ":", ".", "@", "~", "<", "#", "\\", "\x00", "\u2028", "_gk_chain_0"]
)
EXPRESSIONS = st.one_of(
    st.lists(TOKENS, max_size=40).map("".join),
    st.lists(st.one_of(TOKENS, st.sampled_from(EXECUTING)), max_size=12).map(" ".join),
    st.text(max_size=60),
)


@settings(PROFILE)
@given(text=EXPRESSIONS)
def test_any_expression_is_a_circuit_or_one_clear_error(text):
    try:
        circuit = gatekit.parse(text, registry=REGISTRY)
    except GatekitError as exc:
        assert str(exc).strip()  # says something
        _nothing_executed()
        return
    values = {name: 0.5 for name in circuit.inputs}
    try:
        trace = circuit.forward(values).backward()
    except GatekitError:
        pass
    else:
        assert set(trace.input_grads()) == set(circuit.inputs)
    _nothing_executed()


@settings(PROFILE)
@given(text=EXPRESSIONS)
def test_cli_run_of_any_expression_is_a_result_or_one_error_line(text):
    assume("\x00" not in text)  # argv cannot hold NUL
    result = invoke_main("run", text, "--json")
    _assert_cli_contract(result)
    if result.exit_code == 0:
        json.loads(result.stdout)
    _nothing_executed()


# -- circuit files: built circuits round-trip; mutated files are loaded or refused ------------

LABELS = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["", " ", "\u2028", "#1", "x", "a#2", "q'"]))
NAMES = st.text(alphabet="abcxyñ_", min_size=1, max_size=3).filter(str.isidentifier)


@st.composite
def built_circuits(draw):
    """A random circuit from the Composer, with random labels (some that no file can hold)."""
    c = Composer(REGISTRY)
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    wires = list(c.inputs(*names))
    refused = False
    for _ in range(draw(st.integers(1, 8))):
        gate = draw(st.sampled_from(["add", "mul", "sub", "neg", "max", "relu", "tanh", "pow"]))
        arity = REGISTRY.gate(gate).arity
        args = [draw(st.one_of(st.sampled_from(wires), st.floats(-3, 3, allow_nan=False))) for _ in range(arity)]
        wire = c.gate(gate, *args)
        label = draw(LABELS)
        if label is not None:
            try:
                wire.named(label)
            except CircuitError:
                refused = True
        wires.append(wire)
    defaults = {name: draw(st.floats(-2, 2)) for name in names if draw(st.booleans())}
    return c.build(wires[-1], defaults=defaults), refused


@settings(PROFILE)
@given(built=built_circuits())
def test_whatever_can_be_built_saves_and_loads_back_identically(tmp_path_factory, built):
    circuit, _ = built
    path = tmp_path_factory.mktemp("round") / "c.json"
    gatekit.save(circuit, path)
    assert _same(gatekit.load(path, registry=REGISTRY), circuit)


def _same(a: gatekit.Circuit, b: gatekit.Circuit) -> bool:
    """Same inputs, defaults, labels, and bit-identical values and gradients (a file keeps
    constants just before their first use, so node order may differ from a Composer's)."""
    if (a.inputs, a.defaults) != (b.inputs, b.defaults):
        return False
    if sorted(n.label for n in a.nodes if n.label) != sorted(n.label for n in b.nodes if n.label):
        return False
    point = {name: 0.25 + k for k, name in enumerate(a.inputs)}
    ta, tb = a.forward(point).backward(), b.forward(point).backward()
    same = np.array_equal(ta.output, tb.output, equal_nan=True)
    return same and all(np.array_equal(ta.input_grads()[k], tb.input_grads()[k], equal_nan=True) for k in a.inputs)


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                     st.text(max_size=5), st.sampled_from(["x", "q", "add", "#1", "\ud800", "9" * 5000]))
    value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                                             inner, max_size=3),
                         max_leaves=8)
    return st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=3), value), max_size=3)


def _mutate(data, path, value):
    """Replace the piece at ``path`` (indices into lists/dicts, taken modulo their size)."""
    if not path or not isinstance(data, (list, dict)) or not data:
        return value
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    data[key] = _mutate(data[key], path[1:], value)
    return data


@settings(PROFILE)
@given(built=built_circuits(), mutations=_mutations())
def test_a_mutated_circuit_file_is_loaded_or_refused_with_its_path(built, mutations):
    data = circuit_to_dict(built[0])
    for path, value in mutations:
        data = _mutate(data, path, value)
    try:
        text = json.dumps(data, ensure_ascii=True)
    except (TypeError, ValueError):
        return
    try:
        circuit = loads(text, REGISTRY, source="m.json")
    except gatekit.CircuitFileError as exc:
        assert str(exc).startswith("m.json")
        return
    # What loads can be saved again and means the same.
    assert _same(loads(gatekit.circuit_file.dumps(circuit), REGISTRY), circuit)


@settings(PROFILE)
@given(built=built_circuits(), failing=st.sampled_from(["fsync", "replace", "chmod", None]))
def test_a_failing_save_loses_nothing(tmp_path_factory, monkeypatch, built, failing):
    folder = tmp_path_factory.mktemp("save")
    path = folder / "c.json"
    old = gatekit.parse("x * 2", registry=REGISTRY)
    gatekit.save(old, path)
    before = path.read_bytes()
    if failing is not None:
        def full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, failing, full)
    try:
        gatekit.save(built[0], path)
    except gatekit.CircuitFileError:
        assert failing is not None
    finally:
        monkeypatch.undo()
    after = path.read_bytes()
    assert after == before or _same(gatekit.load(path, registry=REGISTRY), built[0])
    assert [p.name for p in folder.iterdir()] == ["c.json"]


# -- command lines -----------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["run", "eval", "gates", "show", "check", "optimize", "compare", "graph", "plugins", "strategies", "tour",
     "--json", "--steps", "--strategy", "--file", "--option", "--seed", "--hold", "--budget", "--minimize",
     "--help", "--all", "x*y", "x=1", "y=-3", "mul", "max", "1", "-2", "inf", "nan", "1e400", "ñ=3", "x=",
     "=1", "--plugin", "nope", "/dev/zero", "random-search", "h=abc", "step_size=-1", "0", "99999999",
     "q = x + y; f = q * z", "z=2", "", " ", "\u2028"]
)


def _assert_cli_contract(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 1, 2), result.exit_code
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Warning:")]
        # --help and the bare group print usage on stdout; every failure is one line.
        assert len(errors) <= 1 and all(line.startswith("Error: ") for line in errors), result.stderr


@settings(PROFILE)
@given(argv=st.lists(WORDS, min_size=1, max_size=7))
def test_any_command_line_is_a_result_or_one_error_line(argv):
    assume(argv[0] != "tour")
    result = invoke_main(*argv)
    _assert_cli_contract(result)
    if result.exit_code == 0 and "--json" in argv and "--help" not in argv:
        json.loads(result.stdout)


# -- plugin behaviour -------------------------------------------------------------------------

RAISED = ["ValueError('v')", "SystemExit(3)", "GeneratorExit()", "KeyboardInterrupt()", "Boom('b')",
          "RecursionError()", "MemoryError()", "StopIteration()", "Unprintable()"]
PLACES = ["import", "hook", "forward", "backward", "step", "nowhere"]

HOSTILE = """
import sys, warnings
import gatekit

class Boom(BaseException):
    pass

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text")

def maybe(place):
    if PRINT:
        if place in ("import", "hook"):  # a print at run time lands on stdout: see the README
            print("chatter", place)
        warnings.warn("warned " + place)
    if place == PLACE:
        raise RAISED

maybe("import")

class Gate(gatekit.Gate):
    name, arity, doc = "hostile", 1, "hostile(x) = x"
    def forward(self, x):
        maybe("forward")
        return x
    def backward(self, grad, out, x):
        maybe("backward")
        return (grad,)

class Strategy:
    name, doc = "hostile-steps", "moves nowhere"
    def step(self, problem, state):
        maybe("step")
        return problem.current

@gatekit.hookimpl
def gatekit_register_gates(register):
    maybe("hook")
    register(Gate())

@gatekit.hookimpl
def gatekit_register_strategies(register):
    register(Strategy())
"""


@settings(PROFILE)
@given(raised=st.sampled_from(RAISED), place=st.sampled_from(PLACES), chatty=st.booleans(),
       command=st.sampled_from([["run", "hostile(x) * 2", "x=1"], ["gates"], ["check", "hostile"],
                                ["optimize", "x * x", "x=1", "--strategy", "hostile-steps", "--steps", "2"]]))
def test_a_hostile_plugin_only_ever_costs_itself(tmp_path_factory, raised, place, chatty, command):
    source = HOSTILE.replace("PLACE", repr(place)).replace("RAISED", raised).replace("PRINT", str(chatty))
    path = write_plugin(tmp_path_factory.mktemp("hostile"), "hostile", source)
    with watching_interrupts():
        registry = gatekit.load_registry(extra=[str(path)], env={}, entry_points=())
    assert "mul" in registry and "add" in registry  # the rest always loads
    assert (place in ("import", "hook")) == any(e.plugin == "hostile" for e in registry.load_errors)
    result = invoke("--plugin", str(path), *command, "--json")
    _assert_cli_contract(result)
    if result.exit_code == 0:
        json.loads(result.stdout)  # chatter never reaches stdout
    else:
        assert "hostile" in result.stderr  # the message names the culprit
    if result.exit_code == 0 and command[0] == "run":
        assert math.isclose(json.loads(result.stdout)["output"], 2.0)
