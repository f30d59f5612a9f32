"""The hooks a gatekit plugin can implement. Each takes a ``register`` callback."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("gatekit")
hookimpl = pluggy.HookimplMarker("gatekit")


@hookspec
def gatekit_register_gates(register):
    """Register gates: call ``register(gate)``, or ``register(gate, override=True)`` to replace one on purpose."""


@hookspec
def gatekit_register_strategies(register):
    """Register strategies: call ``register(strategy)``, or ``register(strategy, override=True)``."""
