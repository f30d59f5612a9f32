"""gatekit.train: the lesson's figures (reference-numbers.md section 7), every strategy, minibatches, models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit import ModelFileError, OptionError, UsageError, decay, load_model, nn, save_model, train
from gatekit.datasets import moons, six_points

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def moons_runs():
    """The reference demo on both paths: MLP 2-16-16-1, hinge + 1e-4 L2, 100 steps at 1.0 - 0.9 k / 100."""
    return {layers: train("moons", "mlp:16,16", "hinge", l2=1e-4, steps=100, schedule=decay(1.0, 100),
                          layers=layers, seed=0) for layers in (False, True)}


def test_the_moons_mlp_reaches_full_training_accuracy(moons_runs):
    run = moons_runs[False]
    assert run.network.n_parameters == 337
    assert run.accuracy[-1] == 1.0
    first = run.accuracy.index(1.0)
    assert first <= 70  # the reference demo: by about step 70; this seed: step 40
    assert run.accuracy[0] < 0.7 and run.loss[-1] < 0.05 < run.loss[0]
    assert len(run.loss) == len(run.accuracy) == 101
    assert (run.forward_evals, run.backward_evals, run.accuracy_forwards) == (101, 100, 101)


def test_scalar_gate_and_layer_gate_mlps_give_the_same_loss_trajectory(moons_runs):
    scalar, layer = moons_runs[False], moons_runs[True]
    np.testing.assert_allclose(scalar.loss, layer.loss, rtol=0, atol=1e-10)
    assert scalar.accuracy == layer.accuracy
    converted = scalar.network.convert(scalar.parameters, layers=True)
    for name, value in layer.parameters.items():
        np.testing.assert_allclose(converted[name], value, atol=1e-10)


def test_the_trained_network_can_be_opened_neuron_by_neuron(moons_runs):
    run, data = moons_runs[False], moons()
    trace = run.trace(data.X, data.y)
    assert trace.value("l1_n5").shape == (100,)
    assert isinstance(trace.grad("l2_n3_w7"), float)
    np.testing.assert_allclose(trace.value("score"), run.model.scores(data.X))


def _svm_example():
    spec = importlib.util.spec_from_file_location("svm_pull", ROOT / "examples" / "svm_pull.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lessons_pull_rule_is_hinge_loss_sgd_one_point_a_step():
    """The six-point SVM: the lesson's hand rule, and train() with hinge + 0.5 (a^2 + b^2), agree step by step."""
    example = _svm_example()
    start = {"l1_n1_w1": 1.0, "l1_n1_w2": -2.0, "l1_n1_b": -1.0}  # a, b, c of the lesson
    run = train(six_points(), "linear", "hinge", l2=0.5, l2_biases=False, batch=1, steps=400, step_size=0.01,
                seed=3, start=start)
    # train's minibatches: one permutation of the six points after another, from default_rng([seed, 1])
    rng = np.random.default_rng([3, 1])
    order = np.concatenate([rng.permutation(6) for _ in range(67)])[:400]
    history = example.pull_rule(order)
    final = history[-1]
    assert run.parameters["l1_n1_w1"] == pytest.approx(final["a"], abs=1e-12)
    assert run.parameters["l1_n1_w2"] == pytest.approx(final["b"], abs=1e-12)
    assert run.parameters["l1_n1_b"] == pytest.approx(final["c"], abs=1e-12)
    assert run.accuracy == [example.accuracy(h) for h in history]


#: The lesson's six points and labels (reference-numbers.md section 7), for the plain-Python rule below.
SIX = [((1.2, 0.7), 1), ((-0.3, -0.5), -1), ((3.0, 0.1), 1), ((-0.1, -1.0), -1), ((-1.0, 1.1), -1), ((2.1, -3.0), 1)]


def plain_pull_rule(order, a=1.0, b=-2.0, c=-1.0, step=0.01):
    """The lesson's rule transcribed in plain Python (no gatekit): (a, b, c) after each pick of ``order``."""
    history = [(a, b, c)]
    for i in order:
        (x, y), label = SIX[i]
        score = a * x + b * y + c
        pull = 1.0 if label == 1 and score < 1 else -1.0 if label == -1 and score > -1 else 0.0
        # The pull times d score / d(a, b, c) = (x, y, 1), plus the regularisation's -a and -b.
        a, b, c = a + step * (pull * x - a), b + step * (pull * y - b), c + step * pull
        history.append((a, b, c))
    return history


def plain_accuracy(a, b, c):
    return sum((1 if a * x + b * y + c > 0 else -1) == label for (x, y), label in SIX) / len(SIX)


def test_the_six_point_svms_start_classifies_4_of_6_not_2():
    # By hand, score = 1*x - 2*y - 1 at the six points: 1.2 - 1.4 - 1 = -1.2 (label +1: wrong),
    # -0.3 + 1 - 1 = -0.3 (-1: right), 3 - 0.2 - 1 = 1.8 (+1: right), -0.1 + 2 - 1 = 0.9
    # (-1: wrong), -1 - 2.2 - 1 = -4.2 (-1: right), 2.1 + 6 - 1 = 7.1 (+1: right): 4 of 6,
    # 0.667, where reference-numbers.md says 0.33 (docs/six-point-svm.md: what could give 0.33).
    scores = [1.0 * x - 2.0 * y - 1.0 for (x, y), _ in SIX]
    assert scores == pytest.approx([-1.2, -0.3, 1.8, 0.9, -4.2, 7.1], abs=1e-12)
    assert plain_accuracy(1.0, -2.0, -1.0) == 4 / 6
    example = _svm_example()
    assert example.accuracy(example.START) == 4 / 6
    run = train(six_points(), "linear", "hinge", l2=0.5, l2_biases=False, batch=1, steps=1, step_size=0.01,
                start={"l1_n1_w1": 1.0, "l1_n1_w2": -2.0, "l1_n1_b": -1.0})
    assert run.accuracy[0] == 4 / 6


def test_gatekits_pull_rule_equals_the_plain_python_rule_step_for_step():
    example = _svm_example()
    for seed in range(3):
        order = np.random.default_rng(seed).integers(0, 6, 400)
        ours = [(h["a"], h["b"], h["c"]) for h in example.pull_rule(order)]
        plain = plain_pull_rule(order)
        assert len(ours) == len(plain) == 401
        for k, (got, want) in enumerate(zip(ours, plain)):
            assert got == pytest.approx(want, abs=1e-12), (seed, k)


def test_what_the_lessons_rule_does_from_its_start_over_seeds():
    """The literal rule (400 random picks, step 0.01, pull -a and -b) mostly ends at 5 of 6, not 1.0.

    Over seeds 0-299 every run ends at 5/6 or 1.0, and 1.0 in a few percent of them (about
    6% over 20,000 runs: docs/six-point-svm.md); the point left wrong is always (1.2, 0.7).
    Regularising c too (a reading of the rule we checked) ends at 1.0 every time.
    """
    finals, wrong = [], set()
    for seed in range(300):
        a, b, c = plain_pull_rule(np.random.default_rng(seed).integers(0, 6, 400))[-1]
        finals.append(plain_accuracy(a, b, c))
        wrong |= {i for i, ((x, y), label) in enumerate(SIX) if (1 if a * x + b * y + c > 0 else -1) != label}
    assert set(finals) <= {5 / 6, 1.0}
    reached = finals.count(1.0)
    assert 3 <= reached <= 45, reached  # 1% to 15% of 300 (these seeds: 16; seeds 300-20,299: 6.7%)
    assert wrong == {0}
    example = _svm_example()
    assert example.accuracy(example.pull_rule(np.random.default_rng(0).integers(0, 6, 400))[-1]) == 5 / 6


def test_the_six_point_svm_reaches_1_from_a_seeded_start():
    run = train(six_points(), "linear", "hinge", l2=0.5, l2_biases=False, batch=1, steps=400, step_size=0.01, seed=0)
    assert run.accuracy[-1] == 1.0 and run.accuracy.index(1.0) == 54


#: (strategy, options, forwards a step, backwards a step) on a 2-4-1 network: 17 parameters.
STRATEGIES = [
    ("analytic-gradient", {"step_size": 0.1}, 1, 1),
    ("momentum", {"step_size": 0.1}, 1, 1),
    ("adam", {"step_size": 0.01}, 1, 1),
    ("numerical-gradient", {"step_size": 0.1}, 17 + 1, 0),  # n differences, and the landing point
    ("random-search", {"candidates": 20, "low": -1.0, "high": 1.0}, 20, 0),  # the winner is already scored
    ("local-search", {"step_size": 0.05}, 10, 0),
]


@pytest.mark.parametrize(("strategy", "options", "forwards", "backwards"), STRATEGIES)
@pytest.mark.parametrize("layers", [False, True])
def test_every_builtin_strategy_trains_and_the_counts_are_honest(strategy, options, forwards, backwards, layers):
    assert {s for s, *_ in STRATEGIES} == set(gatekit.default_registry().strategy_names())
    steps = 3
    run = train(moons(n=30), nn.mlp(2, [4, 1], layers=layers), "logistic", strategy=strategy, steps=steps, seed=1,
                **options)
    assert run.network.n_parameters == 17 and run.steps_done == steps and run.stop_reason == "steps"
    assert run.loss[-1] <= run.loss[0] or strategy in ("analytic-gradient", "momentum", "adam", "numerical-gradient")
    assert run.forward_evals == 1 + steps * forwards
    assert run.backward_evals == steps * backwards
    assert run.accuracy_forwards == steps + 1 == len(run.accuracy)


def test_minibatches_rescore_the_current_point_on_each_new_batch():
    run = train(moons(n=40), "mlp:4", "hinge", batch=10, steps=8, seed=2, step_size=0.1)
    # 1 start + 8 landings + 7 rescorings on a new batch
    assert (run.forward_evals, run.backward_evals) == (16, 8)
    assert run.batch == 10 and len(run.loss) == 9


def test_a_schedule_on_a_strategy_without_a_step_size_is_refused():
    with pytest.raises(OptionError, match="no step_size option"):
        train(moons(n=10), "linear", strategy="random-search", steps=1, schedule=decay(1.0, 1))


def test_a_schedule_that_goes_to_zero_is_refused_at_that_step():
    with pytest.raises(OptionError, match="step 3"):
        train(moons(n=10), "linear", steps=5, schedule=lambda k: 1.0 - k / 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"batch": 0}, "batch must be"), ({"loss": "hinj"}, "did you mean 'hinge'"), ({"l2": -1.0}, "l2 must"),
     ({"model": "mlp:x"}, "unknown model"), ({"start": {"w": 1.0}}, "parameter 'w'")],
)
def test_bad_training_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(UsageError, match=message):
        train(moons(n=10), **{"model": "linear", **kwargs})


@pytest.mark.parametrize("layers", [False, True])
def test_save_load_predict_gives_the_same_predictions(tmp_path, layers):
    data = moons(n=50, seed=3)
    run = train(data, "mlp:8", "hinge", steps=20, layers=layers, step_size=0.5)
    path = tmp_path / "model.json"
    save_model(run.model, path)
    loaded = load_model(path)
    assert loaded.network == run.network and loaded.feature_names == ("x0", "x1")
    np.testing.assert_array_equal(loaded.scores(data.X), run.model.scores(data.X))
    np.testing.assert_array_equal(loaded.predict(data.X), run.predict(data.X))


def test_a_broken_model_file_names_the_key(tmp_path):
    run = train(moons(n=10), "linear", steps=1)
    path = tmp_path / "m.json"
    save_model(run.model, path)
    text = path.read_text()
    path.write_text(text.replace('"l1_n1_w1"', '"l1_n1_wx"'))
    with pytest.raises(ModelFileError, match="m.json: parameters: missing l1_n1_w1"):
        load_model(path)
    path.write_text("{}")
    with pytest.raises(ModelFileError, match="format: not a gatekit model file"):
        load_model(path)


def test_a_budget_ends_training_early_and_the_histories_still_line_up():
    run = train(moons(n=20), "mlp:3", "hinge", steps=50, budget=10, step_size=0.1)
    assert run.stop_reason == "budget" and run.forward_evals <= 10
    assert len(run.loss) == len(run.accuracy) == run.steps_done + 1 < 51


def test_holding_an_input_that_is_not_held_is_refused():
    circuit = gatekit.parse("mean((a * x - y) ** 2)")
    problem = gatekit.Problem(circuit, ("a",), {"x": np.ones(3), "y": np.ones(3)})
    problem.begin(np.array([0.0]))
    with pytest.raises(UsageError, match="'a' is not a held input"):
        problem.hold({"a": 1.0})
    problem.hold({"x": np.zeros(3)})
    assert problem.current_score == 1.0 and problem.forward_evals == 2  # rescored on the new data (maximising)


def test_the_readings_of_the_svm_rule_docs_six_point_svm_records():
    spec = importlib.util.spec_from_file_location("svm_readings", ROOT / "examples" / "svm_readings.py")
    readings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readings)
    rows = {name: (start, shares, printed) for name, start, shares, printed in readings.table(runs=400)}
    literal = rows["the rule as stated (random picks, pull -a and -b)"]
    assert literal[0] == 4 / 6 and set(literal[1]) == {5, 6} and literal[1][6] < 0.2
    assert rows["regularisation pulls c too"][1] == {6: 1.0}
    assert all(start == 4 / 6 for start, _, _ in rows.values())  # no reading of the rule changes the start
    assert "a=1, b=-2, c=-1" not in readings.starts_at_one_third()
    assert "a=1, b=-2, c=-1, x and y swapped" in readings.starts_at_one_third()


@pytest.mark.parametrize(("n", "activation"), [
    (30, "relu"),  # one pass for all 50 parameter sets
    (1000, "relu"),  # passes of 4 and a remainder of 2
    (30, "mean"),  # not elementwise (it mixes the points): one set at a time
])
def test_the_vectorised_accuracy_equals_one_parameter_set_at_a_time(n, activation):
    from gatekit.model_file import Model
    from gatekit.train import _accuracies

    data, network = moons(n=n, seed=5), nn.mlp(2, [4, 1], activation=activation)
    if activation == "mean":  # every score one number: unbalanced labels, so its sign shows in the accuracy
        data = data.batch(np.concatenate([np.flatnonzero(data.y == 1), np.flatnonzero(data.y == -1)[:5]]))
    rng = np.random.default_rng(0)
    points = [{name: float(rng.normal()) for name in network.initial_parameters()} for _ in range(50)]
    vectorised = _accuracies(network, network.circuit(), data, points)
    one_by_one = [float(np.mean(Model(network, p, data.feature_names, "hinge").predict(data.X) == data.y))
                  for p in points]
    assert vectorised == one_by_one and len(set(one_by_one)) > 1  # the parameter sets differ
