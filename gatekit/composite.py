"""A circuit as one gate: forward runs the circuit, backward backpropagates through it.

Register one like any other gate, from a plugin's hook or straight into a registry::

    neuron = circuit.as_gate("neuron", "neuron(w0, x0, ...) = sigmoid(w0*x0 + ...)")
    registry.add_gate(neuron, "my-plugin")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CircuitError
from .gate import DEFAULT_DOMAIN, Domain, gate_markdown
from .values import NAME_PATTERN

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["CompositeGate", "MAX_COMPOSITE_DEPTH"]

#: How deep composite gates may nest (a composite of composites of ...). Each level
#: runs its circuit through a few Python calls, so past Python's recursion limit
#: (about 330 levels) a run would fail half-way; the limit makes it a build-time error.
#: Backward runs on the circuit with the nested composites inlined, so it costs one
#: forward and one backward walk at any depth (see :mod:`gatekit.composite_flat`).
MAX_COMPOSITE_DEPTH = 100
_UNSET = object()


class CompositeGate:
    """A gate made of a circuit; its inputs are the circuit's, in declaration order.

    Gates are stateless, so backward runs the sub-circuit forward again rather than
    keeping the last trace: one instance stays safe in any number of nodes and threads.
    It runs the inlined circuit (every composite inside replaced by its plain gates),
    made once, so nested composites do not each run their levels again.
    The circuit's default input values do not apply: a gate always gets every argument.
    """

    symbol = None
    grad_doc = "backpropagation through the circuit"

    def __init__(self, circuit: Circuit, name: str, doc: str | None = None, domain: Domain | None = None):
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise CircuitError(f"{name!r} is not a valid gate name (lowercase letters, digits, '_', '-')")
        if not circuit.inputs:
            raise CircuitError(f"composite gate {name!r} needs a circuit with at least one input")
        if domain is not None and not isinstance(domain, Domain):
            raise CircuitError(f"the domain of composite gate {name!r} must be a gatekit.Domain, got {domain!r}")
        #: 1 for a composite of plain gates, 1 + the deepest composite inside otherwise.
        self.depth = 1 + max((getattr(gate, "depth", 0) for gate in circuit.gates if gate is not None), default=0)
        if self.depth > MAX_COMPOSITE_DEPTH:
            raise CircuitError(
                f"composite gate {name!r} would nest composite gates {self.depth} deep, more than the "
                f"{MAX_COMPOSITE_DEPTH} gatekit runs; build the inner levels into one circuit instead "
                "(a composite may hold any number of plain gates)"
            )
        self.circuit = circuit
        self.name = name
        self.arity = len(circuit.inputs)
        gates = sum(1 for node in circuit.nodes if node.kind == "gate")
        self.doc = doc or f"{name}({', '.join(circuit.inputs)}): a circuit of {gates} gates"
        self.domain = DEFAULT_DOMAIN if domain is None else domain
        self._flat: object = _UNSET

    def __repr__(self) -> str:
        return f"<CompositeGate {self.name}({', '.join(self.circuit.inputs)})>"

    def _repr_markdown_(self) -> str:
        return gate_markdown(self)

    def _values(self, xs: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(self.circuit.inputs, xs))

    def forward(self, *xs: Any) -> Any:
        return self.circuit.forward(self._values(xs)).output

    def flat_circuit(self) -> Circuit | None:
        """The circuit with every composite inside inlined (:mod:`gatekit.composite_flat`);
        None when that would be too large. Derived once from immutable circuits: two
        threads making it at once make the same thing."""
        if self._flat is _UNSET:
            from .composite_flat import inline

            flat = inline(self.circuit)
            self._flat = self.circuit if flat is None and self.depth == 1 else flat
        return self._flat  # type: ignore[return-value]

    def backward(self, grad: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        # On the inlined circuit: nested composites would each re-run their levels' forward.
        circuit = self.flat_circuit() or self.circuit
        grads = circuit.forward(self._values(xs)).backward(grad).input_grads()
        return tuple(grads[name] for name in self.circuit.inputs)
