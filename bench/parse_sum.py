"""Parsing a long flat sum (issue #10 item 8): time and peak memory, each in a fresh process.

    python bench/parse_sum.py               # 10^6 terms, three runs, printed as a table row
    python bench/parse_sum.py --terms 1e5   # smaller

Each run is a new interpreter that imports gatekit and numpy, makes the text
``x + x + ... + x`` and then times ``gatekit.parse(text)`` (text to built circuit).
Peak memory is measured twice, in separate processes: the kernel's peak resident set
(``ru_maxrss``, the whole process: interpreter, numpy, the text and the circuit) and
tracemalloc's peak of what Python allocated during the parse (tracemalloc slows the
parse, so that run is not timed). Goal: <= 5 s and <= 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, tracemalloc
import gatekit
n, traced = int(sys.argv[1]), sys.argv[2] == "traced"
registry = gatekit.default_registry()
gatekit.parse("x + 1", registry)  # imports and first-use costs out of the way
text = " + ".join(["x"] * n)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if traced:
    tracemalloc.start()
start = time.perf_counter()
circuit = gatekit.parse(text, registry)
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1] if traced else 0
assert len(circuit.steps) == n - 1 and circuit.inputs == ("x",)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "traced": peak, "rss": rss, "rss_before": base}))
"""


def child(n: int, traced: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), "traced" if traced else "plain"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=float, default=1e6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    n = int(args.terms)
    plain = [child(n, False) for _ in range(args.runs)]
    traced = child(n, True)
    times = sorted(r["seconds"] for r in plain)
    rss = sorted(r["rss"] / 1e6 for r in plain)
    print(f"| {n:,}-term sum, parse() to a built circuit | {times[0]:.2f}-{times[-1]:.2f} s ({len(times)} runs) "
          f"| peak RSS {rss[0]:.0f}-{rss[-1]:.0f} MB (process; {plain[0]['rss_before'] / 1e6:.0f} MB before the parse) "
          f"| tracemalloc peak {traced['traced'] / 1e6:.0f} MB | goal <= 5 s, <= 300 MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
