"""The bug zoo (tests/fixtures/plugins/bug_zoo.py): each classic wrong backward, diagnosed right three ways.

- ``check_gate``, the API;
- ``gatekit --plugin bug_zoo.py check GATE``: the diagnosis, ``FAILED`` once, exit 1 (a kink: exit 0);
- a plugin author's test file run with pytester: ``plugin_tests`` and ``assert_gate_gradients``
  fail with the diagnosis, ``FAILED`` once per test, and no gatekit frame in the traceback.
"""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from cli_helpers import FIXTURES, invoke
import gatekit
from gatekit import check_gate

ZOO = FIXTURES / "bug_zoo.py"
_spec = importlib.util.spec_from_file_location("bug_zoo_for_tests", ZOO)
assert _spec is not None and _spec.loader is not None
bug_zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bug_zoo)

#: What each diagnosis must say (whitespace aside: the CLI wraps to the terminal).
PHRASES = {
    "ignores-upstream": "backward ignores the upstream gradient",
    "wrong-sign": "backward has the wrong sign: it gives minus the derivative (at all 5 points tried)",
    "constant-factor": "off by a constant factor: it gives 0.333333 times the derivative (at all 5 points tried)",
    "swapped": "the gradients of x0 and x1 are swapped",
    "kink": "a kink, not a bug: the slope is 0 on the left and 1 on the right",
    "wrong-count": "backward must return a tuple with one gradient per input",
    "wrong-shape": "each gradient must have its input's shape or the output's shape",
}
GATES = list(bug_zoo.EXPECTED)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _at(gate: str) -> list[str]:
    point = bug_zoo.AT.get(gate)
    return ["--at", ",".join(map(str, point))] if point else []


def test_the_zoo_covers_every_mistake():
    assert sorted(set(bug_zoo.EXPECTED.values())) == sorted(PHRASES)


@pytest.mark.parametrize("gate", GATES)
def test_check_gate_diagnoses_it(gate):
    obj = next(g for g in bug_zoo.GATES if g.name == gate)
    point = bug_zoo.AT.get(gate)
    result = check_gate(obj, at=[point] if point else None)
    diagnosis = result.diagnosis or result.kink
    assert diagnosis is not None and diagnosis.kind == bug_zoo.EXPECTED[gate]
    assert PHRASES[diagnosis.kind] in _flat(result.describe())
    assert result.ok == (diagnosis.kind == "kink")  # a kink is reported, not failed
    assert result.plugin == "bug_zoo_for_tests"  # no placeholder: the module that defines it


@pytest.mark.parametrize("gate", GATES)
def test_gatekit_check_diagnoses_it(gate):
    kind = bug_zoo.EXPECTED[gate]
    result = invoke("--plugin", str(ZOO), "check", gate, *_at(gate), "--json")
    [row] = json.loads(result.stdout)
    assert (row["gate"], row["plugin"], row["diagnosis"]["kind"]) == (gate, "bug_zoo", kind)
    assert result.exit_code == (0 if kind == "kink" else 1)

    text = invoke("--plugin", str(ZOO), "check", gate, *_at(gate))
    assert PHRASES[kind] in _flat(text.stdout)
    assert text.stdout.count("FAILED") == (0 if kind == "kink" else 1)
    assert f"gate '{gate}' (plugin 'bug_zoo')" in _flat(text.stdout)


AUTHOR_TESTS = f"""
import sys

import pytest

import gatekit
from gatekit.pytest_plugin import plugin_tests

sys.path.insert(0, {str(FIXTURES)!r})
import bug_zoo

TestZoo = plugin_tests({str(ZOO)!r})


@pytest.mark.parametrize("gate", bug_zoo.GATES, ids=lambda gate: gate.name)
def test_my_gate(gate):
    point = bug_zoo.AT.get(gate.name)
    gatekit.assert_gate_gradients(gate, at=[point] if point else None)
"""




@pytest.fixture
def zoo_run(pytester):
    pytester.makepyfile(test_zoo=AUTHOR_TESTS)
    return pytester.runpytest("-p", "no:cacheprovider", "-W", "always::gatekit.check.KinkWarning")


def _sections(output: str) -> dict[str, str]:
    """Each failure's section of pytest's report, by its title (``TestZoo.test_gate_gradient[zoo_x]``)."""
    failures = re.split(r"^=+ (?:warnings summary|short test summary info) =+$", output, flags=re.M)[0]
    parts = re.split(r"^_{3,} (\S+) _{3,}$", failures, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_pytest_plugin_diagnoses_each_through_pytester(zoo_run):
    wrong = [gate for gate in GATES if bug_zoo.EXPECTED[gate] != "kink"]
    # plugin_tests: loading, and per gate gradient, determinism and doc; then the author's own test.
    zoo_run.assert_outcomes(passed=1 + 3 * len(GATES) - len(wrong) + 1, failed=2 * len(wrong), warnings=1)
    output = zoo_run.stdout.str()
    sections = _sections(output)
    for gate in wrong:
        phrase = PHRASES[bug_zoo.EXPECTED[gate]]
        for title in (f"TestZoo.test_gate_gradient[{gate}]", f"test_my_gate[{gate}]"):
            section = sections[title]
            assert phrase in _flat(section), (title, section)
            assert f"gate '{gate}' (plugin 'bug_zoo')" in section
            assert "FAILED" not in section  # once, in pytest's own summary
            assert "gatekit/" not in section and "gatekit\\" not in section, section  # no gatekit frame
    summary = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert len(summary) == 2 * len(wrong)
    # The kink passes with a warning that says what it is.
    assert "KinkWarning" in output and "a kink, not a bug" in _flat(output)


# -- which gate is wrong in a circuit ------------------------------------------------------------

MATHS_WRONG = [gate for gate in GATES if bug_zoo.EXPECTED[gate] not in ("kink", "wrong-count", "wrong-shape")]


@pytest.mark.parametrize("gate", MATHS_WRONG)
def test_a_failed_circuit_names_the_wrong_gate(gate):
    registry = gatekit.load_registry([str(ZOO)], env={}, entry_points=())
    arity = registry.gate(gate).arity
    args = ", ".join(["x", "y"][:arity])
    circuit = gatekit.parse(f"a = {gate}({args}); b = exp(y) * a; f = b + x * y", registry=registry)
    result = gatekit.check_circuit(circuit, {"x": 0.7, "y": -1.3})
    assert not result.ok
    [culprit] = result.culprits  # exp, mul and add are right: only the zoo gate is named
    assert (culprit.label, culprit.gate, culprit.plugin) == ("a", gate, "bug_zoo")
    assert culprit.result.diagnosis is not None and culprit.result.diagnosis.kind == bug_zoo.EXPECTED[gate]
    text = result.describe()
    assert f"the wrong gate: node {culprit.node} ('a'), gate '{gate}' (plugin 'bug_zoo')" in text


def test_the_wrong_gate_is_checked_at_the_values_it_saw():
    registry = gatekit.load_registry([str(ZOO)], env={}, entry_points=())
    circuit = gatekit.parse("s = x + y; a = zoo_factor(s); f = a * 2", registry=registry)
    result = gatekit.check_circuit(circuit, {"x": 0.5, "y": 1.0})
    [culprit] = result.culprits
    assert culprit.result.worst_point == {"x0": 1.5}  # s = x + y, what the gate received
    assert (culprit.result.analytic, culprit.result.numeric) == (pytest.approx(1.5 ** 2), pytest.approx(3 * 1.5 ** 2))
