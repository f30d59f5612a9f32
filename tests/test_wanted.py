"""``gradient(values, wrt=names)``: those inputs' gradients only, the same in both tiers, nothing else computed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import plugin_registry
from test_random_circuits import RANDOM, build, draw_circuit

from gatekit import Composer, Gate, UsageError, nn, parse
from gatekit.errors import UnknownNameError

FEW = settings(RANDOM, max_examples=15)


def _close(got, want):
    assert type(got) is type(want) and np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@FEW
@given(data=st.data())
def test_every_choice_of_inputs_gives_the_full_gradients_entries_in_both_tiers(registry, data):
    circuit, n_inputs = draw_circuit(data, registry, max_steps=12)
    size = data.draw(st.integers(1, 4), label="size")
    # Each input a number or an array of the batch: floats only, arrays only, or numbers among arrays.
    arrays = data.draw(st.lists(st.booleans(), min_size=n_inputs, max_size=n_inputs), label="arrays")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = {name: rng.uniform(-2, 2, size) if batch else float(rng.uniform(-2, 2))
              for name, batch in zip(circuit.inputs, arrays)}
    want_out, want = circuit.gradient(values)
    compiled = circuit.compile()
    for k in range(n_inputs + 1):
        for chosen in itertools.combinations(circuit.inputs, k):
            wrt = tuple(data.draw(st.permutations(chosen), label="order")) if k > 1 else chosen
            interpreted = circuit.gradient(values, wrt=wrt)
            for _ in range(3):  # the interpreter's checking call, the call that compiles, a steady one
                made = compiled.gradient(values, wrt=wrt)
                listed = compiled.gradient_list([values[name] for name in circuit.inputs], wrt=wrt)
            for out, grads in (interpreted, made):
                _close(out, want_out)
                assert list(grads) == list(wrt)  # those names only, in wrt's order
                for name in wrt:
                    _close(grads[name], want[name])
            assert len(listed[1]) == len(wrt)
            for name, g in zip(wrt, listed[1]):
                _close(g, want[name])


def test_one_name_is_a_wrt_of_one_and_every_input_in_order_is_the_full_call(registry):
    circuit = parse("q = x + y; f = q * z", registry)
    values = {"x": -2.0, "y": 5.0, "z": -4.0}
    for run in (circuit, circuit.compile(), circuit.compile()):
        assert run.gradient(values, wrt="z") == (-12.0, {"z": 3.0})
        assert run.gradient(values, wrt=["z", "x"]) == (-12.0, {"z": 3.0, "x": -4.0})
        assert run.gradient(values, wrt=()) == (-12.0, {})
        assert run.gradient(values, wrt=circuit.inputs) == run.gradient(values)
        assert run.gradient_list([-2.0, 5.0, -4.0], wrt=("y",)) == (-12.0, [-4.0])


@pytest.mark.parametrize("wrt, error, words", [
    ("zz", UnknownNameError, ["unknown input 'zz' in wrt", "did you mean 'z'?"]),
    (("x", "w"), UnknownNameError, ["unknown input 'w'", "known inputs: x, y, z"]),
    (("x", "x"), UsageError, ["wrt names input 'x' twice"]),
    (["x", 3], UsageError, ["wrt must hold input names (strings), got 3"]),
    (7, UsageError, ["wrt must be an input name or a sequence of input names, got int"]),
])
def test_a_bad_wrt_is_one_clear_error_in_both_tiers(registry, wrt, error, words):
    circuit = parse("q = x + y; f = q * z", registry)
    compiled = circuit.compile()
    for call in (lambda: circuit.gradient(x=1.0, y=2.0, z=3.0, wrt=wrt),
                 lambda: compiled.gradient({"x": 1.0, "y": 2.0, "z": 3.0}, wrt=wrt),
                 lambda: compiled.gradient({"x": np.ones(2), "y": 2.0, "z": 3.0}, wrt=wrt),
                 lambda: circuit.gradient_list([1.0, 2.0, 3.0], wrt=wrt),
                 lambda: compiled.gradient_list([1.0, 2.0, 3.0], wrt=wrt)):
        for _ in range(3):  # the first calls and the installed fast ones alike
            with pytest.raises(error) as caught:
                call()
            for word in words:
                assert word in str(caught.value)


def test_an_input_the_output_does_not_read_has_no_gradient_to_ask_for(registry):
    c = Composer(registry)
    x, _ = c.inputs("x", "unused")
    circuit = c.build(x * 2)
    with pytest.raises(UnknownNameError, match="the output does not read it"):
        circuit.gradient(x=1.0, unused=2.0, wrt="unused")


class CountingSquare(Gate):
    """``x * x`` that counts its backward calls (no templates: both tiers call its methods)."""

    name, arity = "counted_square", 1
    doc = "counted_square(x) = x * x"
    calls = 0

    def forward(self, x):
        return x * x

    def backward(self, grad, out, x):
        CountingSquare.calls += 1
        return (2.0 * x * grad,)


def test_a_gradient_no_wanted_input_needs_is_not_computed_in_either_tier():
    registry = plugin_registry(CountingSquare())
    circuit = parse("f = w * counted_square(x)", registry)
    values = {"w": 3.0, "x": np.linspace(-1.0, 1.0, 5)}
    for run in (circuit, circuit.compile()):
        for _ in range(3):
            CountingSquare.calls = 0
            out, grads = run.gradient(values, wrt=("w",))
            assert CountingSquare.calls == 0 and list(grads) == ["w"]
            assert grads["w"] == pytest.approx(float(np.sum(values["x"] ** 2)), rel=1e-15)
            run.gradient(values)
            assert CountingSquare.calls == 1  # asked for x too: computed


def test_the_moons_mlps_code_for_its_parameters_computes_nothing_for_its_data(registry):
    net = nn.Network((2, 4, 1))
    circuit = net.loss_circuit("hinge", 1e-4)
    params = tuple(net.initial_parameters())
    compiled = circuit.compile()
    full = compiled.source(arrays=True)
    from gatekit.circuit_source import generate_source  # the variant of a wrt, as gradient() makes it

    text = generate_source(circuit, True, wrt=params)[0]
    for data in ("x0", "x1", "y"):
        assert f"d_{data} =" in full and f"d_{data} =" not in text
    rng = np.random.default_rng(3)
    values = {**net.data(rng.normal(size=(30, 2))), "y": np.sign(rng.normal(size=30)), **net.initial_parameters()}
    want_out, want = circuit.gradient(values)
    for _ in range(3):
        out, grads = compiled.gradient(values, wrt=params)
    _close(out, want_out)
    assert list(grads) == list(params)
    for name in params:
        np.testing.assert_allclose(grads[name], want[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("steps", [3, 12])  # interpreted (under 10 steps), compiled
def test_training_asks_for_the_parameters_gradients_only(monkeypatch, steps):
    from gatekit import codegen, train
    from gatekit.circuit import Circuit
    from gatekit.datasets import moons

    asked: list = []
    compiled_gradient, input_gradients = codegen.CompiledCircuit.gradient, Circuit._input_gradients
    monkeypatch.setattr(codegen.CompiledCircuit, "gradient",
                        lambda self, values=None, *, wrt=None, **kw: asked.append(wrt) or compiled_gradient(self, values, wrt=wrt, **kw))
    monkeypatch.setattr(Circuit, "_input_gradients", lambda self, v, wanted: asked.append(wanted) or input_gradients(self, v, wanted))
    network = nn.Network((2, 3, 1))
    run = train(moons(20), network, "hinge", l2=1e-4, steps=steps)
    params = set(network.initial_parameters())
    # Every gradient pass of the run: the parameters', never the data's (x0, x1, y).
    assert len(asked) >= steps and all(wrt is not None and set(wrt) == params for wrt in asked)
    assert run.backward_evals == steps


def test_wrt_may_be_any_iterable_of_names_and_a_changed_list_is_read_again(registry):
    circuit = parse("q = x + y; f = q * z", registry)
    values = {"x": -2.0, "y": 5.0, "z": -4.0}
    for run in (circuit, circuit.compile()):
        wrt = ["x"]
        assert list(run.gradient(values, wrt=wrt)[1]) == ["x"]
        wrt.append("z")
        assert run.gradient(values, wrt=wrt)[1] == {"x": -4.0, "z": 3.0}
        assert run.gradient(values, wrt=(name for name in ("y",)))[1] == {"y": -4.0}
        assert run.gradient(values, wrt=iter(["z"]))[1] == {"z": 3.0}


def test_wrt_is_keyword_only_in_both_tiers_also_once_the_generated_call_is_installed(registry):
    circuit = parse("f = x * y", registry)
    compiled = circuit.compile()
    for _ in range(3):  # installs the generated functions themselves as the calls
        assert compiled.gradient({"x": 2.0, "y": 3.0}) == (6.0, {"x": 3.0, "y": 2.0})
        assert compiled.gradient_list([2.0, 3.0]) == (6.0, [3.0, 2.0])
    assert "gradient" in vars(compiled) and "gradient_list" in vars(compiled)
    assert compiled.gradient({"x": 2.0, "y": 3.0}, wrt="x") == (6.0, {"x": 3.0})
    assert compiled.gradient_list([2.0, 3.0], wrt="y") == (6.0, [2.0])
    for call, values in ((circuit.gradient, {"x": 2.0, "y": 3.0}), (compiled.gradient, {"x": 2.0, "y": 3.0}),
                         (circuit.gradient_list, [2.0, 3.0]), (compiled.gradient_list, [2.0, 3.0])):
        with pytest.raises(TypeError):
            call(values, "x")
