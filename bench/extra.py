"""The benchmark rows that are not one workload against its references: W5, scaling,
compiling, and W4a's peak memory. Each returns markdown rows; run.py records them.

- W5: ``f = sum x_i x_(i+1)``; gatekit's analytic gradient (one forward and one backward)
  against gatekit's numerical one (central differences: two forwards per input). At
  n = 10,000 a full numerical gradient is 20,000 forwards of a 20,000-gate circuit, so
  it is timed on the first 200 inputs and scaled by n / 200: each input costs the same
  two forwards, so the scaling is exact up to noise (the rows say so).
- scaling: build and run time per gate of W2 and W3 at three sizes.
- compile: generating and compiling a circuit's code, per gate; and ``optimize`` on W3
  for 200 analytic-gradient steps, compiled and interpreted, each from a fresh circuit
  (compiling, and the first step, included).
- memory: W4a's peak traced allocation (tracemalloc sees numpy's buffers).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import references as ref  # noqa: E402
import workloads as wl  # noqa: E402

import gatekit  # noqa: E402

__all__ = ["w5_rows", "scaling_rows", "compile_rows", "memory_rows", "floor_rows"]


def seconds(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Median wall time of ``fn`` (each sample from a collected heap, gc on)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def w5_circuit(n: int, registry: gatekit.Registry) -> gatekit.Circuit:
    c = gatekit.Composer(registry)
    xs = c.inputs(*[f"x{i}" for i in range(n)])
    total = xs[0] * xs[1]
    for i in range(1, n - 1):
        total = total + xs[i] * xs[i + 1]
    return c.build(total)


def w5_rows(registry: gatekit.Registry, repeats: int) -> list[str]:
    rows = ["| W5 n | analytic | numerical (central) | numerical / analytic | goal | met |", "|---|---|---|---|---|---|"]
    for n, goal in ((1_000, 20), (10_000, 100)):
        circuit = w5_circuit(n, registry)
        point = {f"x{i}": 0.5 + (i % 7) * 0.1 for i in range(n)}
        out, grads = circuit.gradient(point)
        want_out, want = ref.python_w5(list(point.values()))
        assert abs(out - want_out) <= 1e-9 * abs(want_out) and all(abs(grads[f"x{i}"] - want[i]) <= 1e-12 for i in range(n))
        analytic = seconds(lambda: circuit.gradient(point), repeats)
        subset = list(point)[: min(n, 200)]
        numeric = seconds(lambda: gatekit.numerical_gradient(circuit, point, names=subset), 1) * n / len(subset)
        note = "" if len(subset) == n else f" (timed on {len(subset)} inputs, x {n // len(subset)})"
        ratio = numeric / analytic
        rows.append(f"| {n:,} | {analytic * 1e3:.3g} ms | {numeric:.3g} s{note} | {ratio:,.0f}x | >= {goal}x | "
                    f"{'yes' if ratio >= goal else 'no'} |")
    return rows


def scaling_rows(registry: gatekit.Registry) -> list[str]:
    rows = ["| workload | gates | build per gate | run per gate | compiled run per gate |", "|---|---|---|---|---|"]
    cases = [("W2", wl.chain_workload(links=n)) for n in (1_000, 10_000, 100_000)]
    cases += [("W3", wl.dag_workload(gates=n)) for n in (500, 5_000, 50_000)]
    spread: dict[str, list[tuple[float, float]]] = {}
    for key, w in cases:
        build = wl.BUILDERS[w.name]
        circuit = build(w, registry)
        gates = len(circuit.steps)
        values = w.as_dict()
        t_build = seconds(lambda: build(w, registry)) / gates
        t_run = seconds(lambda: circuit.gradient(values)) / gates
        shown = "-"  # compiling the largest sizes takes tens of seconds: see "compiling"
        if gates <= 50_000:
            compiled = circuit.compile()
            compiled.gradient(values)
            shown = f"{seconds(lambda: compiled.gradient(values)) / gates * 1e6:.2f} us"
        spread.setdefault(key, []).append((t_build, t_run))
        rows.append(f"| {key} | {gates:,} | {t_build * 1e6:.2f} us | {t_run * 1e6:.2f} us | {shown} |")
    for key, pairs in spread.items():
        b = max(p[0] for p in pairs) / min(p[0] for p in pairs)
        r = max(p[1] for p in pairs) / min(p[1] for p in pairs)
        rows.append(f"| {key} spread (largest / smallest per gate; goal <= 1.5x) | | {b:.2f}x "
                    f"({'met' if b <= 1.5 else 'not met'}) | {r:.2f}x ({'met' if r <= 1.5 else 'not met'}) | |")
    return rows


def compile_rows(registry: gatekit.Registry) -> list[str]:
    rows = ["| what | gates | time | per gate |", "|---|---|---|---|"]
    for key, w in (("W1", wl.neuron_workload()), ("W2", wl.chain_workload()), ("W3", wl.dag_workload())):
        values = w.as_dict()

        def first_compiled_calls() -> None:
            # The first call is the interpreter's (it checks every gate's output once);
            # the second generates and compiles.
            compiled = wl.BUILDERS[w.name](w, registry).compile()
            compiled.gradient(values)
            compiled.gradient(values)

        def interpreted_calls() -> None:
            circuit = wl.BUILDERS[w.name](w, registry)
            circuit.gradient(values)
            circuit.gradient(values)

        circuit = wl.BUILDERS[w.name](w, registry)
        gates = len(circuit.steps)
        cost = seconds(first_compiled_calls, 1) - seconds(interpreted_calls, 1)
        rows.append(f"| compile {key} (generate + compile, over two interpreted calls) | {gates:,} | {cost * 1e3:.3g} ms | "
                    f"{cost / gates * 1e6:.1f} us |")
    w = wl.dag_workload()
    start = w.as_dict()
    results = {}
    module = sys.modules["gatekit.runs"]  # the loop optimize() runs
    for label, threshold in (("interpreted", 10**9), ("compiled", 1)):
        module.COMPILE_FROM_STEPS = threshold  # type: ignore[attr-defined]
        circuit = wl.BUILDERS[w.name](w, registry)
        gc.collect()
        began = time.perf_counter()
        result = gatekit.optimize(circuit, start, "analytic-gradient", steps=200, step_size=1e-3, maximize=False,
                                  registry=registry)
        results[label] = (time.perf_counter() - began, result.best_output)
        assert result.stop_reason == "steps", (result.stop_reason, result.stop_detail)
    module.COMPILE_FROM_STEPS = 10  # type: ignore[attr-defined]
    (ti, bi), (tc, bc) = results["interpreted"], results["compiled"]
    assert abs(bi - bc) <= 1e-9 * max(1.0, abs(bi)), (bi, bc)
    rows.append(f"| optimize W3, 200 steps, interpreted | {len(wl.BUILDERS[w.name](w, registry).steps):,} | "
                f"{ti:.3g} s | |")
    rows.append(f"| optimize W3, 200 steps, compiled (compiling included) | | {tc:.3g} s | "
                f"{'faster' if tc < ti else 'slower'}: {ti / tc:.2f}x |")
    return rows


def memory_rows(registry: gatekit.Registry) -> list[str]:
    w = wl.neuron_workload(points=1_000_000)
    circuit = wl.BUILDERS[w.name](w, registry)
    compiled = circuit.compile()
    compiled.gradient(w.as_dict())
    rows = ["| W4a peak memory | peak traced | / numpy's |", "|---|---|---|"]
    peaks = {}
    for name, fn in (("numpy (tight)", lambda: ref.numpy_neuron_tight(w)),
                     ("gatekit run", lambda: wl.gatekit_run(circuit, w)),
                     ("gatekit compiled", lambda: wl.gatekit_run(compiled, w))):  # type: ignore[arg-type]
        gc.collect()
        tracemalloc.start()
        fn()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    for name, peak in peaks.items():
        ratio = peak / peaks["numpy (tight)"]
        goal = "" if name.startswith("numpy") else (" (goal <= 1.5x: met)" if ratio <= 1.5 else " (goal <= 1.5x: not met)")
        rows.append(f"| {name} | {peak / 2**20:.0f} MiB | {ratio:.2f}x{goal} |")
    return rows


class _Wire:
    """The least a builder can do per node: one tuple appended, one handle made."""

    __slots__ = ("nodes", "id")

    def __init__(self, nodes: list[tuple[Any, ...]], id: int) -> None:
        self.nodes, self.id = nodes, id

    def _op(self, name: str, other: _Wire) -> _Wire:
        self.nodes.append((name, self.id, other.id))
        return _Wire(self.nodes, len(self.nodes) - 1)

    def __mul__(self, other: _Wire) -> _Wire:
        return self._op("mul", other)

    def __add__(self, other: _Wire) -> _Wire:
        return self._op("add", other)

    def tanh(self) -> _Wire:
        self.nodes.append(("tanh", self.id))
        return _Wire(self.nodes, len(self.nodes) - 1)


def _minimal_chain_build(w: wl.Workload) -> None:
    """W2 built by the 20-line builder: what no builder of a node per operation beats."""
    nodes: list[tuple[Any, ...]] = []
    wires = [_Wire(nodes, k) for k in range(len(w.names))]
    nodes.extend(("input", name) for name in w.names)
    x, a, b = wires[0], wires[1 : w.links + 1], wires[w.links + 1 :]
    for i in range(w.links):
        x = (a[i] * x + b[i]).tanh()


def _minimal_neuron_build_run(gates: dict[str, Any], values: tuple[float, ...]) -> tuple[float, list[float]]:
    """W1 built by a minimal builder (a (gate, args) tuple per node) and run by a minimal
    tape (two loops calling gatekit's own gates): the floor of W1 build+run."""
    nodes: list[Any] = [None] * 6  # five inputs and the constant 1

    def op(name: str, *args: int) -> int:
        nodes.append((gates[name], args))
        return len(nodes) - 1

    w0, x0, w1, x1, w2, one = range(6)
    op("reciprocal", op("add", one, op("exp", op("neg", op("add", op("add", op("mul", w0, x0), op("mul", w1, x1)), w2)))))
    v: list[Any] = [*values, 1.0] + [None] * (len(nodes) - 6)
    for i in range(6, len(nodes)):
        gate, args = nodes[i]
        v[i] = gate.forward(*[v[a] for a in args])
    grad = [0.0] * len(nodes)
    grad[-1] = 1.0
    for i in range(len(nodes) - 1, 5, -1):
        gate, args = nodes[i]
        for a, share in zip(args, gate.backward(grad[i], v[i], *[v[a] for a in args])):
            grad[a] += share
    return v[-1], grad[:5]


def floor_rows(registry: gatekit.Registry) -> list[str]:
    """Minimal experiments on this machine: what no amount of tuning would beat."""
    rows = ["| experiment | time | what it shows |", "|---|---|---|"]
    w = wl.chain_workload()
    gates = 3 * w.links
    t_min = seconds(lambda: _minimal_chain_build(w), 5) / (gates + len(w.names))
    t_real = seconds(lambda: wl.BUILDERS[w.name](w, registry), 5) / (gates + len(w.names))
    rows.append(f"| W2 built by a 20-line operator-overloading builder (a tuple per node) | {t_min * 1e6:.2f} us per node "
                f"| gatekit's Composer + build: {t_real * 1e6:.2f} us per node ({t_real / t_min:.1f}x the floor) |")
    sizes = [wl.chain_workload(links=n) for n in (1_000, 10_000, 100_000)]
    per_node = [seconds(lambda: _minimal_chain_build(s), 3) / (3 * s.links + len(s.names)) for s in sizes]
    rows.append(f"| the same builder on W2 at 1k / 10k / 100k links | "
                f"{' / '.join(f'{t * 1e6:.2f}' for t in per_node)} us per node | its own spread, largest / smallest: "
                f"{max(per_node) / min(per_node):.2f}x (gatekit's is in the scaling table) |")
    n1 = wl.neuron_workload()
    neuron_gates = {name: registry.gate(name) for name in ("mul", "add", "neg", "exp", "reciprocal")}
    floor_out = _minimal_neuron_build_run(neuron_gates, n1.values)
    assert floor_out[0] == 0.7310585786300049, floor_out  # reference-numbers.md section 4
    calls = 1000
    t_floor = seconds(lambda: [_minimal_neuron_build_run(neuron_gates, n1.values) for _ in range(calls)], 5) / calls
    t_micro = seconds(lambda: [ref.micrograd_neuron(*n1.values) for _ in range(calls)], 5) / calls
    t_gk = seconds(lambda: [wl.gatekit_build_run(n1, registry) for _ in range(calls)], 5) / calls
    rows.append(f"| W1 built by a minimal builder and run by a minimal two-loop tape, gatekit's gates | "
                f"{t_floor * 1e6:.1f} us per call | {t_floor / t_micro:.2f}x micrograd ({t_micro * 1e6:.1f} us) in the same "
                f"minute; gatekit build+run {t_gk * 1e6:.1f} us ({t_gk / t_micro:.2f}x) |")
    n1 = wl.neuron_workload()
    circuit = wl.BUILDERS[n1.name](n1, registry)
    compiled = circuit.compile()
    positional = compiled._function(False)  # the generated function itself, no dict in or out
    xs = [n1.as_dict()[k] for k in circuit.inputs]
    t_pos = seconds(lambda: [positional(*xs) for _ in range(1000)], 5) / 1000
    t_ref = seconds(lambda: [ref.python_neuron(*n1.values) for _ in range(1000)], 5) / 1000
    values = n1.as_dict()
    compiled.gradient(values)
    compiled.gradient(values)  # the second call installs the dict function
    t_dict = seconds(lambda: [compiled.gradient(values) for _ in range(1000)], 5) / 1000
    rows.append(f"| W1: the generated function called with positional floats | {t_pos * 1e9:.0f} ns per call | "
                f"{t_pos / t_ref:.2f}x the hand-written Python ({t_ref * 1e9:.0f} ns); through "
                f"`compiled.gradient(dict)`: {t_dict * 1e9:.0f} ns ({t_dict / t_ref:.2f}x) |")
    chain = wl.BUILDERS[w.name](w, registry).compile()
    chain_values = w.as_dict()
    chain.gradient(chain_values)
    chain.gradient(chain_values)
    t_ref, t_api, t_dict = round_robin([lambda: ref.python_chain(w), lambda: ref.python_chain_dicts(w, chain_values),
                                        lambda: chain.gradient(chain_values)], 11)
    rows.append(f"| W2: the hand-written loop, taking a dict of the 20,001 inputs and giving a dict of their gradients "
                f"(what `gradient` must do) | {t_api * 1e3:.2f} ms per run | {t_api / t_ref:.2f}x the hand-written loop "
                f"({t_ref * 1e3:.2f} ms); `compiled.gradient(dict)` (a loop, generated): {t_dict * 1e3:.2f} ms "
                f"({t_dict / t_ref:.2f}x) |")
    dag = wl.dag_workload()
    dag_circuit = wl.BUILDERS[dag.name](dag, registry)
    dag_values = dag.as_dict()
    t_min, t_run, t_micro = round_robin([lambda: minimal_interpreter(dag_circuit, dag_values),
                                         lambda: dag_circuit.gradient(dag_values), lambda: ref.micrograd_dag(dag)], 11)
    rows.append(f"| W3: a minimal interpreter of our own (two loops over the tape, the gates' own methods, no checks) "
                f"| {t_min * 1e3:.2f} ms per run | 1/{t_micro / t_min:.1f} of micrograd ({t_micro * 1e3:.1f} ms); "
                f"gatekit run: 1/{t_micro / t_run:.1f}; the hand-written Python: see W3's row |")
    big = wl.neuron_workload(points=1_000_000)
    neuron = wl.BUILDERS[big.name](big, registry)
    big_values = big.as_dict()
    t_tight, t_gates, t_run = round_robin([lambda: ref.numpy_neuron_tight(big), lambda: neuron_by_hand(neuron, big_values),
                                           lambda: neuron.gradient(big_values)], 11)
    rows.append(f"| W4a: the eight gates' own forward and backward methods called by hand in order (no engine) | "
                f"{t_gates * 1e3:.2f} ms per run | {t_gates / t_tight:.2f}x the tight numpy ({t_tight * 1e3:.2f} ms); "
                f"gatekit run: {t_run / t_tight:.2f}x |")
    return rows


def round_robin(fns: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median seconds of each of ``fns``, timed in turn (each round from a collected heap)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            gc.collect()
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def _inputs_and_constants(circuit: gatekit.Circuit, values: dict[str, Any]) -> list[Any]:
    """A value slot per node, the inputs' and constants' filled in (the floors' common start)."""
    v: list[Any] = [None] * len(circuit.nodes)
    for name, i in circuit.input_ids.items():
        v[i] = values[name]
    for i, value in circuit.constants:
        v[i] = value
    return v


def minimal_interpreter(circuit: gatekit.Circuit, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The least an interpreter of gatekit's tape does: a forward loop and a backward loop."""
    v = _inputs_and_constants(circuit, values)
    for i, fwd, _, a, b, _ in circuit.steps:
        v[i] = fwd(v[a], v[b]) if b >= 0 else fwd(v[a])
    g = [0.0] * len(circuit.nodes)
    g[circuit.output] = 1.0
    for i, _, bwd, a, b, _ in circuit.reversed_steps:
        if b >= 0:
            ga, gb = bwd(g[i], v[i], v[a], v[b])
            g[a] += ga
            g[b] += gb
        else:
            (ga,) = bwd(g[i], v[i], v[a])
            g[a] += ga
    return v[circuit.output], {name: g[i] for name, i in circuit.input_ids.items()}


def neuron_by_hand(circuit: gatekit.Circuit, values: dict[str, Any]) -> tuple[Any, list[Any]]:
    """W4a with each gate's forward and backward called in order, nothing else (the steps'
    methods, so exactly the gates' arithmetic)."""
    v = _inputs_and_constants(circuit, values)
    for i, fwd, _, a, b, args in circuit.steps:
        v[i] = fwd(*[v[k] for k in args])
    g: list[Any] = [None] * len(circuit.nodes)
    g[circuit.output] = np.ones_like(v[circuit.output])  # the engine's seed: the output's shape
    for i, _, bwd, _, _, args in circuit.reversed_steps:
        for k, share in zip(args, bwd(g[i], v[i], *[v[k] for k in args])):
            g[k] = share if g[k] is None else g[k] + share
    return v[circuit.output], [g[i] for i in circuit.input_ids.values()]
