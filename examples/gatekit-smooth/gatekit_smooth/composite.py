"""A gate made of other gates: swish(x) = x * sigmoid(x), wired with gatekit's Composer.

``circuit.as_gate(name, doc)`` turns any circuit into a gate whose backward is
backpropagation through that circuit, so a composite needs no gradient of its own.
"""

from __future__ import annotations

import gatekit


def swish() -> gatekit.Gate:
    """The swish gate, built from the built-in ``mul`` and ``sigmoid`` gates."""
    # Build against a registry of gatekit's built-in gates only. Never the default
    # registry here: this runs while that registry is being loaded, so asking for it
    # would load it again (and again).
    builtins = gatekit.load_registry(env={}, entry_points=())
    c = gatekit.Composer(builtins)
    (x,) = c.inputs("x")
    circuit = c.build(x * c.sigmoid(x))
    gate: gatekit.Gate = circuit.as_gate("swish", "swish(x) = x * sigmoid(x)")
    return gate
