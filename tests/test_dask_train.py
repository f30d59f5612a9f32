"""train() on dask chunks: the full-batch gradient reduced over chunks equals train() on numpy, on a local cluster."""

from __future__ import annotations

import numpy as np
import pytest

import gatekit
from gatekit import UsageError

da = pytest.importorskip("dask.array")
gd = pytest.importorskip("gatekit.dask")

from cli_helpers import assert_error, invoke, run_json  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with gd.client(workers=2, threads=1, memory_limit="1GiB") as client:  # sized for two cores
        yield client


@pytest.fixture(scope="module")
def moons():
    return gatekit.datasets.moons(300, seed=3)


def _chunked(ds, rows=70):
    # Chunks of points and labels cut differently: train cuts the labels where the points are.
    return da.from_array(ds.X, chunks=(rows, 1)), da.from_array(ds.y, chunks=111)


@pytest.mark.parametrize("model, layers", [("linear", False), ("mlp:6", True)])
def test_training_on_chunks_on_a_local_cluster_equals_training_in_memory(cluster, moons, model, layers):
    settings = dict(l2=1e-3, steps=6, layers=layers, schedule=gatekit.decay(0.5, 6))
    want = gatekit.train((moons.X, moons.y), model, "hinge", **settings)
    got = gatekit.train(_chunked(moons), model, "hinge", **settings)
    np.testing.assert_allclose(got.loss, want.loss, rtol=1e-12)
    assert got.accuracy == want.accuracy and got.loss[-1] < got.loss[0]
    for name, value in want.parameters.items():
        np.testing.assert_allclose(got.parameters[name], value, rtol=1e-10, atol=1e-13)
    assert (got.forward_evals, got.backward_evals) == (want.forward_evals, want.backward_evals)
    assert got.accuracy_forwards == 0  # every point's accuracy came with its loss, in the same pass


def test_a_search_strategy_scores_its_candidates_one_pass_each(cluster, moons):
    settings = dict(strategy="local-search", steps=2, seed=5, candidates=3)
    want = gatekit.train((moons.X, moons.y), "linear", "logistic", **settings)
    got = gatekit.train(_chunked(moons), "linear", "logistic", **settings)
    np.testing.assert_allclose(got.loss, want.loss, rtol=1e-12)
    assert got.parameters == pytest.approx(want.parameters, rel=1e-12)


def test_chunked_data_is_checked_with_one_clear_error(moons):
    X, y = _chunked(moons)
    with pytest.raises(UsageError, match=r"full batch"):
        gatekit.train((X, y), "linear", steps=1, batch=10)
    with pytest.raises(UsageError, match=r"X of shape \(n, features\) and y of shape \(n,\)"):
        gatekit.train((X, y[:-1]), "linear", steps=1)
    with pytest.raises(UsageError, match=r"labels y must be -1 or \+1"):
        gatekit.train((X, y * 2), "linear", steps=1)


def test_gatekit_train_reads_a_npy_file_in_chunks_and_equals_training_it_in_memory(tmp_path, moons):
    path = tmp_path / "moons.npy"
    np.save(path, np.column_stack([moons.X, (moons.y > 0).astype(float)]))  # labels 0/1, mapped to -1/+1
    common = ["train", "--data", str(path), "--model", "mlp:4", "--steps", "3", ]
    want = run_json(*common)
    got = run_json(*common, "--chunk", "70", "--cluster", "local")
    assert got["chunks"] == 5 and got["points"] == want["points"] == 300
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-12)
    assert got["accuracy"] == want["accuracy"]


def test_gatekit_train_in_chunks_refuses_what_it_cannot_do(tmp_path, moons):
    path = tmp_path / "bad.npy"
    np.save(path, np.column_stack([moons.X, moons.y * 2]))
    assert_error(invoke("train", "--data", str(path), "--chunk", "50"), 2, "labels must be all in {-1, +1}")
    assert_error(invoke("train", "--data", str(tmp_path / "x.csv"), "--chunk", "50"), 2, "reads a .npy file")
    assert_error(invoke("train", "--data", str(path), "--chunk", "50", "--plot", str(tmp_path / "p.png")), 2,
                 "--plot draws from data in memory")


def test_the_full_batch_memo_keeps_only_the_last_few_points(moons):
    from gatekit.dask_train import _MEMO_POINTS, FullBatchLoss, chunked_data

    network = gatekit.nn.linear_model(2)
    loss = FullBatchLoss(chunked_data(_chunked(moons, rows=150)), network, "hinge", None)
    start = network.initial_parameters()
    points = [tuple(np.asarray(start[name]) + 0.01 * k for name in loss.names) for k in range(_MEMO_POINTS + 5)]
    first = loss.forward(*points[0])
    for p in points:
        loss.forward(*p)
        loss.backward(1.0, None, *p)  # the same point: no second pass
    assert loss.passes == len(points) and len(loss._memo) == _MEMO_POINTS
    assert loss.forward(*points[-1]) is not None and loss.passes == len(points)  # a recent point: remembered
    assert loss.forward(*points[0]) == first and loss.passes == len(points) + 1  # an old one: a new pass, same answer
