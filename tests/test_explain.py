"""Explanations: each wire's share is local gradient x upstream; shares sum to the gradient
at a fork; an input's gradient is the sum over its paths to the output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gatekit
from gatekit.explain import local_gradients, paths, wire_shares
from test_random_circuits import RANDOM, SMOOTH_OPS, draw_circuit, points
from cli_helpers import invoke, run_json
from helpers import SECTION6

XYZ = "q = x + y; f = q * z"
XYZ_AT = {"x": -2.0, "y": 5.0, "z": -4.0}


def _assert_shares_sum_to_every_gradient(trace: gatekit.Trace) -> None:
    circuit = trace.circuit
    for i in range(len(circuit.nodes)):
        if i == circuit.output or circuit.nodes[i].kind == "const":
            continue
        e = trace.explain(i)
        for s in e.uses:  # each share is local gradient x upstream gradient
            assert s.share == pytest.approx(s.local * s.upstream, rel=1e-12, abs=1e-12)
        assert e.share_sum == pytest.approx(trace.grad(i), rel=1e-12, abs=1e-12)


def test_the_chain_rule_on_x_plus_y_times_z_reads_as_the_lesson_writes_it():
    trace = gatekit.parse(XYZ).forward(XYZ_AT).backward()
    _assert_shares_sum_to_every_gradient(trace)
    x = trace.explain("x")
    assert x.grad == -4.0 and [(u.local, u.upstream, u.share) for u in x.uses] == [(1.0, -4.0, -4.0)]
    assert "via q (argument 1 of add): dq/dx * df/dq = 1 * -4 = -4" in x.text()
    assert x.path_count == 1 and x.paths[0].product == -4.0
    q = trace.explain("q")
    assert "sends back to x: dq/dx * df/dq = 1 * -4 = -4" in q.text()


def test_section_6_shares_sum_to_the_gradients_and_paths_to_the_reference():
    trace = gatekit.parse(SECTION6).forward(a=-4, b=2).backward()
    _assert_shares_sum_to_every_gradient(trace)
    for name, reference in (("a", 138.8338), ("b", 645.5773)):
        e = trace.explain(name, max_paths=None)
        assert round(e.grad, 4) == reference
        assert len(e.paths) == e.path_count > 10  # many paths: values fan out and rejoin
        assert e.path_sum == pytest.approx(e.grad, rel=1e-10)


def test_a_fork_shows_every_share_and_their_sum():
    trace = gatekit.parse("a = x * x; b = a + x; f = b * a").forward(x=3).backward()
    e = trace.explain("x")
    assert sorted(u.share for u in e.uses) == [9.0, 63.0, 63.0]
    assert "x is used 3 times, so its gradient is the sum of the shares: df/dx = 63 + 63 + 9 = 135" in e.text()


def test_the_path_listing_is_bounded_and_says_how_many_more():
    expression = "; ".join(["a = x"] + ["a = a * x + a"] * 12)  # 2**12-ish paths from x
    trace = gatekit.parse(expression).forward(x=1.01).backward()
    e = trace.explain("x", max_paths=5)
    assert len(e.paths) == 5 and e.path_count > 1000
    assert f"and {e.path_count - 5} more path(s)" in e.text()


@RANDOM
@given(data=st.data())
def test_the_sum_over_paths_is_the_gradient_on_random_circuits(registry, data):
    circuit, n_inputs = draw_circuit(data, registry, inputs=(1, 3), max_steps=10, ops=SMOOTH_OPS)
    trace = circuit.forward(dict(zip(circuit.inputs, data.draw(points(n_inputs), label="point")))).backward()
    local = local_gradients(trace)
    for name, grad in trace.input_grads().items():
        found, count = paths(trace, name, limit=None, local=local)
        assert len(found) == count
        assert sum(p.product for p in found) == pytest.approx(grad, rel=1e-9, abs=1e-12)
    shares = wire_shares(trace)
    for i, node in enumerate(circuit.nodes):  # fan-out: a node's gradient is the sum of its wires' shares
        if i != circuit.output and node.kind != "const":
            total = sum(s for (g, k), s in shares.items() if circuit.nodes[g].args[k] == i)
            assert total == pytest.approx(trace.grad(i), rel=1e-12, abs=1e-12)


def test_run_explain_on_the_cli_for_every_node_and_for_one():
    every = invoke("run", XYZ, *[f"{k}={v:g}" for k, v in XYZ_AT.items()], "--explain")
    assert every.exit_code == 0, every.stderr
    assert every.stdout.startswith("f = mul(q, z) = -12; df/df = 1")
    assert "x = input = -2; df/dx = -4" in every.stdout
    for args in (("--explain", "x", "x=-2", "y=5", "z=-4"), ("x=-2", "y=5", "z=-4", "--explain=x")):
        data = run_json("run", XYZ, *args)
        assert [e["node"] for e in data] == ["x"] and data[0]["grad"] == -4.0
        assert data[0]["uses"][0] == {"from": "x", "to": "q", "arg": 0, "local": 1.0, "upstream": -4.0, "share": -4.0}
    unknown = invoke("run", XYZ, "x=-2", "y=5", "z=-4", "--explain=w")
    assert unknown.exit_code == 2 and "unknown node 'w'" in unknown.stderr


def test_paths_carry_the_seed_and_a_broadcast_inputs_sum():
    import numpy as np

    trace = gatekit.parse("x * y").forward(x=1, y=2).backward(3.0)
    assert trace.explain("x").path_sum == 6.0 == trace.grad("x")
    assert "2 * 3 (the seed) = 6" in trace.explain("x").text()
    batch = gatekit.parse("x * y").forward(x=np.array([1.0, 2.0, 4.0]), y=2.0).backward()
    assert batch.explain("y").path_sum == 7.0 == batch.grad("y")
    np.testing.assert_array_equal(batch.explain("x").path_sum, batch.grad("x"))


@pytest.mark.parametrize("expression, values", [(XYZ, ("x=-2", "y=5", "z=-4")), (SECTION6, ("a=-4", "b=2"))])
def test_run_explain_json_shares_sum_to_each_gradient(expression, values):
    data = run_json("run", expression, *values, "--explain")
    for e in data[1:]:  # after the output, whose gradient is the seed
        assert sum(u["share"] for u in e["uses"]) == pytest.approx(e["grad"], rel=1e-12, abs=1e-12)
        for u in e["uses"]:
            assert u["share"] == pytest.approx(u["local"] * u["upstream"], rel=1e-12, abs=1e-12)
    inputs = {e["node"]: e for e in data if e["paths"]}
    if expression == SECTION6:
        assert round(inputs["a"]["grad"], 4) == 138.8338 and round(inputs["b"]["grad"], 4) == 645.5773
        assert inputs["a"]["path_count"] > len(inputs["a"]["paths"])  # bounded: "and N more paths"
