"""Points from files (``.npy`` memory-mapped, Zarr), and ``gatekit run ... --points FILE``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gatekit
from gatekit import UsageError

da = pytest.importorskip("dask.array")
points = pytest.importorskip("gatekit.points")

from cli_helpers import assert_error, invoke  # noqa: E402

NEURON = "sigmoid(w0 * x0 + w1 * x1 + w2)"
WEIGHTS = {"w0": 2.0, "w1": -3.0, "w2": -3.0}
N = 5_003


@pytest.fixture(scope="module")
def xs():
    rng = np.random.default_rng(3)
    return rng.normal(size=N), rng.normal(size=N)


@pytest.fixture()
def files(tmp_path, xs):
    x0, x1 = xs
    table = np.zeros(N, dtype=[("x0", "f8"), ("x1", "f8")])
    table["x0"], table["x1"] = x0, x1
    np.save(tmp_path / "named.npy", table)
    np.save(tmp_path / "columns.npy", np.stack([x0, x1], axis=1))
    np.save(tmp_path / "one.npy", x1)
    return tmp_path


def _want(xs):
    circuit = gatekit.parse(NEURON)
    return circuit.gradient(x0=xs[0], x1=xs[1], **WEIGHTS)


def test_npy_files_are_memory_mapped_and_read_lazily(files, xs):
    named = points.read_points(files / "named.npy", chunks=1_000)
    assert set(named) == {"x0", "x1"} and named["x0"].npartitions == 6
    columns = points.read_points(files / "columns.npy", ["x0", "x1"], chunks=1_000)
    graph = dict(columns["x1"].__dask_graph__())
    assert any(isinstance(v, np.memmap) for v in graph.values())  # the file, not a copy in memory
    np.testing.assert_array_equal(columns["x1"].compute(), xs[1])
    np.testing.assert_array_equal(named["x0"].compute(), xs[0])


def test_a_zarr_group_gives_one_input_per_array(tmp_path, xs):
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "pts.zarr"), mode="w")
    for name, x in zip(("x0", "x1"), xs):
        group.create_array(name, data=x, chunks=(1_000,)) if hasattr(group, "create_array") else \
            group.create_dataset(name, data=x, chunks=(1_000,))
    found = points.read_points(tmp_path / "pts.zarr")
    assert set(found) == {"x0", "x1"}
    np.testing.assert_array_equal(found["x1"].compute(), xs[1])


@pytest.mark.parametrize("name, extra", [("named.npy", []), ("columns.npy", []), ("one.npy", ["x0=0.5"])])
def test_run_with_points_summarises_the_output_and_every_gradient(files, xs, name, extra):
    words = ["w0=2", "w1=-3", "w2=-3", *extra]
    result = invoke("run", NEURON, *words, "--points", str(files / name), "--chunk", "1000", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    x0 = np.full(N, 0.5) if extra else xs[0]
    out, grads = gatekit.parse(NEURON).gradient(x0=x0 if not extra else 0.5, x1=xs[1], **WEIGHTS)
    assert (report["points"], report["chunks"]) == (N, 6)
    assert report["output"]["sum"] == pytest.approx(float(np.sum(out)), rel=1e-12)
    assert report["output"]["min"] == float(np.min(out)) and report["output"]["max"] == float(np.max(out))
    assert report["inputs"]["w1"] == {"from": "value", "value": -3.0, "grad": pytest.approx(grads["w1"], rel=1e-12)}
    assert report["inputs"]["x1"]["from"] == "points"
    assert report["inputs"]["x1"]["grad"]["mean"] == pytest.approx(float(np.mean(grads["x1"])), rel=1e-12)
    if extra:
        assert report["inputs"]["x0"]["grad"] == pytest.approx(grads["x0"], rel=1e-12)


def test_run_with_points_on_a_local_cluster_and_as_a_table(files, xs):
    result = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "named.npy"),
                    "--cluster", "local", "--json")
    assert result.exit_code == 0, result.stderr
    out, _ = _want(xs)
    assert json.loads(result.stdout)["output"]["sum"] == pytest.approx(float(np.sum(out)), rel=1e-12)
    table = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "named.npy"))
    assert table.exit_code == 0 and f"at {N} points" in table.stdout and "d out / d x0" in table.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["w0=2", "w1=-3", "--points", "{files}/columns.npy"], "has 2 column(s), one a point input, but 3"),
        (["w0=2", "w1=-3", "w2=1", "x0=1", "--points", "{files}/named.npy"], "input 'x0' is given twice"),
        (["w0=2", "w1=-3", "w2=1", "--points", "{files}/missing.npy"], "does not exist"),
        (["w0=2", "w1=-3", "w2=1", "--points", "{files}/named.npy", "--chunk", "0"], "--chunk"),
        (["w0=2", "w1=-3", "w2=1", "x0=1", "x1=2", "--cluster", "local"], "--chunk, --cluster and --out go with --points"),
    ],
)
def test_bad_points_runs_are_one_clear_error(files, args, fragment):
    args = [a.replace("{files}", str(files)) for a in args]
    result = invoke("run", NEURON, *args)
    assert fragment in result.stderr, result.stderr
    assert result.exit_code == 2


def test_a_points_file_of_strings_is_refused(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(UsageError, match="holds <U1 values; points must be real numbers"):
        points.read_points(tmp_path / "s.npy", ["x"])
    assert_error(invoke("run", "x * 2", "--points", str(tmp_path / "s.npy")), 2, "points must be real numbers")


def test_optimize_with_points_climbs_the_mean_with_the_full_batch_gradient(files, xs):
    result = invoke("optimize", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "columns.npy"),
                    "--steps", "3", "--step-size", "0.5", "--chunk", "2000", "--minimize", "--json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    w = dict(WEIGHTS)  # the same three steps in memory: w <- w - 0.5 * mean gradient
    circuit = gatekit.parse(NEURON)
    for _ in range(3):
        _, g = circuit.gradient(x0=xs[0], x1=xs[1], **w)
        w = {k: w[k] - 0.5 * g[k] / N for k in w}
    assert got["final"] == pytest.approx(w, rel=1e-12)
    assert (got["evaluations"]["forward"], got["evaluations"]["backward"]) == (4, 3)
    assert got["output_is"] == "mean over the points"
    assert_error(invoke("optimize", NEURON, "w0=2", "w1=-3", "w2=1", "--chunk", "10"), 2,
                 "--chunk and --cluster go with --points")


@pytest.mark.parametrize("out", ["results.npy", "results.zarr"])
def test_run_with_points_writes_every_points_output_and_gradients(files, xs, out):
    if out.endswith(".zarr"):
        pytest.importorskip("zarr")
    target = files / out
    result = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "named.npy"),
                    "--chunk", "1000", "--out", str(target), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["out"] == str(target)
    written = points.read_points(target)
    assert set(written) == {"output", "grad_x0", "grad_x1"}
    want_out, want = _want(xs)
    np.testing.assert_allclose(written["output"].compute(), want_out, rtol=1e-12, atol=0)
    np.testing.assert_allclose(written["grad_x1"].compute(), want["x1"], rtol=1e-12, atol=0)


def test_out_npy_with_a_cluster_is_refused_for_a_zarr_store(files):
    result = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "named.npy"),
                    "--out", str(files / "r.npy"), "--cluster", "local")
    assert_error(result, 2, "with --cluster, write a Zarr store")


def test_without_the_dask_extra_points_are_one_clear_error(monkeypatch, files):
    import sys

    for name in ("dask", "dask.array", "gatekit.dask", "gatekit.points"):
        monkeypatch.setitem(sys.modules, name, None) if name.startswith("dask") else \
            monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(gatekit, "dask", raising=False)
    monkeypatch.delattr(gatekit, "points", raising=False)
    result = invoke("run", NEURON, "w0=2", "w1=-3", "w2=-3", "--points", str(files / "named.npy"))
    assert_error(result, 1, "needs dask, which is not installed: pip install 'gatekit[dask]'")
