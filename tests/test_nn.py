"""gatekit.nn: neurons, layers and MLPs made of registered gates; both paths give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from gatekit import Composer, UsageError, check_circuit, nn
from gatekit.datasets import moons


def test_a_neuron_is_named_gates_with_its_parameters_as_inputs(registry):
    c = Composer(registry)
    x1, x2 = c.inputs("x1 x2")
    out = c.build(nn.neuron(c, [x1, x2], "n", activation="sigmoid"))
    assert out.inputs == ("x1", "x2", "n_w1", "n_w2", "n_b")
    # the lesson's sigmoid neuron (reference-numbers.md section 5): a=1, b=2, c=-3 at x=-1, y=3
    trace = out.forward(x1=-1.0, x2=3.0, n_w1=1.0, n_w2=2.0, n_b=-3.0).backward()
    assert trace.value("n") == pytest.approx(0.8807970779778823, abs=1e-15)
    assert trace.grad("n_w1") == pytest.approx(-0.10499358540350662, abs=1e-15)
    assert trace.grad("n_sum") == pytest.approx(0.10499358540350662, abs=1e-15)


@pytest.mark.parametrize("layers", [False, True])
def test_the_moons_mlp_has_337_parameters_on_both_paths(layers):
    net = nn.mlp(2, [16, 16, 1], layers=layers)
    params = net.initial_parameters()
    assert net.n_parameters == 337 == sum(np.size(v) for v in params.values())
    assert set(net.circuit().inputs) == set(net.data_names()) | set(params)


def test_initialisation_is_seeded_and_the_same_numbers_on_both_paths():
    scalar, layer = nn.mlp(2, [4, 1], seed=3), nn.mlp(2, [4, 1], layers=True, seed=3)
    ps, pl = scalar.initial_parameters(), layer.initial_parameters()
    assert ps["l1_n2_w1"] == pl["W1"][1, 0] and ps["l2_n1_w3"] == pl["W2"][2] and ps["l1_n4_b"] == 0.0
    assert scalar.convert(ps, layers=True)["W1"].tolist() == pl["W1"].tolist()
    assert nn.mlp(2, [4, 1], seed=4).initial_parameters() != ps
    assert np.all((-1 <= pl["W1"]) & (pl["W1"] < 1))


@pytest.mark.parametrize("loss", sorted(nn.LOSSES))
def test_scalar_and_layer_circuits_give_the_same_loss_and_gradients(loss):
    data = moons(n=20, seed=1)
    scalar, layer = nn.mlp(2, [5, 3, 1], seed=2), nn.mlp(2, [5, 3, 1], layers=True, seed=2)
    ps = scalar.initial_parameters()
    ts = scalar.loss_circuit(loss, 1e-2).forward({**scalar.data(data.X), "y": data.y, **ps}).backward()
    pl = layer.initial_parameters()
    tl = layer.loss_circuit(loss, 1e-2).forward({**layer.data(data.X), "y": data.y, **pl}).backward()
    assert ts.output == pytest.approx(tl.output, abs=1e-12)
    grads = scalar.convert({k: ts.grad(k) for k in ps}, layers=True)
    for name in pl:
        np.testing.assert_allclose(grads[name], tl.grad(name), atol=1e-12)


@pytest.mark.parametrize("layers", [False, True])
@pytest.mark.parametrize("loss", sorted(nn.LOSSES))
def test_composed_loss_circuits_pass_a_gradient_check(layers, loss):
    data = moons(n=8, seed=5)
    net = nn.mlp(2, [3, 1], layers=layers, activation="tanh", seed=1)
    circuit = net.loss_circuit(loss, 0.1)
    result = check_circuit(circuit, {**net.data(data.X), "y": data.y, **net.initial_parameters()})
    assert result.ok, result.describe()


def test_any_neuron_of_the_scalar_network_can_be_opened():
    data = moons(n=10)
    net = nn.mlp(2, [4, 4, 1])
    trace = net.loss_circuit("hinge").forward({**net.data(data.X), "y": data.y, **net.initial_parameters()})
    trace.backward()
    assert trace.value("l2_n3").shape == (10,)  # the neuron's activation at every point
    assert np.all(trace.value("l2_n3") >= 0)
    assert isinstance(trace.grad("l1_n4_w2"), float)
    assert trace.grad("score").shape == (10,)


def test_l2_can_leave_the_biases_out():
    net = nn.linear_model(2)
    params = {"l1_n1_w1": 3.0, "l1_n1_w2": 4.0, "l1_n1_b": 100.0}
    values = {"x0": np.zeros(1), "x1": np.zeros(1), "y": np.ones(1) * 200.0, **params}
    # hinge at score 100 with y = 200 is 0, so what remains is the penalty
    assert net.loss_circuit("hinge", 1.0)(values) == 9 + 16 + 100**2
    assert net.loss_circuit("hinge", 1.0, biases=False)(values) == 25.0


@pytest.mark.parametrize(("text", "sizes"), [("linear", (3, 1)), ("mlp:16,16", (3, 16, 16, 1)), ("mlp:4", (3, 4, 1))])
def test_models_as_the_command_line_spells_them(text, sizes):
    assert nn.parse_model(text, 3).sizes == sizes


@pytest.mark.parametrize("text", ["mlp", "mlp:0", "mlp:a,b", "cnn", "linear:3"])
def test_a_bad_model_spelling_is_one_clear_error(text):
    with pytest.raises(UsageError, match="linear, or mlp:H1,H2"):
        nn.parse_model(text, 2)


def test_sizes_must_end_in_one_output():
    with pytest.raises(UsageError, match="must end in 1"):
        nn.Network((2, 4, 2))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(hidden=st.lists(st.integers(1, 4), min_size=0, max_size=3), seed=st.integers(0, 2**16),
       loss=st.sampled_from(sorted(nn.LOSSES)), activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
       points=st.integers(1, 12), alpha=st.sampled_from([0.0, 1e-3]))
def test_random_networks_give_the_same_numbers_on_both_paths(hidden, seed, loss, activation, points, alpha):
    data = moons(n=max(points, 2), seed=seed)
    scalar = nn.Network((2, *hidden, 1), False, activation, seed)
    layer = nn.Network((2, *hidden, 1), True, activation, seed)
    ps, pl = scalar.initial_parameters(), layer.initial_parameters()
    ts = scalar.loss_circuit(loss, alpha).forward({**scalar.data(data.X), "y": data.y, **ps}).backward()
    tl = layer.loss_circuit(loss, alpha).forward({**layer.data(data.X), "y": data.y, **pl}).backward()
    assert abs(ts.output - tl.output) <= 1e-12 * max(1.0, abs(tl.output))
    grads = scalar.convert({k: ts.grad(k) for k in ps}, layers=True)
    for name in pl:
        np.testing.assert_allclose(grads[name], tl.grad(name), rtol=1e-10, atol=1e-12)


def test_the_layer_path_is_three_linear_gates_and_the_scalar_path_one_gate_per_multiply():
    from collections import Counter

    layer = Counter(n.name for n in nn.mlp(2, [16, 16, 1], layers=True).circuit().nodes if n.kind == "gate")
    assert layer == {"linear": 3, "relu": 2}
    scalar = Counter(n.name for n in nn.mlp(2, [16, 16, 1]).circuit().nodes if n.kind == "gate")
    assert scalar == {"mul": 304, "add": 304, "relu": 32}  # a product and a sum per weight
