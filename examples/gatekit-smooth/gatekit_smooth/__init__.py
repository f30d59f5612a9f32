"""gatekit-smooth: smooth gates for gatekit, and the template for writing your own plugin.

Copy this folder, rename the package, and replace the gates. The files:

- ``pyproject.toml``: the distribution. Its ``[project.entry-points.gatekit]`` table is
  what makes gatekit find the plugin once it is installed; the entry point's name
  (``gatekit-smooth``) is the plugin's name in ``gatekit plugins`` and in
  ``GATEKIT_DISABLE_PLUGINS``.
- ``gatekit_smooth/__init__.py`` (this file): the hooks. gatekit calls each function
  marked ``@gatekit.hookimpl`` with a ``register`` callback; everything registered is
  validated at the door and listed with this plugin's name and version.
- ``gatekit_smooth/gates.py``: three gates written from scratch (sin, cos, softplus):
  a value forward and, right beside it, a local gradient backward.
- ``gatekit_smooth/composite.py``: a gate wired from other gates (swish = x * sigmoid(x))
  with ``gatekit.Composer``; its gradient comes from backpropagation through the circuit.
- ``gatekit_smooth/strategy.py``: an optimization strategy (pattern search) that
  ``gatekit.optimize`` and ``gatekit optimize --strategy pattern-search`` run unchanged.
- ``tests/``: the plugin's own tests; ``gatekit.assert_gate_gradients`` checks each
  gate's backward against central differences.

Try it: ``pip install -e .`` here, then ``gatekit gates``, ``gatekit check sin cos
softplus swish`` and ``gatekit run "sin(x) * y" x=1 y=2``.
"""

from __future__ import annotations

import gatekit

from .composite import swish
from .gates import Cos, Sin, Softplus
from .strategy import PatternSearch

__all__ = ["Sin", "Cos", "Softplus", "swish", "PatternSearch", "gatekit_register_gates", "gatekit_register_strategies"]


@gatekit.hookimpl
def gatekit_register_gates(register: gatekit.Register) -> None:
    for gate in (Sin(), Cos(), Softplus(), swish()):
        register(gate)


@gatekit.hookimpl
def gatekit_register_strategies(register: gatekit.Register) -> None:
    register(PatternSearch())
