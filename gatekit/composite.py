"""A circuit as one gate: forward runs the circuit, backward backpropagates through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import NAME_PATTERN
from .errors import CircuitError

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["CompositeGate"]


class CompositeGate:
    """A gate made of a circuit; its inputs are the circuit's, in declaration order.

    Gates are stateless, so backward runs the sub-circuit forward again rather than
    keeping the last trace: one instance stays safe in any number of nodes.
    """

    symbol = None

    def __init__(self, circuit: Circuit, name: str, doc: str | None = None):
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise CircuitError(f"{name!r} is not a valid gate name (lowercase letters, digits, '_', '-')")
        self.circuit = circuit
        self.name = name
        self.arity = len(circuit.inputs)
        if self.arity < 1:
            raise CircuitError(f"composite gate {name!r} needs a circuit with at least one input")
        self.doc = doc or f"{name}({', '.join(circuit.inputs)}): a circuit of {len(circuit._tape)} gates"
        self.grad_doc = "backpropagation through the circuit"
        from .gate import DEFAULT_DOMAIN

        self.domain = DEFAULT_DOMAIN

    def _values(self, xs: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(self.circuit.inputs, xs))

    def forward(self, *xs: Any) -> Any:
        return self.circuit.forward(self._values(xs)).output

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        trace = self.circuit.forward(self._values(xs)).backward(grad)
        grads = trace.input_grads()
        return tuple(grads[name] for name in self.circuit.inputs)
