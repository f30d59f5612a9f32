"""The benchmark workloads: their fixed data, and each one built and run with gatekit.

Every workload is pure data first (a :class:`Workload`: input names, input values,
and what to compute), so the references in ``references.py`` and gatekit read the
same numbers. Every runner returns ``(output, [gradient of each input, in order])``
and does everything a caller would: build the graph, run forward, run backward,
collect the input gradients.

- W1, the lesson's neuron (reference-numbers.md section 4), eight gates:
  ``f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))`` as mul, mul, add, add, neg, exp,
  add 1, reciprocal.
- W2, a chain of links ``x = tanh(a_i * x + b_i)``; the a_i and b_i are inputs
  (parameters), so backward yields 2 * links + 1 gradients.
- W3, a random DAG of 5,000 gates over 100 inputs: mul, add and max of two earlier
  nodes and ``exp(0.05 * a)`` of one; the output is the sum of the last 100 nodes.
  Every gate reaches the output and every value stays bounded (see :func:`dag_ops`).
  Seeded, so every run builds the same DAG.
- W4a / W4b: W1 / W3 with every input an array of points.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit import Circuit, Composer, Registry

__all__ = [
    "Workload",
    "neuron_workload",
    "chain_workload",
    "dag_workload",
    "dag_ops",
    "EXP_SCALE",
    "DAG_BOUND",
    "BUILDERS",
    "gatekit_run",
    "gatekit_build_run",
]

#: The point of reference-numbers.md section 4.
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
#: W3's "exp" gates compute exp(EXP_SCALE * a).
EXP_SCALE = 0.05
#: Every W3 value stays within +-DAG_BOUND (e**(EXP_SCALE * DAG_BOUND) is below it too).
DAG_BOUND = 50.0


@dataclass(frozen=True)
class Workload:
    """One benchmark's data: named inputs (floats or arrays) and its shape parameters."""

    name: str
    names: tuple[str, ...]
    values: tuple[Any, ...]
    #: W2: the number of links. W3/W4b: (op, a, b) per DAG node; ids count inputs first.
    links: int = 0
    ops: tuple[tuple[str, int, int], ...] = ()
    summed: int = 0  # W3: how many of the last nodes are added up for the output

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(self.names, self.values))


def neuron_workload(points: int | None = None, seed: int = 1) -> Workload:
    """W1 at the lesson's point (``points=None``), or W4a at ``points`` random points."""
    names = tuple(NEURON_POINT)
    if points is None:
        return Workload("neuron", names, tuple(NEURON_POINT.values()))
    rng = np.random.default_rng(seed)
    return Workload("neuron", names, tuple(rng.uniform(-3.0, 3.0, points) for _ in names))


def chain_workload(links: int = 10_000, seed: int = 2) -> Workload:
    """W2: inputs x, a0..a{links-1}, b0..b{links-1}."""
    r = random.Random(seed)
    a = [r.uniform(0.5, 1.5) for _ in range(links)]
    b = [r.uniform(-0.5, 0.5) for _ in range(links)]
    names = ("x",) + tuple(f"a{i}" for i in range(links)) + tuple(f"b{i}" for i in range(links))
    return Workload("chain", names, (0.5, *a, *b), links=links)


def dag_ops(gates: int, inputs: int, summed: int, rng: random.Random) -> tuple[tuple[str, int, int], ...]:
    """A random DAG in which every gate reaches the output, and every value stays in [-50, 50].

    Wiring, from the output down: the last ``summed`` gates are the output's; each
    gate below feeds the oldest argument slot still waiting for a source (which keeps
    the DAG shallow) and, half the time, one more slot chosen at random (fan-out).
    Slots left over take random inputs. Drawing arguments uniformly from all earlier
    nodes instead leaves most gates unreachable (gatekit would drop them, micrograd
    would still compute them) and lets mul chains overflow.

    Kinds, from the inputs up: a quarter of the gates (the one-slot ones) are
    ``exp(0.05 * a)``; the rest mul, add or max at random, except that a mul or add
    whose worst case over inputs in [-1, 1] would pass DAG_BOUND becomes a max.
    """
    slot_counts = [1 if rng.randrange(4) == 0 else 2 for _ in range(gates)]
    args = [[-1, -1] for _ in range(gates)]
    waiting: deque[tuple[int, int]] = deque()  # (gate, argument position) without a source
    for j in range(gates - 1, -1, -1):
        if j < gates - summed:
            g, k = waiting.popleft()
            args[g][k] = inputs + j
            if waiting and rng.random() < 0.5:
                pick = rng.randrange(len(waiting))
                g, k = waiting[pick]
                del waiting[pick]
                args[g][k] = inputs + j
        waiting.extend((j, k) for k in range(slot_counts[j]))
    for g, k in waiting:
        args[g][k] = rng.randrange(inputs)
    bound = [1.0] * inputs  # the largest |value| each node can take for inputs in [-1, 1]
    ops = []
    for j, (a, b) in enumerate(args):
        if slot_counts[j] == 1:
            ops.append(("exp", a, -1))
            bound.append(math.exp(EXP_SCALE * bound[a]))
            continue
        op = ("mul", "add", "max")[rng.randrange(3)]
        worst = {"mul": bound[a] * bound[b], "add": bound[a] + bound[b], "max": max(bound[a], bound[b])}
        if worst[op] > DAG_BOUND:
            op = "max"
        ops.append((op, a, b))
        bound.append(worst[op])
    return tuple(ops)


def dag_workload(gates: int = 5_000, inputs: int = 100, summed: int = 100, points: int | None = None,
                 seed: int = 0) -> Workload:
    """W3 (scalar inputs) or W4b (``points`` random points per input): the same DAG for a seed."""
    rng = random.Random(seed)
    ops = dag_ops(gates, inputs, summed, rng)
    names = tuple(f"x{i}" for i in range(inputs))
    if points is None:
        values: tuple[Any, ...] = tuple(rng.uniform(-1.0, 1.0) for _ in names)
    else:
        generator = np.random.default_rng(seed)
        values = tuple(generator.uniform(-1.0, 1.0, points) for _ in names)
    return Workload("dag", names, values, ops=ops, summed=summed)


# -- gatekit ------------------------------------------------------------------------------
# Written the way a user writes them: operators and gates by name on a Composer.

def gatekit_neuron_circuit(w: Workload, registry: Registry | None = None) -> Circuit:
    """W1 / W4a: the eight gates of reference-numbers.md section 4."""
    c = Composer(registry)
    w0, x0, w1, x1, w2 = c.inputs(*w.names)
    mult1 = w0 * x0
    mult2 = w1 * x1
    add1 = mult1 + mult2
    add2 = add1 + w2
    neg = -add2
    exp1 = c.exp(neg)
    add3 = 1 + exp1
    return c.build(c.reciprocal(add3))


def gatekit_chain_circuit(w: Workload, registry: Registry | None = None) -> Circuit:
    """W2: ``x = tanh(a_i * x + b_i)``, three gates a link."""
    c = Composer(registry)
    wires = c.inputs(*w.names)
    x, a, b = wires[0], wires[1 : w.links + 1], wires[w.links + 1 :]
    for i in range(w.links):
        x = c.tanh(a[i] * x + b[i])
    return c.build(x)


def gatekit_dag_circuit(w: Workload, registry: Registry | None = None) -> Circuit:
    """W3 / W4b: the DAG's gates (exp's scaling is a mul by a constant), then 99 adds."""
    c = Composer(registry)
    v = list(c.inputs(*w.names))
    for op, a, b in w.ops:
        if op == "mul":
            v.append(v[a] * v[b])
        elif op == "add":
            v.append(v[a] + v[b])
        elif op == "max":
            v.append(c.max(v[a], v[b]))
        else:
            v.append(c.exp(EXP_SCALE * v[a]))
    last = v[-w.summed :]
    total = last[0]
    for wire in last[1:]:
        total = total + wire
    return c.build(total)


BUILDERS: dict[str, Callable[[Workload, Registry | None], Circuit]] = {
    "neuron": gatekit_neuron_circuit,
    "chain": gatekit_chain_circuit,
    "dag": gatekit_dag_circuit,
}


def gatekit_run(circuit: Circuit, w: Workload) -> tuple[Any, list[Any]]:
    """One call of a built circuit: forward, backward, the input gradients."""
    output, grads = circuit.gradient(w.as_dict())
    # An input the output never reads is left out of the circuit (small scaled DAGs have
    # some): its gradient is zero, as the references give it.
    return output, [grads[n] if n in grads else 0.0 * v for n, v in zip(w.names, w.values)]


def gatekit_build_run(w: Workload, registry: Registry | None = None) -> tuple[Any, list[Any]]:
    """The whole job: compose the circuit, build (and compile) it, then run it once."""
    return gatekit_run(BUILDERS[w.name](w, registry), w)
