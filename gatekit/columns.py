"""From the Composer's columns to a circuit's: what reaches the output, renumbering, the tape.

The :class:`~gatekit.compose.Composer` keeps its nodes in columns (see
:mod:`gatekit.nodes`): each node's argument tuple, its gate's
:class:`~gatekit.specs.Spec` (:data:`~gatekit.specs.NO_GATE` for inputs and
constants) and its id. ``build()`` turns them into a circuit with the three functions
here, each one pass, as much of it in C as Python allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import accumulate, chain, compress
from typing import TYPE_CHECKING, Any

import numpy as np

from .specs import NO_GATE, Spec

if TYPE_CHECKING:
    from .tape import Step

__all__ = ["all_reach_last", "kept_columns", "lay_tape"]


def all_reach_last(node_args: Sequence[tuple[int, ...]], kept: set[int]) -> bool:
    """Every node but the last is an argument of some gate (or one of the ``kept`` inputs).

    Then every node reaches the last one: follow any node's consumers, each later
    than the one before, and the walk can only end at a node nobody consumes, the
    last. Counted in C, not by a walk of the graph: a set of the arguments for small
    circuits (numpy's fixed cost would be most of their build), a mark per argument
    in an array for large ones (a set of a million ids would be ~30 MB).
    """
    n = len(node_args)
    args = chain.from_iterable(node_args)
    if n < 4096:
        consumed = set(args)
        consumed.update(kept)
        consumed.discard(n - 1)
        return len(consumed) == n - 1
    marks = np.zeros(n, dtype=bool)
    marks[np.fromiter(args, dtype=np.int64)] = True
    if kept:
        marks[list(kept)] = True
    return bool(marks[: n - 1].all())


def kept_columns(
    out: int,
    kept: set[int],
    all_args: Sequence[tuple[int, ...]],
    all_specs: Sequence[Spec],
    values: Mapping[int, float],
    labels: Mapping[int, str],
    input_ids: Mapping[str, int],
) -> tuple[Any, ...]:
    """The columns of the nodes that reach ``out`` (and the ``kept`` inputs), renumbered:
    ``(args, specs, ids, values, labels, input_ids, out)``.

    One walk back from the output marks what is kept; the rest is C-level
    (accumulate, compress, map) but for one new argument tuple per kept gate.
    """
    keep = [False] * len(all_args)
    for i in kept:
        keep[i] = True
    keep[out] = True
    for i in range(out, -1, -1):  # reverse topological order: a loop, not recursion
        if keep[i]:
            for a in all_args[i]:
                keep[a] = True
    # new_id[i]: how many kept nodes come before i (i's new id, if i is kept).
    new_id = list(accumulate(keep, initial=0))
    renumber = new_id.__getitem__
    node_args = [tuple(map(renumber, args)) if args else args for args in compress(all_args, keep)]
    return (
        tuple(node_args),
        list(compress(all_specs, keep)),
        list(compress(new_id, keep)),
        {new_id[i]: v for i, v in values.items() if keep[i]},
        {new_id[i]: label for i, label in labels.items() if keep[i]},
        {name: new_id[i] for name, i in input_ids.items() if keep[i]},
        new_id[out],
    )


def lay_tape(node_ids: Sequence[int], node_args: Sequence[tuple[int, ...]], node_specs: Sequence[Spec]) -> tuple[Step, ...]:
    """The tape (see :mod:`gatekit.tape`): a step per gate node, its gate's two bound methods
    shared, -1 for an absent first or second argument. The one pass over the nodes in build(),
    straight into a tuple (a list first would be one more pointer per node at the peak)."""
    return tuple(
        (i, s[1], s[2], a[0], a[1], a) if len(a) == 2 else (i, s[1], s[2], a[0], -1, a) if len(a) == 1
        else (i, s[1], s[2], -1, -1, a)
        for i, s, a in zip(node_ids, node_specs, node_args) if s is not NO_GATE
    )
