"""The hooks a gatekit plugin can implement. Each takes a ``register`` callback."""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

__all__ = ["Register", "hookspec", "hookimpl", "gatekit_register_gates", "gatekit_register_strategies"]

hookspec = pluggy.HookspecMarker("gatekit")
hookimpl = pluggy.HookimplMarker("gatekit")


class Register(Protocol):
    """The callback each hook receives: ``register(obj)``, or ``register(obj, override=True)``.

    Annotate a hook with it: ``def gatekit_register_gates(register: gatekit.Register) -> None``.
    """

    def __call__(self, obj: Any, override: bool = False) -> None: ...


@hookspec
def gatekit_register_gates(register: Register) -> None:
    """Register gates: call ``register(gate)``, or ``register(gate, override=True)`` to replace one on purpose."""


@hookspec
def gatekit_register_strategies(register: Register) -> None:
    """Register strategies: call ``register(strategy)``, or ``register(strategy, override=True)``."""
