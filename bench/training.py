"""W6: one full-batch training step of the moons MLP 2-16-16-1 (forward + backward + update).

    python bench/training.py               # check, time, print, record in bench/RESULTS.md
    python bench/training.py --no-record   # the same, RESULTS.md untouched
    python bench/training.py --quick       # fewer rounds, 100 points only (not recorded)

The step is the reference demo's: hinge loss ``relu(1 - y * score)`` averaged over the
points, plus ``1e-4 * sum(p ** 2)``, then ``p -= rate * grad``. Implementations:

- **micrograd**: micrograd 0.1.0's ``MLP(2, [16, 16, 1])`` and the demo's loss, with
  our starting parameters copied in; it rebuilds its graph every step, as the demo does.
- **gatekit scalar gates**: ``nn.mlp(2, [16, 16, 1])`` (every weight an input, 1,319
  gates, 644 of them over arrays of points), built once; a step is ``circuit.forward(values)
  .backward()``, the input gradients, and the update.
- **gatekit layer gates**: the same network as three ``linear`` gates (22 gates in all).
- **... compiled**: the same loss circuit's generated code, called the way ``train`` calls
  it from 10 steps on (through its ``Problem``, which holds the data):
  ``circuit.compile().gradient(values, wrt=parameters)``, the parameters' gradients only,
  none of the data's (X's columns, y); compiling it is timed apart, once per circuit
  (``compile`` rows), as what it costs over a steady compiled step.
- **floor**: the scalar-gate step as the least Python can do it, our own minimal
  experiment: straight-line numpy with one call per gate operation (a weight times an
  activation forward; one ``dot`` for the weight's gradient and one product for the
  activation's backward; an addition for fan-out) and nothing else: no dicts, no
  shape rules, no gradients nobody reads. No engine that keeps a node per scalar gate
  can beat it by much.
- **gatekit train()**: the per-step cost inside :func:`gatekit.train` (the strategy
  loop, the meter, the compiled loss circuit, and the accuracy history):
  ``(train(steps=31) - train(steps=11)) / 20``; both runs compile, so the compile cancels.
- **numpy**: the same network written out by hand on arrays, with a hand-derived backward.

Every implementation is first checked to give the same loss and the same parameters
after two steps (to 1e-9). All are timed in the same run, taking turns in chunks of
about 5 ms (see :func:`median_times`); the median and the best sample are kept (on a
shared machine other processes only ever add time, so the best is the code's own cost). Results go between this workload's own markers in RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402
from training_floor import floor_source  # noqa: E402

import gatekit  # noqa: E402
from gatekit import nn  # noqa: E402
from gatekit.datasets import moons  # noqa: E402

BEGIN, END = "<!-- bench-w6:begin -->", "<!-- bench-w6:end -->"
ALPHA, RATE = 1e-4, 0.5
SIZES = (2, 16, 16, 1)

Step = Callable[[], float]  # one step; returns the loss before the update


def _matrices(params: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    return nn.Network(SIZES).matrices(params)


def numpy_step(X: np.ndarray, y: np.ndarray, start: dict[str, Any]) -> tuple[Step, Callable[[], Any]]:
    (W1, b1), (W2, b2), (W3, b3) = [(W.copy(), b.copy()) for W, b in _matrices(start)]
    w3, b3s = W3[0].copy(), np.array(b3[0])
    n = len(y)

    def step() -> float:
        nonlocal b3s
        z1 = X @ W1.T + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2.T + b2
        h2 = np.maximum(z2, 0.0)
        s = h2 @ w3 + b3s
        margin = 1.0 - y * s
        loss = np.maximum(margin, 0.0).mean() + ALPHA * (
            (W1 * W1).sum() + (b1 * b1).sum() + (W2 * W2).sum() + (b2 * b2).sum() + (w3 * w3).sum() + b3s * b3s)
        ds = -y * ((margin > 0) + 0.5 * (margin == 0)) / n  # gatekit's relu'(0) = 1/2
        dw3, db3 = h2.T @ ds, ds.sum()
        dz2 = np.outer(ds, w3) * ((z2 > 0) + 0.5 * (z2 == 0))
        dW2, db2 = dz2.T @ h1, dz2.sum(axis=0)
        dz1 = (dz2 @ W2) * ((z1 > 0) + 0.5 * (z1 == 0))
        dW1, db1 = dz1.T @ X, dz1.sum(axis=0)
        for p, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2), (w3, dw3)):
            p -= RATE * (g + 2 * ALPHA * p)
        b3s = b3s - RATE * (db3 + 2 * ALPHA * b3s)
        return float(loss)

    def state() -> Any:
        return [W1, b1, W2, b2, w3, np.atleast_1d(b3s)]

    return step, state


def gatekit_step(X: np.ndarray, y: np.ndarray, start: dict[str, Any], layers: bool) -> tuple[Step, Callable[[], Any]]:
    net = nn.Network(SIZES, layers=layers)
    circuit = net.loss_circuit("hinge", ALPHA)
    values = {**net.data(X), "y": y, **{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                       for k, v in nn.Network(SIZES).convert(start, layers).items()}}
    names = list(net.initial_parameters())

    def step() -> float:
        trace = circuit.forward(values).backward()
        grads = trace.input_grads()
        for name in names:
            values[name] = values[name] - RATE * grads[name]
        return trace.output

    def state() -> Any:
        return [np.atleast_1d(np.asarray(v)) for v in _flat_state(net, values)]

    return step, state


def compiled_step(X: np.ndarray, y: np.ndarray, start: dict[str, Any], layers: bool) -> tuple[Step, Callable[[], Any]]:
    """As :func:`gatekit_step`, through the circuit's generated code (compiled before the first step),
    as ``train`` calls it: the data held, the parameters' gradients asked for (``wrt``)."""
    net = nn.Network(SIZES, layers=layers)
    compiled = net.loss_circuit("hinge", ALPHA).compile()
    values = {**net.data(X), "y": y, **{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                       for k, v in nn.Network(SIZES).convert(start, layers).items()}}
    names = tuple(net.initial_parameters())

    def step() -> float:
        output, grads = compiled.gradient(values, wrt=names)
        for name in names:
            values[name] = values[name] - RATE * grads[name]
        return float(output)

    def state() -> Any:
        return [np.atleast_1d(np.asarray(v)) for v in _flat_state(net, values)]

    compiled.gradient(dict(values), wrt=names)  # the first call of a kind runs the interpreter (it checks the gates)
    compiled.gradient(dict(values), wrt=names)  # the second compiles
    return step, state


def compile_cost(X: np.ndarray, y: np.ndarray, layers: bool) -> float:
    """Seconds to generate and compile a fresh loss circuit's code: its first compiled call
    less a steady one (the interpreter's checking call before it is not counted)."""
    net = nn.Network(SIZES, layers=layers)
    values = {**net.data(X), "y": y, **net.initial_parameters()}
    wrt = tuple(net.initial_parameters())
    compiled = net.loss_circuit("hinge", ALPHA).compile()
    compiled.gradient(values, wrt=wrt)
    began = time.perf_counter()
    compiled.gradient(values, wrt=wrt)
    first = time.perf_counter() - began
    steady = min(_seconds(lambda: compiled.gradient(values, wrt=wrt)) for _ in range(3))
    return first - steady


def _seconds(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def floor_step(X: np.ndarray, y: np.ndarray, start: dict[str, Any]) -> tuple[Step, Callable[[], Any]]:
    source, names = floor_source(SIZES)
    namespace: dict[str, Any] = {"np": np}
    exec(compile(source, "<W6 floor>", "exec"), namespace)  # noqa: S102 - the benchmark's own text
    function = namespace["step"]
    x0, x1 = (np.ascontiguousarray(X[:, k]) for k in range(2))
    params = [float(start[n]) for n in names]

    def step() -> float:
        loss, grads = function(x0, x1, y, *params)
        params[:] = [p - RATE * g for p, g in zip(params, grads)]
        return float(loss)

    def state() -> Any:
        values = dict(zip(names, params))
        return [np.atleast_1d(np.asarray(v)) for v in _flat_state(nn.Network(SIZES), values)]

    return step, state


def _flat_state(net: nn.Network, values: dict[str, Any]) -> list[Any]:
    out = []
    for W, b in net.matrices(values):
        out += [W, b]
    (W3, b3) = (out[-2], out[-1])
    return out[:-2] + [W3[0], b3]


def micrograd_step(X: np.ndarray, y: np.ndarray, start: dict[str, Any]) -> tuple[Step, Callable[[], Any]]:
    from micrograd.nn import MLP

    model = MLP(2, list(SIZES[1:]))
    for layer, (W, b) in zip(model.layers, _matrices(start)):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(W[j, i])
            neuron.b.data = float(b[j])
    points = [list(map(float, row)) for row in X]
    labels = [float(v) for v in y]

    def step() -> float:
        scores = [model(x) for x in points]
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
        total = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
        model.zero_grad()
        total.backward()
        for p in model.parameters():
            p.data -= RATE * p.grad
        return total.data

    def state() -> Any:
        out = []
        for k, layer in enumerate(model.layers):
            W = np.array([[w.data for w in n.w] for n in layer.neurons])
            b = np.array([n.b.data for n in layer.neurons])
            out += [W[0], b] if k == len(model.layers) - 1 else [W, b]
        return out

    return step, state


def train_per_step(data: Any, layers: bool) -> Step:
    def run(steps: int) -> float:
        began = time.perf_counter()
        gatekit.train(data, nn.Network(SIZES, layers=layers), "hinge", l2=ALPHA, steps=steps, step_size=RATE)
        return time.perf_counter() - began

    def step() -> float:
        return (run(31) - run(11)) / 20

    return step


def check(X: np.ndarray, y: np.ndarray, micro: bool) -> None:
    start = nn.Network(SIZES).initial_parameters()
    impls = {"numpy": numpy_step(X, y, start), "scalar": gatekit_step(X, y, start, False),
             "layer": gatekit_step(X, y, start, True), "scalar compiled": compiled_step(X, y, start, False),
             "layer compiled": compiled_step(X, y, start, True), "floor": floor_step(X, y, start)}
    if micro:
        impls["micrograd"] = micrograd_step(X, y, start)
    results = {}
    for name, (step, state) in impls.items():
        losses = [step(), step()]
        results[name] = (losses, state())
    ref_losses, ref_state = results["numpy"]
    for name, (losses, state) in results.items():
        assert np.allclose(losses, ref_losses, rtol=0, atol=1e-9), (name, losses, ref_losses)
        for a, b in zip(state, ref_state):
            assert np.allclose(np.ravel(a), np.ravel(b), rtol=0, atol=1e-9), name


def median_times(steps: dict[str, Step], rounds: int) -> dict[str, tuple[float, float]]:
    """(median, best) time of one step of each implementation, timed in short interleaved chunks.

    The machine is shared, so its load moves within a second: each sample is a chunk
    of about 5 ms of one implementation's steps, and the implementations take turns
    chunk by chunk, so a change in load hits them alike. micrograd (over a second a
    step) and train() (a whole run a sample) are timed one sample per round.
    """
    slow = {name for name in steps if name == "micrograd" or name.startswith("gatekit train()")}
    inner = {}
    for name, step in steps.items():
        if name in slow:
            continue
        began = time.perf_counter()
        step()
        inner[name] = max(1, int(0.005 / max(time.perf_counter() - began, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in steps}
    fast = [name for name in steps if name not in slow]
    for r in range(rounds):
        for name in sorted(slow):
            gc.collect()
            if name == "micrograd":
                began = time.perf_counter()
                steps[name]()
                samples[name].append(time.perf_counter() - began)
            else:
                samples[name].append(steps[name]())
        for _ in range(6):  # six chunks of each fast implementation per round, in turn
            for name in fast:
                began = time.perf_counter()
                for _ in range(inner[name]):
                    steps[name]()
                samples[name].append((time.perf_counter() - began) / inner[name])
    return {name: (statistics.median(times), min(times)) for name, times in samples.items()}


def fmt_time(seconds: float) -> str:
    for unit, factor in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if seconds >= 1 / factor:
            return f"{seconds * factor:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


COLUMNS = ["micrograd", "gatekit scalar gates", "gatekit scalar gates, compiled", "floor (scalar gates)",
           "gatekit layer gates", "gatekit layer gates, compiled", "gatekit train() scalar", "gatekit train() layer",
           "numpy"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    info = machine_info()
    sizes = (100,) if args.quick else (100, 1_000, 10_000)
    rows, targets, compiles = [], [], []
    for n in sizes:
        data = moons(n=n, seed=0)
        micro = n == 100
        check(data.X, data.y, micro)
        start = nn.Network(SIZES).initial_parameters()
        steps = {"micrograd": micrograd_step(data.X, data.y, start)[0]} if micro else {}
        steps.update({
            "gatekit scalar gates": gatekit_step(data.X, data.y, start, False)[0],
            "gatekit scalar gates, compiled": compiled_step(data.X, data.y, start, False)[0],
            "floor (scalar gates)": floor_step(data.X, data.y, start)[0],
            "gatekit layer gates": gatekit_step(data.X, data.y, start, True)[0],
            "gatekit layer gates, compiled": compiled_step(data.X, data.y, start, True)[0],
            "gatekit train() scalar": train_per_step(data, False),
            "gatekit train() layer": train_per_step(data, True),
            "numpy": numpy_step(data.X, data.y, start)[0],
        })
        medians = median_times(steps, 3 if args.quick else 7)
        rows.append((n, medians))
        if n == 100:
            for layers in (False, True):
                costs = sorted(compile_cost(data.X, data.y, layers) for _ in range(3))
                kind = "layer" if layers else "scalar"
                saved = medians[f"gatekit {kind} gates"][0] - medians[f"gatekit {kind} gates, compiled"][0]
                compiles.append((kind, costs, saved))

        def ratio(a: str, b: str) -> tuple[float, float]:
            return medians[a][0] / medians[b][0], medians[a][1] / medians[b][1]

        if micro:
            for what in ("gatekit scalar gates", "gatekit scalar gates, compiled", "floor (scalar gates)"):
                targets.append((f"{what} <= 1/500 of micrograd", ratio(what, "micrograd"), 1 / 500))
        for what in ("gatekit layer gates", "gatekit layer gates, compiled"):
            targets.append((f"{what} <= 2x numpy ({n:,} points)", ratio(what, "numpy"), 2.0))
        print(f"timed {n} points", flush=True)
    table = ["Each cell: median / best of the samples.", "",
             "| points | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for n, medians in rows:
        table.append(f"| {n:,} | " + " | ".join(
            f"{fmt_time(medians[c][0])} / {fmt_time(medians[c][1])}" if c in medians else "-" for c in COLUMNS) + " |")
    table += ["", "| compiling the loss circuit (100 points), once per circuit | 3 runs | saved a step "
              "(interpreted - compiled, medians) | pays back after |", "|---|---|---|---|"]
    for kind, costs, saved in compiles:
        back = f"{costs[1] / saved:.0f} steps" if saved > 0 else "never (compiled is not faster)"
        table.append(f"| {kind} gates | {' / '.join(fmt_time(c) for c in costs)} | {fmt_time(saved)} | {back} |")
    table += ["", "| target | medians | bests | met (medians / bests) |", "|---|---|---|---|"]
    for what, (by_median, by_best), goal in targets:
        shown = [f"1/{1 / r:.0f}" if r < 0.1 else f"{r:.2f}x" for r in (by_median, by_best)]
        met = " / ".join("yes" if r <= goal else "no" for r in (by_median, by_best))
        table.append(f"| {what} | {shown[0]} | {shown[1]} | {met} |")
    info["load after"] = machine_info(load_only=True)["load"]
    info["run"] = f"{time.perf_counter() - began:.0f} s in all"
    block = "\n".join(f"- {k}: {v}" for k, v in info.items()) + "\n\n" + "\n".join(table)
    print("\n" + "\n".join(table))
    if not args.no_record and not args.quick:
        path = HERE / "RESULTS.md"
        text = path.read_text()
        if BEGIN not in text:
            text += f"\n{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")
        print(f"\nrecorded in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
