"""Run gatekit's benchmarks against their references and record the results.

    python bench/run.py               # check, time, print tables, update bench/RESULTS.md
    python bench/run.py --no-record   # the same, RESULTS.md untouched
    python bench/run.py --profile W3  # where gatekit's time goes in one workload (cProfile)
    python bench/run.py --scale 0.1   # a quick smoke run on smaller workloads (not recorded)

Every implementation is first checked to give the same output and the same input
gradients as the first reference (the script stops if one does not). Then all of a
workload's implementations are timed in the same run, in turn, round after round (so
a change in machine load hits them alike), and the median is kept. Each timed sample
starts from a collected heap; the garbage collector stays on while it runs, as it is
for users. The whole run takes well under a minute on an idle two-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import extra  # noqa: E402
import references as ref  # noqa: E402
import workloads as wl  # noqa: E402
from machine import machine_info  # noqa: E402

import gatekit  # noqa: E402

#: reference-numbers.md section 4: f, then the gradients for w0, x0, w1, x1, w2.
LESSON_NEURON = (0.7310585786300049, [-0.19661193324148188, 0.39322386648296376, -0.39322386648296376,
                                      -0.5898357997244457, 0.19661193324148188])
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BUILD_RUN, RUN, COMPILED = "gatekit build+run", "gatekit run", "gatekit compiled"
#: ``compiled.gradient_list(xs)``: the inputs as a list, the gradients as one (as the references take and give them).
COMPILED_LIST = "gatekit compiled, list call"
COLUMNS = (BUILD_RUN, RUN, COMPILED, COMPILED_LIST, "micrograd", "Python floats", "numpy")

Result = tuple[Any, list[Any]]


@dataclass
class Case:
    """One workload: every implementation of it, and the target gatekit must meet."""

    key: str
    what: str
    impls: dict[str, Callable[[], Result]]
    #: (gatekit timing, reference, most allowed time / reference time, how the goal reads)
    targets: list[tuple[str, str, float, str]]
    inner: int = 1  # calls per timed sample (many for microsecond workloads)
    names: tuple[str, ...] = ()  # the inputs, in the order the references give gradients
    expected: Result | None = None  # known figures, checked as well
    medians: dict[str, float] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return "call" if self.inner > 1 else "run"


def build_cases(scale: float) -> list[Case]:
    """The five workloads and their implementations. ``scale`` < 1 shrinks them."""
    registry = gatekit.default_registry()

    def size(n: int, least: int) -> int:
        return max(least, int(n * scale))

    w1 = wl.neuron_workload()
    w2 = wl.chain_workload(links=size(10_000, 10))
    w3 = wl.dag_workload(gates=size(5_000, 200))
    w4a = wl.neuron_workload(points=size(1_000_000, 1000))
    w4b = wl.dag_workload(gates=size(5_000, 200), points=size(10_000, 100))

    def gatekit_impls(w: wl.Workload) -> dict[str, Callable[[], Result]]:
        circuit = wl.BUILDERS[w.name](w, registry)  # built once, for the "run" timings
        compiled = circuit.compile()
        values = w.as_dict()  # the inputs as a caller holds them, made once (as the references' are)
        compiled.gradient(values)  # compiled before timing: its cost is measured apart
        impls = {
            BUILD_RUN: lambda: wl.gatekit_build_run(w, registry),
            RUN: lambda: circuit.gradient(values),  # type: ignore[return-value]
            COMPILED: lambda: compiled.gradient(values),  # type: ignore[return-value]
        }
        # Scalar workloads: the call that takes and gives lists, as the references do (where the
        # circuit reads every input: a scaled-down DAG leaves some out, and its list is shorter).
        if all(isinstance(v, float) for v in w.values) and circuit.inputs == w.names:
            xs = list(values.values())
            compiled.gradient_list(xs)
            impls[COMPILED_LIST] = lambda: compiled.gradient_list(xs)
        return impls

    p1 = w1.values
    return [
        Case("W1", "the lesson's neuron, 8 gates, scalar", {
            **gatekit_impls(w1),
            "micrograd": lambda: ref.micrograd_neuron(*p1),
            "Python floats": lambda: ref.python_neuron(*p1),
        }, [(RUN, "micrograd", 1 / 4, "<= 1/4"), (COMPILED, "Python floats", 2.0, "<= 2x"),
            (COMPILED_LIST, "Python floats", 2.0, "<= 2x"), (BUILD_RUN, "micrograd", 1 / 2, "<= 1/2")], inner=300, expected=LESSON_NEURON, names=w1.names),
        Case("W2", f"tanh chain, {w2.links:,} links", {
            **gatekit_impls(w2),
            "micrograd": lambda: ref.micrograd_chain(w2),
            "Python floats": lambda: ref.python_chain(w2),
        }, [(BUILD_RUN, "micrograd", 1 / 3, "<= 1/3"), (RUN, "micrograd", 1 / 15, "<= 1/15"),
            (COMPILED, "Python floats", 1.5, "<= 1.5x"), (COMPILED_LIST, "Python floats", 1.5, "<= 1.5x")], names=w2.names),
        Case("W3", f"random DAG, {len(w3.ops):,} gates", {
            **gatekit_impls(w3),
            "micrograd": lambda: ref.micrograd_dag(w3),
            "Python floats": lambda: ref.python_dag(w3),
        }, [(BUILD_RUN, "micrograd", 1 / 3, "<= 1/3"), (RUN, "micrograd", 1 / 15, "<= 1/15"),
            (COMPILED, "Python floats", 1.5, "<= 1.5x"), (COMPILED_LIST, "Python floats", 1.5, "<= 1.5x")], names=w3.names),
        Case("W4a", f"neuron, {w4a.values[0].size:,} points", {
            **gatekit_impls(w4a),
            "numpy": lambda: ref.numpy_neuron_tight(w4a),
        }, [(RUN, "numpy", 1.2, "<= 1.2x"), (COMPILED, "numpy", 1.2, "<= 1.2x")], names=w4a.names),
        Case("W4b", f"W3's DAG, {w4b.values[0].size:,} points", {
            **gatekit_impls(w4b),
            "numpy": lambda: ref.numpy_dag(w4b),
        }, [(RUN, "numpy", 1.1, "<= 1.1x"), (COMPILED, "numpy", 1.1, "<= 1.1x")], names=w4b.names),
    ]


# -- checking ----------------------------------------------------------------------------------

def close(what: str, got: Any, want: Any, rtol: float = 1e-9) -> None:
    """Stop unless ``got`` and ``want`` agree everywhere, relative to the largest magnitude."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert np.all(np.isfinite(want)), f"{what}: the reference is not finite"
    scale = max(1.0, float(np.max(np.abs(want))))
    worst = float(np.max(np.abs(got - want)))
    assert worst <= rtol * scale, f"{what}: differs by {worst:.3g} (largest magnitude {scale:.3g})"


def check(case: Case) -> None:
    """Every implementation gives the reference's output and input gradients."""
    names = case.names
    results = {}
    for name, fn in case.impls.items():
        out, grads = fn()
        # An input the output never reads (small scaled DAGs) has no entry: its gradient is 0.
        results[name] = (out, [grads.get(n, 0.0) for n in names] if isinstance(grads, dict) else grads)
    want_name = "Python floats" if "Python floats" in results else "numpy"
    if case.expected is not None:
        results = {"reference-numbers.md": case.expected, **results}
        want_name = "reference-numbers.md"
    want_out, want_grads = results[want_name]
    for name, (out, grads) in results.items():
        close(f"{case.key}: {name}'s output vs {want_name}'s", out, want_out)
        assert len(grads) == len(want_grads), f"{case.key}: {name} gave {len(grads)} gradients"
        close(f"{case.key}: {name}'s gradients vs {want_name}'s", np.stack([np.broadcast_to(np.asarray(g, float), np.shape(w))
                                                                            for g, w in zip(grads, want_grads)]),
              np.stack([np.asarray(g, float) for g in want_grads]))


# -- timing ------------------------------------------------------------------------------------

def sample(fn: Callable[[], Any], inner: int) -> float:
    """Seconds per call of ``fn``, from one sample of ``inner`` calls."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def time_case(case: Case, repeats: int) -> None:
    """Median seconds per call of every implementation, sampled round-robin.

    Each round starts with a different implementation: what ran just before (the
    memory it freed, the caches it filled) otherwise favours one of them every time.
    """
    names = list(case.impls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(sample(case.impls[name], case.inner))
    case.medians = {name: statistics.median(ts) for name, ts in times.items()}


def profile(case: Case) -> None:
    """cProfile of the gatekit timing the first target applies to, heaviest functions first."""
    fn = case.impls[case.targets[0][0]]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(case.inner):
        fn()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


# -- reporting ---------------------------------------------------------------------------------

def fmt_time(seconds: float) -> str:
    for unit, factor in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if seconds >= 1 / factor:
            return f"{seconds * factor:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def fmt_ratio(ratio: float) -> str:
    return f"1/{1 / ratio:.1f}" if ratio < 1 else f"{ratio:.2f}x"


def tables(cases: list[Case]) -> str:
    """Markdown: every median, then each target against what gatekit reached."""
    rows = ["| workload | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for case in cases:
        cells = [f"{fmt_time(case.medians[c])}/{case.unit}" if c in case.medians else "-" for c in COLUMNS]
        rows.append(f"| {case.key}: {case.what} | " + " | ".join(cells) + " |")
    rows += ["", "| goal | reached | met |", "|---|---|---|"]
    for case in cases:
        for impl, reference, most, text in case.targets:
            if impl not in case.medians:
                continue  # not timed in this run (the list call of a scaled-down DAG)
            ratio = case.medians[impl] / case.medians[reference]
            met = "yes" if ratio <= most else "no"
            rows.append(f"| {case.key} {impl}: {text} {reference} | {fmt_ratio(ratio)} | {met} |")
    return "\n".join(rows)


def record(path: Path, block: str) -> None:
    """Replace the generated block of RESULTS.md; the prose around it stays."""
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed samples per implementation (median kept)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the workloads (smoke runs; not recorded)")
    parser.add_argument("--no-record", action="store_true", help="leave bench/RESULTS.md as it is")
    parser.add_argument("--no-extras", action="store_true", help="skip W5, scaling, compiling and memory")
    parser.add_argument("--profile", metavar="W", help="profile gatekit on one workload (W1, W2, W3, W4a, W4b)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    info = machine_info()
    cases = build_cases(args.scale)
    if args.profile:
        profile(next(c for c in cases if c.key == args.profile))
        return 0
    for case in cases:
        check(case)
    print("checked: every implementation gives the same output and input gradients", flush=True)
    for case in cases:
        time_case(case, args.repeats)
        print(f"timed {case.key}", flush=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    info["run"] = (f"{args.repeats} samples per implementation (median), {time.perf_counter() - started:.0f} s "
                   f"in all, CPU {usage.ru_utime:.0f} s user + {usage.ru_stime:.0f} s system"
                   + ("" if args.scale == 1.0 else f", workloads scaled by {args.scale}"))
    extras = ""
    if not args.no_extras:
        registry = gatekit.default_registry()
        sections = [("W5: analytic against numerical gradient", extra.w5_rows(registry, args.repeats)),
                    ("scaling (interpreted; compiled run for comparison)", extra.scaling_rows(registry)),
                    ("compiling", extra.compile_rows(registry)),
                    ("memory", extra.memory_rows(registry)),
                    ("floors (minimal experiments on the same machine)", extra.floor_rows(registry))]
        extras = "".join(f"\n\n{title}:\n\n" + "\n".join(rows) for title, rows in sections)
        print("timed W5, scaling, compiling, memory", flush=True)
    info["load after"] = machine_info(load_only=True)["load"]
    block = "\n".join(f"- {k}: {v}" for k, v in info.items()) + "\n\n" + tables(cases) + extras
    print("\n" + tables(cases) + extras)
    if not args.no_record and args.scale == 1.0:
        record(HERE / "RESULTS.md", block)
        print(f"\nrecorded in {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
