"""Circuit pictures: SVG read back as XML, PNGs rendered, every text format rounded alike."""

from __future__ import annotations

import io
from pathlib import Path
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import gatekit
from gatekit.draw import GRAD_COLOUR, VALUE_COLOUR, draw
from gatekit.errors import MissingExtraError
from gatekit.explain import number
from cli_helpers import assert_error, invoke

SVG = "{http://www.w3.org/2000/svg}"
NEURON = ("mult1 = w0 * x0; mult2 = w1 * x1; add1 = mult1 + mult2; add2 = add1 + w2; "
          "neg = -add2; exp1 = exp(neg); add3 = 1 + exp1; f = reciprocal(add3)")
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
FORK = "a = x * x; b = a + x; f = b * a"


def wire_texts(svg: str) -> dict[tuple[int, int], dict[str, tuple[str, str]]]:
    """{(to, arg): {class: (text, fill)}} for every wire's labels."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "wire":
            key = (int(g.get("data-to")), int(g.get("data-arg")))
            found[key] = {t.get("class"): (t.text, t.get("fill")) for t in g.iter(f"{SVG}text")}
    return found


def test_the_neuron_svg_has_every_rounded_value_above_and_gradient_below_in_their_colours():
    circuit = gatekit.parse(NEURON)
    trace = circuit.forward(NEURON_AT).backward()
    svg = draw(trace).svg()
    wires = wire_texts(svg)
    assert len(wires) == sum(len(n.args) for n in circuit.nodes)
    shares = 0
    for i, node in enumerate(circuit.nodes):
        for k, a in enumerate(node.args):
            labels = wires[(i, k)]
            assert labels["value"] == (number(trace.values[a]), VALUE_COLOUR)
            assert labels["grad"] == (number(trace.grad(a)), GRAD_COLOUR)  # no fork here: share = gradient
            shares += 1
    assert shares == 13  # mul, mul, add, add, neg, exp, add 1, reciprocal
    # The reference figures, rounded to 4 significant digits, are there as written.
    texts = {(t.get("class"), t.text) for t in ET.fromstring(svg).iter(f"{SVG}text")}
    for value in ("-2", "6", "4", "1", "-1", "0.3679", "1.368", "0.7311"):
        assert ("value", value) in texts
    for grad in ("0.1966", "-0.1966", "-0.5344", "0.3932", "-0.5898", "-0.3932", "1"):
        assert ("grad", grad) in texts
    # Each wire's value is drawn above the wire and its gradient below it.
    root = ET.fromstring(svg)
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "wire":
            end_y = float(g.find(f"{SVG}polyline").get("points").split()[-1].split(",")[1])
            ys = {t.get("class"): float(t.get("y")) for t in g.iter(f"{SVG}text")}
            assert ys["value"] < end_y < ys["grad"]


def test_a_fork_shows_each_wires_share_and_the_total():
    trace = gatekit.parse(FORK).forward(x=3).backward()
    svg = draw(trace).svg()
    x = trace.circuit.find("x")
    shares = sorted(float(labels["grad"][0]) for (to, arg), labels in wire_texts(svg).items()
                    if trace.circuit.nodes[to].args[arg] == x)
    assert shares == [9.0, 63.0, 63.0]
    totals = {t.text for t in ET.fromstring(svg).iter(f"{SVG}text") if t.get("class") == "total"}
    assert totals == {"total 135", "total 21"}  # x feeds three wires, a feeds two
    assert all(t.get("fill") == GRAD_COLOUR for t in ET.fromstring(svg).iter(f"{SVG}text") if t.get("class") == "total")


def test_digits_round_every_format_alike():
    trace = gatekit.parse("x * y").forward(x=1.23456789, y=3.0).backward()
    p = draw(trace, digits=3)
    assert "1.23" in p.text() and "1.234" not in p.text()
    assert '>1.23</font><br/><font color="#c62828">grad 3<' in p.dot() and '"3 / grad 1.23"' in p.mermaid()
    assert ("value", "1.23") in {(t.get("class"), t.text) for t in ET.fromstring(p.svg()).iter(f"{SVG}text")}
    with pytest.raises(gatekit.UsageError, match="digits"):
        draw(trace, digits=0)


def _png_pixels(data: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return imread(io.BytesIO(data))


def test_pngs_render_with_a_sane_size_and_ink(tmp_path):
    for expression, at in ((NEURON, NEURON_AT), (FORK, {"x": 3.0})):
        path = tmp_path / "circuit.png"
        data = draw(gatekit.parse(expression), at, path=path).png()
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = _png_pixels(data)
        height, width = pixels.shape[:2]
        assert 200 < width < 4000 and 150 < height < 3000
        rgb = pixels[..., :3]
        dark = (rgb.sum(axis=2) < 1.5).mean()  # ink: lines and text
        assert 0.005 < dark < 0.3
        blue = ((rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)).mean()
        red = ((rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.3)).mean()
        assert blue > 0.0005 and red > 0.0005  # values and gradients are both drawn


def test_sixty_gates_fit_one_picture():
    # A small network: 3 inputs, 6 relu neurons, a sigmoid output (54 gates, 13 columns deep).
    rng = np.random.default_rng(0)
    stages = [f"h{j} = relu(" + " + ".join(f"{rng.uniform(-1, 1):.2f} * x{i}" for i in range(3))
              + f" + {rng.uniform(-1, 1):.2f})" for j in range(6)]
    stages.append("f = sigmoid(" + " + ".join(f"{rng.uniform(-1, 1):.2f} * h{j}" for j in range(6)) + ")")
    circuit = gatekit.parse("; ".join(stages))
    assert sum(1 for n in circuit.nodes if n.kind == "gate") == 54
    picture = draw(circuit, {"x0": 0.5, "x1": -1.0, "x2": 2.0})
    height, width = _png_pixels(picture.png()).shape[:2]
    assert width < 4500 and height < 4500
    # No two wire labels of one kind are drawn on top of each other.
    root = ET.fromstring(picture.svg())
    spots = [(round(float(t.get("x"))), round(float(t.get("y")))) for t in root.iter(f"{SVG}text")
             if t.get("class") in ("value", "grad")]
    assert len(spots) == len(set(spots))


def test_a_circuit_without_values_draws_its_structure_and_a_composite_opens():
    neuron = gatekit.parse(NEURON)
    registry = gatekit.load_registry(env={}, entry_points=())
    registry.add_gate(neuron.as_gate("neuron"), "lesson")
    outer = gatekit.parse("neuron(a, b, c, d, e) * 2", registry=registry)
    closed = draw(outer, dict(zip("abcde", NEURON_AT.values())))
    assert "neuron" in closed.text() and "reciprocal" not in closed.text()
    opened = draw(outer, dict(zip("abcde", NEURON_AT.values())), open=True)
    assert "reciprocal" in opened.text() and "exp" in opened.text()
    assert opened.drawing.trace.output == pytest.approx(2 * 0.7310585786300049)
    assert opened.drawing.trace.input_grads()["b"] == pytest.approx(2 * 0.39322386648296376)
    bare = draw(gatekit.parse("x * y"))
    assert not bare.drawing.forward and "value" not in bare.text()
    assert {t.get("class") for t in ET.fromstring(bare.svg()).iter(f"{SVG}text")} >= {"gate", "input"}


def test_png_without_matplotlib_is_one_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'gatekit\[plot\]'"):
        draw(gatekit.parse("x * y"), {"x": 1, "y": 2}).png()
    result = invoke("graph", "x * y", "x=1", "y=2", "-o", "never.png")
    assert_error(result, 1, "matplotlib", "gatekit[plot]")


def test_graph_writes_each_format_from_the_cli(tmp_path):
    args = ("graph", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
    svg = invoke(*args, "--format", "svg")
    assert svg.exit_code == 0 and ET.fromstring(svg.stdout).tag == f"{SVG}svg"
    for suffix, start in ((".png", b"\x89PNG"), (".svg", b"<svg"), (".dot", b"digraph"), (".mmd", b"flowchart")):
        path = tmp_path / f"circuit{suffix}"
        result = invoke(*args, "-o", str(path))
        assert result.exit_code == 0, result.stderr
        assert path.read_bytes().startswith(start) and str(path) in result.stderr
    assert_error(invoke(*args, "--format", "png"), 2, "-o circuit.png")
    assert_error(invoke(*args, "-o", str(tmp_path / "circuit.jpeg")), 2, "cannot tell the picture format")
    digits = invoke("graph", "x * y", "x=0.123456", "y=1", "--digits", "2")
    assert "value 0.12" in digits.stdout and "0.123" not in digits.stdout


def test_the_tour_writes_the_neuron_and_the_comparison_and_says_where(tmp_path):
    result = invoke("tour", "--pictures", str(tmp_path / "pictures"))
    assert result.exit_code == 0, result.stderr
    written = [tmp_path / "pictures" / name for name in ("neuron.svg", "neuron.png", "strategies.png")]
    assert result.stdout.rstrip().splitlines()[-1] == "pictures: " + ", ".join(str(p) for p in written)
    for path in written[1:]:
        height, width = _png_pixels(path.read_bytes()).shape[:2]
        assert 500 < width < 4000 and 300 < height < 3000
    # The README's copies are what the tour draws today (`make images` regenerates them).
    readme_svg = Path(__file__).resolve().parent.parent / "docs" / "images" / "neuron.svg"
    assert readme_svg.read_text() == written[0].read_text()
    assert (readme_svg.parent / "strategies.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_open_draws_a_composite_from_a_plugin_as_its_own_gates(tmp_path):
    plugin = tmp_path / "swish_plugin.py"
    plugin.write_text(
        "import gatekit\n\n\n"
        "@gatekit.hookimpl\n"
        "def gatekit_register_gates(register):\n"
        "    c = gatekit.Composer(gatekit.load_registry(env={}, entry_points=()))\n"
        "    (x,) = c.inputs('x')\n"
        "    register(c.build(x * c.sigmoid(x)).as_gate('swish', 'swish(x) = x * sigmoid(x)'))\n"
    )
    args = ("--plugin", str(plugin), "graph", "swish(a) * 2", "a=1")
    closed, opened = invoke(*args), invoke(*args, "--open")
    assert closed.exit_code == 0 and opened.exit_code == 0, (closed.stderr, opened.stderr)
    assert "swish(a)" in closed.stdout and "sigmoid" not in closed.stdout
    assert "sigmoid(a)" in opened.stdout and "swish" not in opened.stdout
    numbers = [r.stdout.splitlines()[0].split("   ", 1)[1] for r in (closed, opened)]
    assert numbers[0] == numbers[1]  # the same output value and seed (node ids differ)


def test_a_circuit_too_large_for_a_png_says_so_and_offers_svg():
    circuit = gatekit.parse("; ".join(["a = x + 1"] + ["a = a * 1.5"] * 400))
    picture = draw(circuit, {"x": 1.0})
    with pytest.raises(gatekit.UsageError, match="too large for a PNG.*svg or text"):
        picture.png()
    assert ET.fromstring(picture.svg()).tag == f"{SVG}svg"  # SVG has no such limit
