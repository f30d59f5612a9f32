"""``gatekit tour``: the lesson computed live; its numbers match reference-numbers.md."""

from __future__ import annotations

import json

import pytest

from cli_helpers import invoke, run_json

# reference-numbers.md section 4, stage by stage: (name, gate, forward value, gradient).
NEURON_STAGES = [
    ("mult1", "mul", -2.0, 0.19661193324148188),
    ("mult2", "mul", 6.0, 0.19661193324148188),
    ("add1", "add", 4.0, 0.19661193324148188),
    ("add2", "add", 1.0, 0.19661193324148188),
    ("neg", "neg", -1.0, -0.19661193324148188),
    ("exp1", "exp", 0.36787944117144233, -0.534446645388523),
    ("add3", "add", 1.3678794411714423, -0.534446645388523),
    ("f", "reciprocal", 0.7310585786300049, 1.0),
]
NEURON_INPUT_GRADS = {"x0": 0.39322386648296376, "w0": -0.19661193324148188, "x1": -0.5898357997244457,
                      "w1": -0.39322386648296376, "w2": 0.19661193324148188}


@pytest.fixture(scope="module")
def tour():
    return run_json("tour")


def test_section_1_the_multiply_gate(tour):
    assert tour["multiply_gate"] == {"gate": "mul", "inputs": [1.0, -3.0], "output": -3.0, "grads": [-3.0, 1.0]}


def test_section_2_the_four_strategies_on_x_times_y(tour):
    s = tour["strategies"]
    assert s["start"] == {"x": 1.0, "y": -3.0} and s["start_output"] == -3.0
    runs = {r["strategy"]: r for r in s["runs"]}
    assert list(runs) == ["random-search", "local-search", "numerical-gradient", "analytic-gradient"]

    random = runs["random-search"]
    assert 20.0 <= random["best_output"] < 25.0
    assert all(-5.0 <= v < 0.0 for v in random["best"].values())
    assert random["evaluations"] == {"forward": 101, "backward": 0}

    local = runs["local-search"]
    assert -2.975 < local["best_output"] < -2.955  # "about -2.96 to -2.97"
    assert all(abs(local["best"][k] - s["start"][k]) <= 0.01 for k in ("x", "y"))
    assert local["evaluations"] == {"forward": 101, "backward": 0}

    assert runs["numerical-gradient"]["final_output"] == pytest.approx(-2.9003, abs=1e-12)
    assert runs["numerical-gradient"]["evaluations"]["backward"] == 0
    assert runs["analytic-gradient"]["final_output"] == pytest.approx(-2.990003, abs=1e-12)
    assert runs["analytic-gradient"]["evaluations"] == {"forward": 2, "backward": 1}

    # The lesson printed -3.00000000000189 and 1.0000000000021103 for h = 1e-4.
    assert s["numerical_gradient"]["x"] == pytest.approx(-3.00000000000189, abs=1e-14)
    assert s["numerical_gradient"]["y"] == pytest.approx(1.0000000000021103, abs=1e-14)
    assert s["analytic_gradient"] == {"x": -3.0, "y": 1.0}


def test_section_3_the_backward_pass_of_x_plus_y_times_z(tour):
    b = tour["backward"]
    assert b["output"] == -12.0
    assert [(st["name"], st["value"], st["grad"]) for st in b["stages"]] == [("q", 3.0, -4.0), ("f", -12.0, 1.0)]
    assert {k: v["grad"] for k, v in b["inputs"].items()} == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_section_4_the_neurons_staged_table(tour):
    n = tour["neuron"]
    assert [(st["name"], st["gate"]) for st in n["stages"]] == [(name, gate) for name, gate, _, _ in NEURON_STAGES]
    for stage, (_, _, value, grad) in zip(n["stages"], NEURON_STAGES):
        assert stage["value"] == pytest.approx(value, abs=1e-12)
        assert stage["grad"] == pytest.approx(grad, abs=1e-12)
    assert {k: v["grad"] for k, v in n["inputs"].items()} == pytest.approx(NEURON_INPUT_GRADS, abs=1e-12)
    sigmoid = tour["sigmoid_neuron"]
    assert sigmoid["output"] == pytest.approx(0.7310585786300049, abs=1e-12)
    assert sigmoid["grads"] == pytest.approx(NEURON_INPUT_GRADS, abs=1e-12)
    assert sigmoid["max_difference"] < 1e-12


def test_section_5_the_numerical_check_agrees_with_backprop(tour):
    c = tour["check"]
    assert c["h"] == 1e-4
    assert {k: r["analytic"] for k, r in c["inputs"].items()} == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert c["max_difference"] < 1e-8
    assert c["neuron"]["ok"] is True and c["neuron"]["max_rel_error"] < 1e-5


def test_the_tour_renders_for_people():
    result = invoke("tour")
    assert result.exit_code == 0 and result.stderr == ""
    for heading in ("One gate", "Four ways", "chain rule", "sigmoid neuron", "check"):
        assert heading in result.stdout


def test_the_tours_numbers_are_computed_live_through_the_registry(tmp_path):
    # A plugin that doubles mul must change the tour's numbers: nothing is typed in.
    doubling = tmp_path / "doubling_mul.py"
    doubling.write_text(
        "import gatekit\n"
        "class DoubleMul(gatekit.Gate):\n"
        "    name, arity, symbol, doc = 'mul', 2, '*', 'mul(x, y) = 2 * x * y'\n"
        "    def forward(self, x, y):\n"
        "        return 2 * x * y\n"
        "    def backward(self, grad, out, x, y):\n"
        "        return 2 * grad * y, 2 * grad * x\n"
        "@gatekit.hookimpl\n"
        "def gatekit_register_gates(register):\n"
        "    register(DoubleMul(), override=True)\n"
    )
    result = invoke("--plugin", str(doubling), "tour", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["multiply_gate"]["output"] == -6.0 and data["multiply_gate"]["grads"] == [-6.0, 2.0]
    assert data["backward"]["output"] == -24.0
