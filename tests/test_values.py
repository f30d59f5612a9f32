"""One set of value rules: whatever Composer accepts, save() writes and load() reads back identically."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekit import CircuitError, Composer
from gatekit.circuit_file import dumps, loads

names = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), st.sampled_from(["if", "class", "None",
                  "match", "x-y", "1x", "", "ü", "_"]))
constants = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400))


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, value=constants)
def test_what_composer_accepts_save_writes_and_load_reads_back(registry, name, value):
    c = Composer(registry)
    try:
        (x,) = c.inputs(name)
        circuit = c.build(x * value + 1)
    except CircuitError:
        return  # refused at the door, with the rule
    again = loads(dumps(circuit), registry)
    assert again.nodes == circuit.nodes
    assert again.inputs == circuit.inputs
    const = [n.value for n in again.nodes if n.kind == "const"]
    assert all(math.isfinite(v) for v in const)
    assert const[0] == float(value) and math.copysign(1.0, const[0]) == math.copysign(1.0, float(value))


@pytest.mark.parametrize("name", ["if", "class", "1x", "x-y", ""])
def test_names_no_file_can_hold_are_refused_by_the_builder(registry, name):
    with pytest.raises(CircuitError, match="identifier"):
        Composer(registry).input(name)
