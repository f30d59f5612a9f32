"""Helpers shared by several test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import gatekit
from gatekit import Gate, hookimpl

#: reference-numbers.md section 6, written as in its source.
SECTION6 = """
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + relu(b + a)
d += 3 * d + relu(b - a)
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
"""


def plugin_registry(*gates, name: str = "test_gates", override: bool = False) -> gatekit.Registry:
    """A registry with the built-ins plus ``gates``, registered by a plugin called ``name``."""

    @hookimpl
    def gatekit_register_gates(self, register):
        for gate in gates:
            register(gate, override=override)

    plugin = type(name, (), {"gatekit_register_gates": gatekit_register_gates})()
    registry = gatekit.load_registry(extra=[plugin], env={}, entry_points=())
    assert [e for e in registry.load_errors if e.plugin == name] == []
    return registry


class DoublingMul(Gate):
    """A plugin's ``mul`` that doubles: registered with override, it changes what ``*`` does."""

    name, arity, symbol = "mul", 2, "*"
    doc = "mul(x, y) = 2 * x * y (a test override)"

    def forward(self, x, y):
        return 2 * x * y

    def backward(self, grad, out, x, y):
        return 2 * grad * y, 2 * grad * x


def write_plugin(folder, name: str, source: str) -> str:
    """``source`` (dedented) as the plugin file ``folder/name.py``; returns its path for --plugin."""
    import textwrap
    from pathlib import Path

    path = Path(folder) / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return str(path)
