"""What the builder keeps of a resolved gate (:class:`Spec`), and what one registry's
Composers share of what they resolved (:class:`SharedSpecs`).

:mod:`gatekit.compose` is the one place that resolves names; this is what it resolves
them to, and how the next Composer of the same registry starts where the last stopped
without ever missing a gate registered in between.
"""

from __future__ import annotations

import weakref
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["Spec", "NO_GATE", "gate_of", "SharedSpecs", "shared_specs", "forget_shared_specs"]


class Spec(tuple):  # type: ignore[type-arg]
    """What the builder keeps of a gate, resolved once: (gate, its forward, its backward,
    its plugin's name, its registry entry). Every step of the gate shares the two bound
    methods. Hashed by identity, so the specs a circuit uses are one C-level ``set()``
    of its spec column."""

    __slots__ = ()
    __hash__ = object.__hash__
    __eq__ = object.__eq__  # type: ignore[assignment]


gate_of = itemgetter(0)
#: The spec column's entry for an input or a constant (so the gate column is one C-level map).
NO_GATE = Spec((None, None, None, "", None))


class SharedSpecs:
    """What the Composers of one registry have resolved, for the next Composer to start from.

    A small circuit built many times (the lesson's neuron, composed, built and run
    once) would otherwise resolve every name anew each time, most of its build. The
    next Composer takes it all only while the registry still resolves every key to the
    same entry (checked in C, two list comparisons), so a gate registered later (an
    override) is seen at once.
    """

    __slots__ = ("specs", "binary", "keys", "names", "entries")

    def __init__(self) -> None:
        self.specs: dict[Any, Spec] = {}  # gate name or (symbol, arity) -> spec
        self.binary: dict[str, Spec] = {}  # binary operator symbol -> spec (Wire's fast path)
        self.keys: list[Any] = []  # what the registry maps each key through: names, or symbols to names
        self.names: list[Any] = []
        self.entries: list[Any] = []

    def add(self, key: str | tuple[str, int], spec: Spec) -> None:
        self.specs[key] = spec
        if key.__class__ is tuple and key[1] == 2:
            self.binary[key[0]] = spec
        self.keys.append(key)
        self.names.append(spec[0].name)
        self.entries.append(spec[4])

    def current(self, registry: Registry) -> bool:
        table, symbols = registry.entries["gate"], registry.symbols
        names = [key if key.__class__ is str else symbols.get(key) for key in self.keys]
        return names == self.names and list(map(table.get, names)) == self.entries  # type: ignore[arg-type]


#: Keyed by id() (a Registry is not hashable) beside a weak reference: dropped with the registry.
_SHARED: dict[int, tuple[weakref.ref[Any], SharedSpecs]] = {}


def shared_specs(registry: Registry) -> SharedSpecs:
    key = id(registry)
    held = _SHARED.get(key)
    if held is not None and held[0]() is registry:
        return held[1]
    shared = SharedSpecs()

    def forget(ref: weakref.ref[Any]) -> None:
        if _SHARED.get(key, (None,))[0] is ref:
            del _SHARED[key]

    _SHARED[key] = (weakref.ref(registry, forget), shared)
    return shared


def forget_shared_specs(registry: Registry) -> None:
    """Drop what was shared for ``registry`` (it changed: the next Composers start again)."""
    _SHARED.pop(id(registry), None)
