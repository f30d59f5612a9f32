"""Step through a circuit: the forward pass gate by gate, then the backward pass gate by gate.

Each step says which gate, the rule it applies (its formula forward, its local
gradient backward) and the numbers it used. Backward, each gate sends every argument
its share (local gradient times the gate's own gradient), and a value used several
times collects the shares as they arrive::

    for step in gatekit.steps(circuit.forward(x=-2, y=5, z=-4)):
        print(step)

``gatekit step EXPR NAME=VALUE ...`` shows the same steps on a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .explain import local_gradients, number, wire_shares
from .values import plain

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["Step", "Send", "steps"]


@dataclass(frozen=True)
class Send:
    """What one backward step sent to one argument."""

    to: str
    local: Any
    upstream: Any
    share: Any
    total: Any  # the argument's gradient so far, this share included


@dataclass(frozen=True)
class Step:
    phase: str  # "forward" or "backward"
    number: int  # 1-based within its phase
    of: int
    node: int
    name: str
    gate: str
    rule: str
    args: tuple[str, ...]
    arg_values: tuple[Any, ...]
    value: Any
    grad: Any = None  # backward: the output's gradient w.r.t. this gate
    sends: tuple[Send, ...] = field(default=())
    digits: int | None = 4
    doc: str = ""  # the gate's one-line formula, which names its arguments

    def text(self) -> str:
        n = lambda v: number(v, self.digits)  # noqa: E731
        call = f"{self.gate}({', '.join(self.args)})"
        rule = f"  rule: {self.rule}{self._here()}"
        if self.phase == "forward":
            return "\n".join([
                f"forward {self.number} of {self.of}: {self.name} = {call}",
                rule,
                f"  {self.name} = {self.gate}({', '.join(n(v) for v in self.arg_values)}) = {n(self.value)}",
            ])
        lines = [f"backward {self.number} of {self.of}: {self.name} = {call}, whose gradient is {n(self.grad)}",
                 rule]
        for s in self.sends:
            lines.append(f"  to {s.to}: local {n(s.local)} * upstream {n(s.upstream)} = {n(s.share)}"
                         f"   ({s.to}'s gradient so far: {n(s.total)})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _here(self) -> str:
        """The rule's own names for the arguments, as this gate's are called: "(here x = q, y = z)"."""
        params = _params(self.doc, self.gate)
        if len(params) != len(self.args) or list(params) == list(self.args):
            return ""
        return "   (here " + ", ".join(f"{p} = {a}" for p, a in zip(params, self.args)) + ")"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "phase": self.phase, "step": self.number, "of": self.of, "node": self.node, "name": self.name,
            "gate": self.gate, "rule": self.rule, "args": list(self.args), "arg_values": list(self.arg_values),
            "value": self.value,
        }
        if self.phase == "backward":
            data["grad"] = self.grad
            data["sends"] = [{"to": s.to, "local": s.local, "upstream": s.upstream, "share": s.share,
                              "total": s.total} for s in self.sends]
        return data


def _params(doc: str, gate: str) -> tuple[str, ...]:
    """The argument names of a formula such as ``mul(x, y) = x * y``; () if it has none."""
    head = doc.split("=", 1)[0].strip()
    if not (head.startswith(gate + "(") and head.endswith(")")):
        return ()
    return tuple(p.strip() for p in head[len(gate) + 1:-1].split(","))


def steps(trace: Trace, digits: int | None = 4) -> list[Step]:
    """Every forward step, then every backward step (runs the backward pass if not yet run)."""
    circuit = trace.circuit
    grads = trace._need_grads()
    shares = wire_shares(trace)
    local = local_gradients(trace)
    gates = [i for i, node in enumerate(circuit.nodes) if node.kind == "gate" and i <= circuit.output]
    out: list[Step] = []

    def base(phase: str, k: int, i: int, rule: str) -> dict[str, Any]:
        node = circuit.nodes[i]
        return dict(phase=phase, number=k, of=len(gates), node=i, name=circuit.node_name(i), gate=str(node.name),
                    rule=rule, args=tuple(circuit.node_name(a) for a in node.args),
                    arg_values=tuple(plain(trace.values[a]) for a in node.args), value=plain(trace.values[i]),
                    digits=digits, doc=str(circuit.gates[i].doc))

    for k, i in enumerate(gates, 1):
        out.append(Step(**base("forward", k, i, str(circuit.gates[i].doc))))
    # Gradients so far, as the backward pass collects them: the output starts with its seed.
    so_far: dict[int, Any] = {circuit.output: plain(grads[circuit.output])}
    for k, i in enumerate(reversed(gates), 1):
        node = circuit.nodes[i]
        sends = []
        for arg, a in enumerate(node.args):
            share = shares[(i, arg)]
            so_far[a] = share if a not in so_far else so_far[a] + share
            sends.append(Send(circuit.node_name(a), local[(i, arg)], plain(grads[i]), share, so_far[a]))
        rule = getattr(circuit.gates[i], "grad_doc", None) or "the gate's backward"
        out.append(Step(**base("backward", k, i, str(rule)), grad=plain(grads[i]), sends=tuple(sends)))
    return out
