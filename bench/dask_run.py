"""The neuron over many points with gatekit.dask, against gatekit on numpy; peak memory of the process tree.

    python bench/dask_run.py                 # 1e6 side by side, then 1e8 with dask; prints a Markdown section
    python bench/dask_run.py --points 1e7    # a smaller large run (a quick look)

1. At 1e6 points: the neuron's value and its five input gradients (x0, x1 per point;
   w0, w1, w2 shared, so summed) with gatekit on numpy arrays (``circuit.gradient``),
   with gatekit.dask on a local cluster (2 workers of 1 thread, in this process), each
   with the engine itself on those dask arrays (a lazy graph of the gates' own dask
   operations) and on array-api-strict arrays: each checked against numpy to 1e-12
   first, then all timed in turn (median of 7). ``--side-by-side`` runs this part alone.
2. At 1e8 points (3.2 GB of inputs and 4.8 GB of per-point results, far beyond the
   1 GB budget): inputs are generated chunk by chunk by dask (seeded), every chunk goes
   forward and backward, and the per-point results are reduced (sums, min/max) as they
   are made, so no whole array ever exists. The peak resident memory of this process
   and every child is sampled every 20 ms (psutil) and the kernel's peak (ru_maxrss) is
   read too.

Targets (issue 14): peak memory <= 1 GB at 1e8; dask's time per point at 1e8 >= 1/3
of numpy's throughput at 1e6 (that is, at most 3x its time per point).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import array_api_strict as xp  # noqa: E402
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import psutil  # noqa: E402
from machine import machine_info  # noqa: E402

import gatekit  # noqa: E402
import gatekit.dask as gd  # noqa: E402

NEURON = "sigmoid(w0 * x0 + w1 * x1 + w2)"
WEIGHTS = {"w0": 2.0, "w1": -3.0, "w2": -3.0}
CHUNK = 1_000_000


class PeakMemory:
    """The largest sum of RSS over this process and its children, sampled on a thread."""

    def __init__(self, every: float = 0.02):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def summaries(circuit, values, chunks):
    """Every result reduced as it is made: the output's and x-gradients' sums, the shared gradients."""
    out, grads = gd.gradient(circuit, values, chunks=chunks)
    return [out.sum(), out.min(), out.max(), grads["x0"].sum(), grads["x1"].sum(),
            grads["w0"], grads["w1"], grads["w2"]]


def side_by_side(circuit, n: int, repeats: int) -> dict[str, float]:
    """Time per point of each way to run the neuron at ``n`` points, each checked against numpy first."""
    rng = np.random.default_rng(1)
    x0, x1 = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    chunked = {"x0": da.from_array(x0, chunks=n // 4), "x1": da.from_array(x1, chunks=n // 4)}
    strict = {"x0": xp.asarray(x0), "x1": xp.asarray(x1)}

    def numpy_run():
        return circuit.gradient(x0=x0, x1=x1, **WEIGHTS)

    def dask_run():  # gatekit.dask: one numpy engine pass a chunk
        return dask.compute(*gd.gradient(circuit, {**chunked, **WEIGHTS}))

    def dask_engine_run():  # the engine on dask arrays: a lazy graph of the gates' dask operations
        return dask.compute(*circuit.gradient({**chunked, **WEIGHTS}))

    def strict_run():  # the engine on array-api-strict arrays (the standard alone, on numpy underneath)
        return circuit.gradient({**strict, **WEIGHTS})

    runs = {"numpy": numpy_run, "dask": dask_run, "dask-engine": dask_engine_run, "array-api-strict": strict_run}
    want_out, want = numpy_run()
    for name, run in runs.items():
        got_out, got = run()
        np.testing.assert_allclose(np.asarray(got_out), want_out, rtol=1e-12, atol=1e-12, err_msg=name)
        for key in circuit.inputs:
            np.testing.assert_allclose(np.asarray(got[key]), want[key], rtol=1e-12, atol=1e-12, err_msg=name)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) / n for name, ts in times.items()}


def large(circuit, n: int) -> tuple[float, int, int, list[float]]:
    rng = da.random.default_rng(0)
    x0 = rng.uniform(-3, 3, n, chunks=CHUNK)
    x1 = rng.uniform(-3, 3, n, chunks=CHUNK)
    wanted = summaries(circuit, {"x0": x0, "x1": x1, **WEIGHTS}, CHUNK)
    gc.collect()
    with PeakMemory() as peak:
        start = time.perf_counter()
        results = dask.compute(*wanted)
        seconds = time.perf_counter() - start
    kernel_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return seconds, peak.peak, kernel_peak, [float(r) for r in results]


def _machine_lines(info: dict[str, str]) -> list[str]:
    return [
        f"- date: {info['date']}; CPU: {info['CPU']}; cores: {info['cores']}; memory: {info['memory']}",
        f"- load before: {info['load before']}; after: {machine_info(load_only=True)['load']}",
        f"- Python {info['Python']}, numpy {np.__version__}, dask {dask.__version__}, "
        f"distributed {__import__('distributed').__version__}, array-api-strict {xp.__version__}, "
        f"gatekit {info['gatekit']}",
        "- cluster: LocalCluster, 2 workers x 1 thread, in this process (processes=False), memory_limit 1 GiB",
    ]


ROWS = (
    ("numpy", "gatekit on numpy (`circuit.gradient`)"),
    ("dask", "gatekit.dask, 4 chunks, local cluster (a numpy engine pass a chunk)"),
    ("dask-engine", "`circuit.gradient` on the same dask arrays (the gates' dask operations, lazy)"),
    ("array-api-strict", "`circuit.gradient` on array-api-strict arrays"),
)


def _side_by_side_lines(per_point: dict[str, float], after: dict[str, float] | None) -> list[str]:
    """The 1e6 table: each way's time a point, and its ratio to numpy's in the same round."""
    lines = ["| 1e6 points, value + 5 input gradients | time per point | x numpy's | points per second |",
             "|---|---|---|---|"]
    for key, label in ROWS:
        again = f" (after the large run: {after[key] * 1e9:.1f} ns)" if after else ""
        lines.append(f"| {label} | {per_point[key] * 1e9:.1f} ns{again} | {per_point[key] / per_point['numpy']:.2f} | "
                     f"{1 / per_point[key]:.3g} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=float, default=1e8, help="points of the large run (default 1e8)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--side-by-side", action="store_true", help="only the 1e6 side by side (seconds, not a minute)")
    args = parser.parse_args()
    # The 1e6 side-by-side ships its numpy inputs inside the graph, as a user's in-memory data would be.
    warnings.filterwarnings("ignore", message="Sending large graph")
    circuit = gatekit.parse(NEURON)
    info = machine_info()
    before = psutil.Process().memory_info().rss
    with gd.client(workers=2, threads=1, memory_limit="1GiB") as client:
        per_point = side_by_side(circuit, 1_000_000, args.repeats)
        if args.side_by_side:
            print("\n".join(_machine_lines(info) + [""] + _side_by_side_lines(per_point, None)))
            return
        client.run(gc.collect)
        n = int(args.points)
        seconds, peak, kernel_peak, results = large(circuit, n)
        after = side_by_side(circuit, 1_000_000, args.repeats)  # the machine is shared: time numpy again
    numpy_per_point = min(per_point["numpy"], after["numpy"])
    ratio = (seconds / n) / numpy_per_point
    lines = _machine_lines(info) + [""] + _side_by_side_lines(per_point, after) + [
        "",
        f"| {n:.0e} points, value + 5 input gradients, dask | measured | target | met |",
        "|---|---|---|---|",
        f"| wall time | {seconds:.1f} s ({seconds / n * 1e9:.1f} ns a point, {ratio:.2f}x numpy's at 1e6) | "
        f"<= 3x numpy's time a point (the faster of its two 1e6 timings) | {'yes' if ratio <= 3 else 'no'} |",
        f"| peak RSS of the process tree (sampled) | {peak / 2**20:.0f} MiB (at start {before / 2**20:.0f} MiB) | "
        f"<= 1 GB | {'yes' if peak <= 1e9 else 'no'} |",
        f"| peak RSS (kernel, ru_maxrss, whole run incl. the 1e6 part) | {kernel_peak / 2**20:.0f} MiB | - | - |",
        "",
        f"- results: sum of outputs {results[0]:.10g}, min {results[1]:.6g}, max {results[2]:.6g}; "
        f"d(sum)/dw0 {results[5]:.10g}, d(sum)/dw1 {results[6]:.10g}, d(sum)/dw2 {results[7]:.10g}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
