"""Step-through: the forward pass, then the backward pass, one gate at a time (golden)."""

from __future__ import annotations

import json

import pytest

import gatekit
from cli_helpers import invoke, run_json

XYZ = ("q = x + y; f = q * z", "x=-2", "y=5", "z=-4")

GOLDEN = """\
q = x + y; f = q * z: 2 gate(s), forward then backward
forward 1 of 2: q = add(x, y)
  rule: add(x, y) = x + y
  q = add(-2, 5) = 3
forward 2 of 2: f = mul(q, z)
  rule: mul(x, y) = x * y   (here x = q, y = z)
  f = mul(3, -4) = -12
backward 1 of 2: f = mul(q, z), whose gradient is 1
  rule: d/dx = y, d/dy = x   (here x = q, y = z)
  to q: local -4 * upstream 1 = -4   (q's gradient so far: -4)
  to z: local 3 * upstream 1 = 3   (z's gradient so far: 3)
backward 2 of 2: q = add(x, y), whose gradient is -4
  rule: d/dx = 1, d/dy = 1
  to x: local 1 * upstream -4 = -4   (x's gradient so far: -4)
  to y: local 1 * upstream -4 = -4   (y's gradient so far: -4)
output = -12; input gradients: x = -4, y = -4, z = 3
"""


def test_step_all_prints_every_step_golden():
    result = invoke("step", *XYZ, "--all")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == GOLDEN


def test_step_without_a_terminal_prints_every_step_without_waiting():
    assert invoke("step", *XYZ).stdout == GOLDEN


def test_step_json_is_the_same_steps_as_data():
    data = run_json("step", *XYZ)
    assert [(s["phase"], s["step"], s["name"]) for s in data] == [
        ("forward", 1, "q"), ("forward", 2, "f"), ("backward", 1, "f"), ("backward", 2, "q")]
    assert data[0]["arg_values"] == [-2.0, 5.0] and data[0]["value"] == 3.0
    assert data[2]["sends"] == [
        {"to": "q", "local": -4.0, "upstream": 1.0, "share": -4.0, "total": -4.0},
        {"to": "z", "local": 3.0, "upstream": 1.0, "share": 3.0, "total": 3.0},
    ]


def test_steps_from_python_collect_the_shares_of_a_fork():
    trace = gatekit.parse("a = x * x; b = a + x; f = b * a").forward(x=3)
    walk = gatekit.steps(trace)
    assert [str(s).splitlines()[0] for s in walk][:3] == [
        "forward 1 of 3: a = mul(x, x)", "forward 2 of 3: b = add(a, x)", "forward 3 of 3: f = mul(b, a)"]
    to_x = [send for s in walk if s.phase == "backward" for send in s.sends if send.to == "x"]
    assert [send.share for send in to_x] == [9.0, 63.0, 63.0]
    assert [send.total for send in to_x] == [9.0, 72.0, 135.0]  # x's gradient as the shares arrive
    assert to_x[-1].total == trace.grad("x")
    json.dumps([s.to_dict() for s in walk])  # plain data


def test_step_waits_for_enter_on_a_terminal_and_q_stops(monkeypatch):
    import sys

    answers = iter(["", "q"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda *a: next(answers))
    from gatekit.cli import step as step_module

    lines: list[str] = []
    monkeypatch.setattr(step_module.typer, "echo", lambda text="", **k: lines.append(str(text)))
    from gatekit.cli import app

    with pytest.raises(SystemExit) as stop:
        app(["step", *XYZ], standalone_mode=True)
    assert stop.value.code == 0
    assert "(Enter for the next step, q to stop)" in lines[0]
    # The first step, Enter, the second step, q: nothing more.
    assert [line.splitlines()[0] for line in lines[1:]] == ["forward 1 of 2: q = add(x, y)", "forward 2 of 2: f = mul(q, z)"]
