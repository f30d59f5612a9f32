"""Runs of identical blocks in a tape, generated as loops (the float ``gradient`` variant).

A chain such as ``x = tanh(a_i * x + b_i)`` repeated 10,000 times is, in straight-line
code, 30,000 lines and 80,000 local variables: a function of megabytes whose every line
runs once. Written as a loop it is what a person writes, and runs as fast as the
hand-written loop. :func:`find_runs` finds such runs: ``n`` consecutive blocks of ``k``
gates in which block ``j + 1`` is block ``j`` shifted, each argument of a gate being

- *internal*: an earlier gate of the same block;
- *carried*: a gate of the block before (for the first block, a node before the run);
- a *slot*: an input that moves on by a fixed step from block to block (``a_i``), read
  by nothing else;
- *invariant*: the same node in every block (a constant, a shared weight).

Every gate of a run is read only by its own block and the next (the last block's by
anything after it), and every gate has float templates, so the loop computes, line for
line, what the straight-line code computes: the same operations on the same numbers in
the same order, so the same floats. The first and last blocks stay straight-line (they
join the loop to the code around it); the loop covers the blocks between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .templates import Template, template_for

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["Run", "find_runs", "forward_loop", "backward_loop"]

#: Blocks of at most this many gates are looked for.
_LONGEST_BLOCK = 6
#: Runs of fewer blocks stay straight-line (a loop costs its set-up).
_FEWEST_BLOCKS = 8
#: Circuits of fewer gates are not searched.
_FEWEST_GATES = 64

# An argument's kind: ("in", q) internal, ("car", q) carried, ("slot", s), ("inv", node).
Kind = tuple[str, int]


@dataclass
class Run:
    """``blocks[j][p]``: the node of block ``j`` at position ``p``; ``kinds[p][r]``: argument ``r``'s kind."""

    tag: str  # a prefix for the loop's own names (``_R0``), which no user name can take
    blocks: list[list[int]]
    kinds: list[list[Kind]]
    templates: list[Template]
    #: Per slot: (input position of block 0's input, step between blocks).
    slots: list[tuple[int, int]] = field(default_factory=list)
    #: Positions whose value the backward loop reads, per block.
    saved: set[int] = field(default_factory=set)
    carried: set[int] = field(default_factory=set)  # positions the next block reads

    @property
    def loop_nodes(self) -> set[int]:
        return {i for block in self.blocks[1:-1] for i in block}

    def slot_inputs(self, j: int, s: int) -> int:
        base, step = self.slots[s]
        return base + j * step


def find_runs(circuit: Circuit, live: list[bool], needs_grad: list[bool]) -> list[Run]:
    """The runs worth a loop, longest first, none overlapping (see the module's docstring)."""
    nodes = circuit.nodes
    order = [i for i, node in enumerate(nodes) if node.kind == "gate" and live[i]]
    if len(order) < _FEWEST_GATES:
        return []
    at = {i: u for u, i in enumerate(order)}
    input_at = {i: k for k, i in enumerate(circuit.input_ids.values())}
    readers: dict[int, list[int]] = {}
    for i in order:
        for a in nodes[i].args:
            readers.setdefault(a, []).append(i)
    gates = circuit.gates

    def relation(u: int, k: int) -> tuple[Any, ...] | None:
        i, i2 = order[u], order[u + k]
        if gates[i] is not gates[i2]:
            return None
        rel: list[Any] = []
        for a, b in zip(nodes[i].args, nodes[i2].args):
            if a == b:
                rel.append(("inv", a))
            elif a in at and b in at and at[b] - at[a] == k:
                rel.append(("d", u - at[a]))
            elif a in input_at and b in input_at and input_at[b] > input_at[a]:
                rel.append(("slot", input_at[b] - input_at[a]))
            else:
                return None
        return tuple(rel)

    candidates: list[tuple[int, int, int]] = []  # (gates covered, start, k)
    m = len(order)
    kinds = [gates[i] for i in order]
    found: set[int] = set()  # periods that gave runs: their multiples give the same runs again
    for k in range(1, _LONGEST_BLOCK + 1):
        if any(k % d == 0 for d in found):
            continue
        # Relations only where the gates repeat with period k for long enough (cheap to
        # test): elsewhere (a random DAG) no run can start.
        same = [a is b for a, b in zip(kinds, kinds[k:])]
        rels: list[tuple[Any, ...] | None] = [None] * (m - k)
        u = 0
        while u < m - k:
            end = u
            while end < m - k and same[end]:
                end += 1
            if end - u >= (_FEWEST_BLOCKS - 1) * k:
                rels[u:end] = [relation(v, k) for v in range(u, end)]
            u = end + 1
        u = 0
        while u < m - k:
            if rels[u] is None:
                u += 1
                continue
            end = u  # the stretch [u, end) of nodes each equal to the one k later
            while end < m - k and rels[end] is not None and (end - u < k or rels[end] == rels[end - k]):
                end += 1
            blocks = (end - u) // k + 1
            if blocks >= _FEWEST_BLOCKS:
                candidates.append((blocks * k, u, k))
                found.add(k)
            u = max(end, u + 1)
    runs: list[Run] = []
    taken = [False] * m
    for covered, start, k in sorted(candidates, reverse=True):
        n = covered // k
        while n >= _FEWEST_BLOCKS:
            if not any(taken[start:start + n * k]):
                run = _run(circuit, order, start, k, n, at, input_at, readers, needs_grad, f"_R{len(runs)}")
                if run is not None:
                    runs.append(run)
                    for u in range(start, start + n * k):
                        taken[u] = True
            break
    return runs


def _run(circuit: Circuit, order: list[int], start: int, k: int, n: int, at: dict[int, int],
         input_at: dict[int, int], readers: dict[int, list[int]], needs_grad: list[bool], tag: str) -> Run | None:
    """The run of ``n`` blocks of ``k`` from ``order[start]``, if every rule holds; else None."""
    nodes = circuit.nodes
    blocks = [order[start + j * k:start + (j + 1) * k] for j in range(n)]
    block_of = {i: j for j, block in enumerate(blocks) for i in block}
    if circuit.output in block_of and block_of[circuit.output] != n - 1:
        return None
    templates = []
    for i in blocks[1]:
        template = template_for(circuit.gates[i], False)
        if template is None or template.forward is None or template.backward is None or not needs_grad[i]:
            return None
        templates.append(template)
    for block in blocks:
        if not all(needs_grad[i] for i in block):
            return None
    for i, j in block_of.items():  # read by its own block and the next, or (the last block) after the run
        for r in readers.get(i, []):
            jr = block_of.get(r)
            if jr is None and not (j == n - 1 and at[r] > at[blocks[-1][-1]]):
                return None
            if jr is not None and jr not in (j, j + 1):
                return None
    kinds: list[list[Kind]] = []
    slots: list[tuple[int, int]] = []
    input_ids = list(circuit.input_ids.values())
    for p, i in enumerate(blocks[1]):
        row: list[Kind] = []
        for r, a in enumerate(nodes[i].args):
            a0, a2 = nodes[blocks[0][p]].args[r], nodes[blocks[2][p]].args[r]
            if a in block_of and block_of[a] == 1:
                row.append(("in", blocks[1].index(a)))
            elif a in block_of and block_of[a] == 0:
                row.append(("car", blocks[0].index(a)))
            elif a == a0 == a2:
                if a in block_of:
                    return None
                row.append(("inv", a))
            elif a in input_at and a0 in input_at:
                base, step = input_at[a0], input_at[a] - input_at[a0]
                ins = [input_ids[base + j * step] if 0 <= base + j * step < len(input_ids) else -1 for j in range(n)]
                if step <= 0 or any(nodes[blocks[j][p]].args[r] != ins[j] for j in range(n)):
                    return None
                if any(readers.get(x, []) != [blocks[j][p]] for j, x in enumerate(ins)):
                    return None  # an input read elsewhere too: its gradient would be a sum
                row.append(("slot", len(slots)))
                slots.append((base, step))
            else:
                return None
        kinds.append(row)
    # The same kinds in every block (checked on block 1 above; the shift-equality that
    # found the run makes every other block alike, but say it for the first and last too).
    for j in (0, n - 1):
        for p, i in enumerate(blocks[j]):
            for r, a in enumerate(nodes[i].args):
                kind, x = kinds[p][r]
                if kind == "in" and a != blocks[j][x]:
                    return None
                if kind == "car" and j > 0 and a != blocks[j - 1][x]:
                    return None
                if kind == "inv" and a != x:
                    return None
    run = Run(tag, blocks, kinds, templates, slots)
    for p, template in enumerate(templates):
        reads = template.backward_reads()
        arity = len(kinds[p])
        if arity + 1 in reads:
            run.saved.add(p)
        for r, (kind, x) in enumerate(kinds[p]):
            if kind == "car":
                run.carried.add(x)
            if kind in ("in", "car") and r in reads:
                run.saved.add(x)
    return run


def forward_loop(run: Run, var: dict[int, str]) -> list[str]:
    """Blocks 1 .. n-2 forward: carried values in locals, what backward reads kept in lists."""
    t, n = run.tag, len(run.blocks)
    lines = [f"{t}S{s} = _xs[{base}:{base + (n - 1) * step}:{step}]" for s, (base, step) in enumerate(run.slots)]
    for p in sorted(run.saved):
        lines.append(f"{t}V{p} = [None] * {n - 1}")
        lines.append(f"{t}V{p}[0] = {var[run.blocks[0][p]]}")
    lines += [f"{t}c{q} = {var[run.blocks[0][q]]}" for q in sorted(run.carried)]
    # A carried value read only before its own position is recomputed in the block can
    # live in one name (``_c2``), with no copy at the end of each block.
    late = {x for p, row in enumerate(run.kinds) for kind, x in row if kind == "car" and p > x}
    own = {p: f"{t}c{p}" if p in run.carried and p not in late else f"{t}l{p}" for p in range(len(run.templates))}
    body = []
    for p, template in enumerate(run.templates):
        args = [own[x] if kind == "in" else _arg(run, kind, x, var, forward=True) for kind, x in run.kinds[p]]
        body.append(f"{own[p]} = {template.forward_text(args)}")
        if p in run.saved:
            body.append(f"{t}V{p}[_j] = {own[p]}")
    body += [f"{t}c{q} = {t}l{q}" for q in sorted(run.carried) if own[q] != f"{t}c{q}"]
    lines.append(f"for _j in range(1, {n - 1}):")
    lines += ["    " + line for line in body]
    # The last loop block's values, under their own names, for the straight-line block after.
    lines += [f"{var[run.blocks[-2][q]]} = {t}c{q}" for q in sorted(run.carried)]
    return lines


def _arg(run: Run, kind: str, x: int, var: dict[int, str], forward: bool) -> str:
    t = run.tag
    if kind == "in":
        return f"{t}l{x}" if forward else f"{t}v{x}"
    if kind == "car":
        return f"{t}c{x}" if forward else f"{t}w{x}"
    if kind == "slot":
        return f"{t}S{x}[_j]"
    return var[x]  # invariant: a name or a literal


def backward_loop(run: Run, var: dict[int, str], holder: dict[int, str], assigned: set[int],
                  needs_grad: list[bool]) -> list[str] | None:
    """Blocks n-2 .. 1 backward, in the order the straight-line code adds the same shares.

    On entry the shares of the block after the loop are in ``holder``; on exit the first
    block's carried nodes and the invariants hold their sums, and each slot input's
    gradient is ``<tag>dS<s>[j]``. None if some gradient would have no share at all.
    """
    t, n = run.tag, len(run.blocks)
    lines = [f"{t}dS{s} = [0.0] * {n - 1}" for s in range(len(run.slots))]
    for q in sorted(run.carried):
        node = run.blocks[-2][q]
        if node not in assigned:
            return None
        lines.append(f"{t}g{q} = {holder[node]}")
    invariants = sorted({x for row in run.kinds for kind, x in row if kind == "inv" and needs_grad[x]})
    for e in invariants:
        # -0.0 + s is s for every float s: the first share is then exactly as assigned.
        lines.append(f"{t}e{e} = {holder[e] if e in assigned else '-0.0'}")
    body = [f"{t}v{p} = {t}V{p}[_j]" for p in sorted(run.saved)]
    body += [f"{t}w{q} = {t}V{q}[_j - 1]" for q in sorted(run.saved & run.carried)
             if any(kind == "car" and x == q for row in run.kinds for kind, x in row)]
    acc: dict[int, str | None] = {p: (f"{t}g{p}" if p in run.carried else None) for p in range(len(run.templates))}
    out_acc: dict[int, str | None] = {q: None for q in run.carried}
    for p in range(len(run.templates) - 1, -1, -1):
        g = acc[p]
        if g is None:
            return None
        template = run.templates[p]
        args = [_arg(run, kind, x, var, forward=False) for kind, x in run.kinds[p]]
        for r, (kind, x) in enumerate(run.kinds[p]):
            share = template.backward_text(r, args, g, f"{t}v{p}" if p in run.saved else "None")
            if kind == "slot":
                body.append(f"{t}dS{x}[_j] = {share}")
            elif kind == "inv":
                if needs_grad[x]:
                    body.append(f"{t}e{x} = {t}e{x} + {share}")
            else:
                target, name = (acc, f"{t}d{x}") if kind == "in" else (out_acc, f"{t}h{x}")
                if target[x] is None and share.isidentifier():
                    target[x] = share
                elif target[x] is None:
                    body.append(f"{name} = {share}")
                    target[x] = name
                else:
                    body.append(f"{name} = {target[x]} + {share}")
                    target[x] = name
    if any(out_acc[q] is None for q in run.carried):
        return None
    carried = sorted(run.carried)
    # At once: a share may be another position's incoming name.
    body.append(f"{', '.join(f'{t}g{q}' for q in carried)}, = {', '.join(str(out_acc[q]) for q in carried)},")
    lines.append(f"for _j in range({n - 2}, 0, -1):")
    lines += ["    " + line for line in body]
    for q in sorted(run.carried):
        holder[run.blocks[0][q]] = f"{t}g{q}"
        assigned.add(run.blocks[0][q])
    for e in invariants:
        holder[e] = f"{t}e{e}"
        assigned.add(e)
    return lines
