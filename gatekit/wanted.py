"""Which inputs' gradients a caller wants (``wrt=``), and what that spares the backward pass.

``circuit.gradient(values, wrt=("w", "b"))`` asks for two inputs' gradients only: a
training loop reads its parameters' gradients, never its data's. Both tiers then skip
every gradient that cannot reach a wanted input. What that buys: the scalar-gate moons
MLP's data (the two columns of X and the labels y, arrays of the batch) make ~64 array
operations a step that nobody reads. The answers do not change: a node's gradient is
the sum of what its readers send it, so dropping the gradients of nodes no wanted input
feeds changes nothing a wanted input receives.

``wrt`` is validated here once per circuit and per value (a tuple of names or one name
is remembered), so a loop that passes the same names every step pays one dictionary
lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import UnknownNameError, UsageError

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["wanted_inputs", "unwanted_nodes", "wanted_flags"]

#: wrt values remembered per circuit: a caller uses one or two; a caller that makes a
#: new one each call is validated each call.
_REMEMBERED = 16
_UNSEEN: Any = object()


def wanted_inputs(circuit: Circuit, wrt: Any) -> tuple[str, ...] | None:
    """The input names ``wrt`` gives, in its order; None when it is every input in the circuit's order.

    ``wrt`` is one input name or an iterable of them. An unknown name (or an input the
    output does not read, which has no gradient to give) is an :class:`UnknownNameError`
    with the closest names; a name given twice, or something that is not a name, a
    :class:`UsageError`.
    """
    # Only a value compared by what it holds is a key (a tuple of names, a name): a list may
    # change, and another iterable hashes by identity, which a later object may reuse.
    keyed = wrt.__class__ is tuple or wrt.__class__ is str
    cache: dict[Any, tuple[str, ...] | None] = circuit._wrt_cache
    if keyed:
        found = cache.get(wrt, _UNSEEN)
        if found is not _UNSEEN:
            return found
    names = _names(circuit, wrt)
    wanted = None if names == circuit.inputs else names
    if keyed and len(cache) < _REMEMBERED:
        cache[wrt] = wanted
    return wanted


def _names(circuit: Circuit, wrt: Any) -> tuple[str, ...]:
    if isinstance(wrt, str):
        wrt = (wrt,)
    elif not isinstance(wrt, Iterable):
        raise UsageError(f"wrt must be an input name or a sequence of input names, got {type(wrt).__name__}")
    names = tuple(wrt)
    ids = circuit.input_ids
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise UsageError(f"wrt must hold input names (strings), got {name!r} ({type(name).__name__})")
        if name not in ids:
            where = "in wrt" + (" (the output does not read it, so it has no gradient)" if name in circuit.unread_inputs else "")
            raise UnknownNameError("input", name, ids, where)
        if name in seen:
            raise UsageError(f"wrt names input {name!r} twice; give each input once")
        seen.add(name)
    return names


def wanted_flags(circuit: Circuit, wanted: tuple[str, ...] | None) -> list[bool]:
    """For each node: whether a wanted input (every input for None) feeds it. A forward loop, not recursion."""
    flags = [False] * len(circuit.gates)
    for name in (circuit.inputs if wanted is None else wanted):
        flags[circuit.input_ids[name]] = True
    for i, _, _, a, b, args in circuit.steps:
        flags[i] = flags[a] or flags[b] if b >= 0 else flags[a] if a >= 0 else any(flags[k] for k in args)
    return flags


def unwanted_nodes(circuit: Circuit, wanted: tuple[str, ...]) -> frozenset[int]:
    """The nodes no wanted input feeds: the backward pass need not give them a gradient (kept per circuit)."""
    cache: dict[tuple[str, ...], frozenset[int]] = circuit._unwanted_cache
    found = cache.get(wanted)
    if found is None:
        flags = wanted_flags(circuit, wanted)
        found = frozenset(i for i, f in enumerate(flags) if not f)
        if len(cache) < _REMEMBERED:
            cache[wanted] = found
    return found
