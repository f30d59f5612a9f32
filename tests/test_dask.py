"""gatekit.dask: circuits over chunked dask arrays equal numpy's, stay lazy, run on a local cluster."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import Gate, UnknownNameError, UsageError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
gd = pytest.importorskip("gatekit.dask")

from cli_helpers import invoke  # noqa: E402
from helpers import plugin_registry  # noqa: E402
from test_random_circuits import draw_circuit  # noqa: E402

NEURON = "sigmoid(w0 * x0 + w1 * x1 + w2)"
WEIGHTS = {"w0": 2.0, "w1": -3.0, "w2": -3.0}


def _close(got, want) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return {"x0": rng.normal(size=10_001), "x1": rng.normal(size=10_001)}


def test_the_neurons_value_and_gradients_over_chunks_equal_numpys(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=2_500) for name, x in data.items()}
    out, grads = gd.gradient(circuit, {**chunked, **WEIGHTS})
    got_out, got = dask.compute(out, grads)
    want_out, want = circuit.gradient({**data, **WEIGHTS})
    _close(got_out, want_out)
    for name in circuit.inputs:
        _close(got[name], want[name])
    assert got["x0"].shape == (10_001,) and np.ndim(got["w0"]) == 0  # shared: the sum over every point
    _close(gd.evaluate(circuit, {**chunked, **WEIGHTS}).compute(), want_out)


@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_random_circuits_over_chunks_equal_numpy(data):
    registry = gatekit.default_registry()
    circuit, n_inputs = draw_circuit(data, registry, inputs=(2, 4), max_steps=15)
    size = data.draw(st.integers(1, 40), label="size")
    chunk = data.draw(st.integers(1, 12), label="chunk")
    shared = data.draw(st.sets(st.sampled_from(circuit.inputs), max_size=n_inputs - 1), label="shared")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = {n: (float(rng.uniform(-2, 2)) if n in shared else rng.uniform(-2, 2, size)) for n in circuit.inputs}
    chunked = {n: (v if n in shared else da.from_array(v, chunks=chunk)) for n, v in values.items()}
    got_out, got = dask.compute(*gd.gradient(circuit, chunked))
    want_out, want = circuit.gradient(values)
    _close(got_out, want_out)
    for name in circuit.inputs:
        _close(got[name], want[name])


def test_broadcast_inputs_get_their_gradients_summed_back_to_their_shapes():
    circuit = gatekit.parse("x * y + exp(x) * z")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 1)), rng.normal(size=(1, 5))
    out, grads = gd.gradient(circuit, x=da.from_array(x, chunks=(2, 1)), y=y, z=0.5)
    got_out, got = dask.compute(out, grads)
    want_out, want = circuit.gradient(x=x, y=y, z=0.5)
    _close(got_out, want_out)
    assert got["x"].shape == (6, 1) and got["y"].shape == (1, 5)
    for name in circuit.inputs:
        _close(got[name], want[name])


class CountingSquare(Gate):
    """x * x that counts its forward calls: proof of when the engine runs."""

    name, arity = "counted", 1
    doc = "counted(x) = x * x"
    calls = 0

    def forward(self, x):
        CountingSquare.calls += 1
        return x * x

    def backward(self, grad, out, x):
        return (2 * grad * x,)


def test_nothing_is_computed_until_the_user_computes():
    registry = plugin_registry(CountingSquare())
    circuit = gatekit.parse("counted(x) * w", registry=registry)
    CountingSquare.calls = 0
    x = da.arange(1_000, chunks=250, dtype=np.float64)
    out, grads = gd.gradient(circuit, x=x, w=3.0)
    value = gd.evaluate(circuit, x=x, w=3.0)
    assert CountingSquare.calls == 0
    assert isinstance(out, da.Array) and isinstance(grads["w"], da.Array) and isinstance(value, da.Array)
    total = float(grads["w"].compute())
    assert total == pytest.approx(float(np.sum(np.arange(1_000.0) ** 2)), rel=1e-12)
    assert CountingSquare.calls == 4  # one engine pass a chunk


def test_float32_points_stay_float32():
    circuit = gatekit.parse(NEURON)
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    out, grads = gd.gradient(circuit, x0=da.from_array(x, chunks=30), x1=x, **WEIGHTS)
    assert out.dtype == np.float32 and grads["x0"].dtype == np.float32
    got = out.compute()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, circuit(x0=x.astype(np.float64), x1=x.astype(np.float64), **WEIGHTS), rtol=1e-6)


@pytest.mark.parametrize(
    "values, error, fragment",
    [
        ({"x0": 1.0, "x1": 2.0}, UsageError, "no input is an array"),
        ({"x0": da.ones(3), "x1": da.ones(4)}, UsageError, "do not broadcast"),
        ({"x0": da.ones(3), "x1": 1.0, "xx": 2.0}, UnknownNameError, "unknown input 'xx'"),
        ({"x0": da.ones(3, dtype=complex), "x1": 1.0}, UsageError, "dask array of real numbers, got dtype complex128"),
        ({"x0": da.ones(3)}, UsageError, "no value for input 'x1'"),
    ],
)
def test_bad_inputs_get_one_clear_error(values, error, fragment):
    with pytest.raises(error, match=fragment):
        gd.gradient(gatekit.parse("x0 * x1 + w", registry=gatekit.default_registry()), {"w": 1.0, **values})


# -- a full-batch objective ---------------------------------------------------------------------


def test_the_objective_is_the_mean_and_its_gradient_the_mean_gradient(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=3_000) for name, x in data.items()}
    objective = gd.objective(circuit, chunked)
    assert objective.inputs == ("w0", "w1", "w2")
    out, grads = objective.gradient(WEIGHTS)
    want_out, want = circuit.gradient({**data, **WEIGHTS})
    n = data["x0"].size
    _close(out, want_out.mean())
    for name in WEIGHTS:
        _close(grads[name], want[name] / n)
    assert gatekit.check_circuit(objective, WEIGHTS).ok
    summed = gd.objective(circuit, chunked, reduce="sum")
    _close(summed(WEIGHTS), want_out.sum())


def test_optimize_climbs_with_the_full_batch_gradient_one_pass_a_step(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=3_000) for name, x in data.items()}
    result = gd.optimize(circuit, chunked, dict(WEIGHTS), "analytic-gradient", steps=3, step_size=0.5,
                         maximize=False)
    # The same three steps in memory: w <- w - 0.5 * mean gradient.
    w = dict(WEIGHTS)
    for _ in range(3):
        _, g = circuit.gradient({**data, **w})
        w = {k: w[k] - 0.5 * g[k] / data["x0"].size for k in w}
    for name in WEIGHTS:
        _close(result.final[name], w[name])
    assert result.final_output < result.start_output
    assert (result.forward_evals, result.backward_evals) == (4, 3)


def test_optimize_refuses_when_every_input_is_data(data):
    with pytest.raises(UsageError, match="every input is data"):
        gd.objective(gatekit.parse("x0 * x1"), {name: da.from_array(x) for name, x in data.items()})


# -- on a cluster ---------------------------------------------------------------------------


def test_a_local_cluster_of_two_threads_gives_numpys_answer(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=2_000) for name, x in data.items()}
    with gd.client(workers=2, threads=1) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got_out, got = dask.compute(*gd.gradient(circuit, {**chunked, **WEIGHTS}))
    want_out, want = circuit.gradient({**data, **WEIGHTS})
    _close(got_out, want_out)
    for name in circuit.inputs:
        _close(got[name], want[name])


def test_a_cluster_of_two_processes_runs_the_engine_on_pickled_circuits(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=5_000) for name, x in data.items()}
    with gd.client(workers=2, threads=1, processes=True, memory_limit="512MiB") as client:
        got_out, got = client.compute(list(gd.gradient(circuit, {**chunked, **WEIGHTS})), sync=True)
    want_out, want = circuit.gradient({**data, **WEIGHTS})
    _close(got_out, want_out)
    _close(got["w0"], want["w0"])


def test_the_objective_is_an_ordinary_circuit_for_gatekit_optimize(data):
    circuit = gatekit.parse(NEURON)
    chunked = {name: da.from_array(x, chunks=5_000) for name, x in data.items()}
    objective = gd.objective(circuit, chunked)
    result = gatekit.optimize(objective, dict(WEIGHTS), "adam", steps=2, step_size=0.1, maximize=False)
    assert result.final_output < result.start_output and result.backward_evals == 2
    searched = gatekit.optimize(objective, dict(WEIGHTS), "random-search", steps=1, candidates=3, seed=0)
    assert searched.forward_evals == 4  # the start, then 3 candidates, each one pass over the data


def test_a_cluster_the_user_points_to_by_address(data, tmp_path):
    distributed = pytest.importorskip("distributed")
    circuit = gatekit.parse(NEURON)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        with gd.client(cluster.scheduler_address) as client:
            assert client.scheduler.address == cluster.scheduler_address
            out = gd.evaluate(circuit, x0=da.from_array(data["x0"], chunks=4_000), x1=data["x1"], **WEIGHTS)
            _close(out.compute(), circuit({**data, **WEIGHTS}))
        # From the command line: --cluster ADDRESS.
        table = np.zeros(100, dtype=[("x0", "f8"), ("x1", "f8")])
        table["x0"], table["x1"] = data["x0"][:100], data["x1"][:100]
        np.save(tmp_path / "p.npy", table)
        result = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(tmp_path / "p.npy"),
                        "--cluster", cluster.scheduler_address, "--json")
        assert result.exit_code == 0, result.stderr
        want = circuit(x0=table["x0"], x1=table["x1"], **WEIGHTS)
        assert abs(json.loads(result.stdout)["output"]["sum"] - float(np.sum(want))) < 1e-12
