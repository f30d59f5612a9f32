"""Why a gradient is what it is: shares on wires, and sums over paths.

A *wire* runs from a node into argument ``k`` of a gate node. Backward, the gate sends
each argument a *share*: its local gradient times the gate's own (upstream) gradient.
A node used by several gates (a fork) gets the sum of the shares of its wires::

    dx = dq/dx * df/dq = 1 * -4 = -4

Unrolled all the way, an input's gradient is a sum over every path from it to the
output, each path the product of the local gradients along it. Paths can be
exponentially many, so :func:`paths` lists a bounded number and counts the rest.

Everything here reads a trace; nothing recurses (depth is the user's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .broadcast import reduce_gradient, zero_gradient
from .errors import UsageError
from .values import plain

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["wire_shares", "local_gradients", "Explanation", "Path", "explain", "paths", "number"]

#: How many paths an explanation lists before "and N more paths".
MAX_PATHS = 8


def number(value: Any, digits: int | None = 4) -> str:
    """A number for people, rounded to ``digits`` significant digits (None: exact repr).

    Every picture and explanation uses this one rule, so a value reads the same in
    SVG, PNG, DOT, Mermaid, text and explanations.
    """
    array = np.asarray(value)
    if array.ndim:
        return f"array{array.shape}"
    x = float(array)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    text = f"{x:.{digits}g}" if digits else repr(x)
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text


def wire_shares(trace: Trace) -> dict[tuple[int, int], Any]:
    """``{(node, k): share}``: what gate ``node`` sent back to its ``k``-th argument.

    After broadcast reduction, before fan-out summation. The engine's tape records them
    during ``Trace.backward(shares=True)`` (the one backward walk); a wire no path
    leads from to the output carries zero.
    """
    if trace.shares is None:
        trace.backward(trace._seed if trace._raw is not None else 1.0, shares=True)
    recorded = trace.shares or {}
    circuit, values = trace.circuit, trace.values
    shares: dict[tuple[int, int], Any] = {}
    for i, node in enumerate(circuit.nodes):
        if node.kind != "gate":
            continue
        for k, a in enumerate(node.args):
            share = recorded.get((i, k))
            shares[(i, k)] = plain(zero_gradient(values[a]) if share is None else share)
    return shares


def local_gradients(trace: Trace) -> dict[tuple[int, int], Any]:
    """``{(node, k): d node / d argument k}`` at the trace's values (the gate's seed is 1).

    For array values this is elementwise (each element's own derivative).
    """
    circuit, values = trace.circuit, trace.values
    local: dict[tuple[int, int], Any] = {}
    with np.errstate(all="ignore"):
        for i, node in enumerate(circuit.nodes):
            if node.kind != "gate":
                continue
            xs = [values[a] for a in node.args]
            seed = np.ones(np.shape(values[i])) if np.shape(values[i]) else 1.0
            for k, g in enumerate(circuit.gates[i].backward(seed, values[i], *xs)):
                local[(i, k)] = plain(g)
    return local


@dataclass(frozen=True)
class Share:
    """One wire of an explanation: from ``source`` into argument ``arg`` of ``gate``."""

    source: int
    gate: int
    arg: int
    local: Any  # d gate / d source along this wire
    upstream: Any  # the output's gradient w.r.t. the gate
    share: Any  # what the wire carries back: local * upstream


@dataclass(frozen=True)
class Path:
    """One path from an input to the output: its nodes and the product of local gradients."""

    nodes: tuple[int, ...]
    factors: tuple[Any, ...]
    product: Any


@dataclass(frozen=True)
class Explanation:
    """Why node ``node``'s gradient is what it is.

    ``uses`` are the wires out of it (their shares add up to its gradient);
    ``sends`` are the wires into it (what it passes back to each argument); for an
    input, ``paths`` lists up to a bound of the paths to the output, of ``path_count``.
    """

    trace: Trace
    node: int
    grad: Any
    uses: tuple[Share, ...]
    sends: tuple[Share, ...]
    paths: tuple[Path, ...] = ()
    path_count: int = 0
    digits: int | None = 4

    @property
    def share_sum(self) -> Any:
        """The sum of the shares of the wires out of the node (its gradient, unless it is the output)."""
        return sum((u.share for u in self.uses), 0.0)

    @property
    def path_sum(self) -> Any:
        return sum((p.product for p in self.paths), 0.0)

    def text(self) -> str:
        return _explanation_text(self)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        name = self.trace.circuit.node_name(self.node)
        return f"<Explanation of d{_out_name(self.trace)}/d{name} = {number(self.grad, self.digits)}>"

    def _repr_markdown_(self) -> str:
        return "```\n" + self.text() + "\n```"

    def to_dict(self) -> dict[str, Any]:
        circuit = self.trace.circuit

        def wire(s: Share) -> dict[str, Any]:
            return {"from": circuit.node_name(s.source), "to": circuit.node_name(s.gate), "arg": s.arg,
                    "local": s.local, "upstream": s.upstream, "share": s.share}

        return {
            "node": circuit.node_name(self.node), "grad": self.grad,
            "uses": [wire(s) for s in self.uses], "sends": [wire(s) for s in self.sends],
            "paths": [{"nodes": [circuit.node_name(n) for n in p.nodes], "factors": list(p.factors),
                       "product": p.product} for p in self.paths],
            "path_count": self.path_count,
        }


def explain(trace: Trace, key: int | str, *, max_paths: int | None = MAX_PATHS, digits: int | None = 4) -> Explanation:
    """The explanation of one node's gradient (by id, stage label or input name)."""
    circuit = trace.circuit
    node = circuit.find(key)
    grads = trace._need_grads()
    shares = wire_shares(trace)
    local = local_gradients(trace)

    def share(gate: int, k: int) -> Share:
        return Share(circuit.nodes[gate].args[k], gate, k, local[(gate, k)], plain(grads[gate]), shares[(gate, k)])

    uses = tuple(share(g, k) for g, k in _consumers(circuit)[node])
    sends = tuple(share(node, k) for k in range(len(circuit.nodes[node].args)))
    found: tuple[Path, ...] = ()
    count = 0
    if circuit.nodes[node].kind == "input":
        found, count = paths(trace, node, limit=max_paths, local=local)
    return Explanation(trace, node, plain(grads[node]), uses, sends, found, count, digits)


def paths(
    trace: Trace, key: int | str, *, limit: int | None = MAX_PATHS, local: dict[tuple[int, int], Any] | None = None
) -> tuple[tuple[Path, ...], int]:
    """Up to ``limit`` paths from node ``key`` to the output (None: all), and how many there are.

    Each path's product is its local gradients times the output's seed (1 unless
    ``backward`` was given another); on arrays the products are elementwise, and an
    input broadcast against larger arrays gets each product summed back to its shape.

    The count is exact (a loop over the nodes in order, big integers if need be);
    the listing is a depth-first walk with an explicit stack.
    """
    circuit = trace.circuit
    start = circuit.find(key)
    if limit is not None and limit < 0:
        raise UsageError(f"the number of paths to list must be 0 or more, got {limit}")
    local = local_gradients(trace) if local is None else local
    seed = plain(trace._need_grads()[circuit.output])  # each product also carries the output's seed
    consumers = _consumers(circuit)
    out = circuit.output
    # Paths to the output from each node, counted from the output backwards.
    count = [0] * len(circuit.nodes)
    count[out] = 1
    for i in range(out - 1, -1, -1):
        count[i] = sum(count[g] for g, _ in consumers[i] if g <= out)
    found: list[Path] = []
    stack: list[tuple[int, tuple[int, ...], tuple[Any, ...]]] = [(start, (start,), ())]
    while stack and (limit is None or len(found) < limit):
        node, nodes, factors = stack.pop()
        if node == out:
            product: Any = seed
            for f in factors:
                product = product * f
            if np.shape(product) != np.shape(trace.values[start]):  # a broadcast input: summed back
                product = reduce_gradient(product, trace.values[start], [product])
            found.append(Path(nodes, factors, plain(product)))
            continue
        for g, k in reversed(consumers[node]):
            if count[g]:
                stack.append((g, nodes + (g,), factors + (local[(g, k)],)))
    return tuple(found), count[start]


def _consumers(circuit: Any) -> list[list[tuple[int, int]]]:
    """For each node, the (gate node, argument position) pairs that read it, in order."""
    consumers: list[list[tuple[int, int]]] = [[] for _ in circuit.nodes]
    for i, node in enumerate(circuit.nodes):
        for k, a in enumerate(node.args):
            consumers[a].append((i, k))
    return consumers


def _out_name(trace: Trace) -> str:
    return trace.circuit.node_name(trace.circuit.output)


def _explanation_text(e: Explanation) -> str:
    circuit = e.trace.circuit
    n = lambda v: number(v, e.digits)  # noqa: E731
    f = _out_name(e.trace)
    name = circuit.node_name(e.node)
    node = circuit.nodes[e.node]
    what = {"input": "input", "const": "constant"}.get(node.kind) or (
        f"{node.name}({', '.join(circuit.node_name(a) for a in node.args)})"
    )
    lines = [f"{name} = {what} = {n(e.trace.values[e.node])}; d{f}/d{name} = {n(e.grad)}"]
    if e.node == circuit.output:
        lines.append(f"  the output: its gradient is the seed, d{f}/d{f} = {n(e.grad)}")
    elif not e.uses:
        lines.append(f"  no wire leads from it to the output, so d{f}/d{name} = 0")
    else:
        for s in e.uses:
            g = circuit.node_name(s.gate)
            lines.append(f"  via {g} (argument {s.arg + 1} of {circuit.nodes[s.gate].name}): "
                         f"d{g}/d{name} * d{f}/d{g} = {n(s.local)} * {n(s.upstream)} = {n(s.share)}")
        if len(e.uses) > 1:
            terms = " + ".join(n(s.share) for s in e.uses)
            lines.append(f"  {name} is used {len(e.uses)} times, so its gradient is the sum of the shares: "
                         f"d{f}/d{name} = {terms} = {n(e.share_sum)}")
    for s in e.sends:
        a = circuit.node_name(s.source)
        lines.append(f"  sends back to {a}: d{name}/d{a} * d{f}/d{name} = {n(s.local)} * {n(s.upstream)} "
                     f"= {n(s.share)}")
    if node.kind == "input" and e.path_count:
        lines.append(f"  as a sum over the {e.path_count} path(s) from {name} to {f} "
                     "(each the product of the local gradients along it):")
        seed = e.trace._need_grads()[circuit.output]
        for p in e.paths:
            route = " -> ".join(circuit.node_name(k) for k in p.nodes)
            factors = " * ".join(n(x) for x in p.factors) or "1"
            if np.ndim(seed) or seed != 1.0:
                factors += f" * {n(seed)} (the seed)"
            lines.append(f"    {route}: {factors} = {n(p.product)}")
        more = e.path_count - len(e.paths)
        if more > 0:
            lines.append(f"    and {more} more path(s)")
        else:
            lines.append(f"    sum = {n(e.path_sum)}")
    return "\n".join(lines)


