"""Notebook display: short plain reprs, rich HTML/SVG, and the lesson notebook run by a real kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit

LESSON = Path(__file__).parent.parent / "examples" / "notebooks" / "lesson.ipynb"


def test_a_traces_html_has_its_picture_and_staged_table():
    trace = gatekit.parse("q = x + y; f = q * z").forward(x=-2, y=5, z=-4).backward()
    html = trace._repr_html_()
    assert "<svg" in html and "<table" in html
    for row in ("<td>q</td><td>add(x, y)</td><td>3</td><td>-4</td>", "<td>f</td><td>mul(q, z)</td><td>-12</td><td>1</td>",
                "<td>x</td><td>input</td><td>-2</td><td>-4</td>"):
        assert row in html
    assert repr(trace) == "<Trace of 2 gate(s): output -12, with gradients>"
    assert "forward only" in repr(gatekit.parse("x * y").forward(x=1, y=2))


def test_every_object_a_learner_meets_shows_itself():
    registry = gatekit.default_registry()
    circuit = gatekit.parse("x * y")
    assert circuit._repr_svg_().startswith("<svg") and repr(circuit) == "<Circuit 1 gates, inputs x, y>"
    result = gatekit.optimize(circuit, {"x": 1, "y": -3}, "analytic-gradient", steps=2)
    assert "<table" in result._repr_html_() and "data:image/png;base64," in result._repr_html_()
    assert repr(result).startswith("<Result analytic-gradient: best ")
    check = gatekit.check_circuit(circuit, {"x": 1.0, "y": 2.0})
    assert "ok" in check._repr_html_() and repr(check).startswith("<CheckResult circuit: ok")
    assert "<td>mul</td>" in registry._repr_html_() and repr(registry).startswith("<Registry ")
    assert repr(registry.gate("mul")) == "<Gate mul: mul(x, y) = x * y, operator '*'>"
    assert registry.gate("mul")._repr_markdown_() == (
        "**mul** (2 input(s), operator `*`): `mul(x, y) = x * y`\n\nlocal gradient: `d/dx = y, d/dy = x`")
    composite = circuit.as_gate("product")
    assert composite._repr_svg_().startswith("<svg")
    explanation = circuit.forward(x=1, y=-3).explain("x")
    assert repr(explanation) == "<Explanation of d#2/dx = -3>" and "```" in explanation._repr_markdown_()
    assert gatekit.draw(circuit, {"x": 1, "y": 2})._repr_svg_().startswith("<svg")


def test_a_gate_that_does_not_subclass_gate_is_still_a_gate():
    # Gate's __repr__ is a protocol member every object has, so it asks nothing more of a gate.
    class Duck:
        name, arity, doc = "duck", 1, "duck(x) = x"
        symbol = grad_doc = domain = None

        def forward(self, x):
            return x

        def backward(self, grad, out, x):
            return (grad,)

    assert isinstance(Duck(), gatekit.Gate)


def test_the_lesson_notebook_runs_in_a_real_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(LESSON, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(LESSON.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    rich = [o for o in outputs if o.output_type in ("execute_result", "display_data")]
    assert any("text/html" in o.data and "<table" in o.data["text/html"] for o in rich)  # the trace
    assert any("image/svg+xml" in o.data for o in rich)  # the neuron's picture
    assert any("image/png" in o.data for o in rich)  # the comparison plot
