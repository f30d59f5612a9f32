"""``gatekit run EXPR NAME=VALUE ...``: every stage's value and gradient, like the lesson's tables."""

from __future__ import annotations

from typing import Any

import typer

from ..circuit import Circuit
from ..errors import UsageError
from ..explain import Explanation
from ..trace import Trace
from .chunked import ChunkOption, ClusterOption, OutOption, PointsOption, run_points
from .circuits import POSITIONAL_SETTINGS, FileOption, Words, circuit_and_values
from .session import NAME_COLUMN, NAMES_COLUMN, Json, console, emit_json, fmt, registry_of, reports_errors, titled

__all__ = ["register", "run_report", "print_run", "gate_call"]



def gate_call(circuit: Circuit, node: int) -> str:
    """How a stage is computed, in the circuit's own names: ``mul(q, z)``."""
    n = circuit.nodes[node]
    return f"{n.name}({', '.join(circuit.node_name(a) for a in n.args)})"


def run_report(trace: Trace) -> dict[str, Any]:
    """The ``gatekit run --json`` object of a forward and backward pass."""
    if trace.grads is None:
        trace.backward()
    grads = trace.input_grads()
    return {
        "output": trace.output,
        "inputs": {name: {"value": value, "grad": grads[name]} for name, value in trace.inputs().items()},
        "stages": [
            {"name": s.name, "gate": s.gate, "value": s.value, "grad": s.grad} for s in trace.stages()
        ],
    }


def print_run(trace: Trace, title: str) -> None:
    """Two tables for people: the inputs, then every stage in order, forward and backward."""
    from rich.table import Table

    circuit = trace.circuit
    report = run_report(trace)
    inputs = Table()
    for column in ("input", "value", "gradient"):
        inputs.add_column(column, justify="left" if column == "input" else "right", **NAME_COLUMN)
    for name, row in report["inputs"].items():
        inputs.add_row(name, fmt(row["value"]), fmt(row["grad"]))
    stages = Table()
    for column in ("stage", "computes", "value", "gradient"):
        stages.add_column(column, justify="right" if column in ("value", "gradient") else "left",
                          **(NAMES_COLUMN if column == "computes" else NAME_COLUMN))
    for stage in trace.stages():
        stages.add_row(circuit.node_name(stage.node), gate_call(circuit, stage.node), fmt(stage.value), fmt(stage.grad))
    out = console()
    out.print(title)
    out.print(titled("inputs", inputs))
    out.print(titled("stages: forward values, then gradients of the output", stages))
    out.print(f"output = {fmt(report['output'])}")


#: What ``--explain`` without a node means: every input and stage.
EVERY_NODE = "\0every"


def explanations(trace: Trace, node: str) -> list[Explanation]:
    """One node's explanation, or (for ``EVERY_NODE``) every input's and stage's, output first."""
    if node != EVERY_NODE:
        return [trace.explain(node)]
    circuit = trace.circuit
    order = [circuit.output] + [s.node for s in reversed(trace.stages(include_inputs=True)) if s.node != circuit.output]
    return [trace.explain(i) for i in order]


def split_explain(words: list[str]) -> tuple[list[str], str | None]:
    """Take ``--explain``, ``--explain=NODE`` or ``--explain NODE`` out of the words.

    typer has no option with an optional value, so the words carry it: after the
    expression every word is ``NAME=VALUE``, so a plain name after ``--explain`` there
    is the node to explain.
    """
    rest: list[str] = []
    node: str | None = None
    k = 0
    while k < len(words):
        word = words[k]
        if word == "--explain" or word.startswith("--explain="):
            if node is not None:
                raise UsageError("--explain is given twice")
            node = word.partition("=")[2] or EVERY_NODE
            following = words[k + 1] if k + 1 < len(words) else None
            if node == EVERY_NODE and rest and following is not None and following.isidentifier():
                node, k = following, k + 1
            if not node:
                raise UsageError("--explain= needs a node: --explain=x, or --explain alone for every node")
        else:
            rest.append(word)
        k += 1
    return rest, node


def register(app: typer.Typer) -> None:
    @app.command("run", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def run(ctx: typer.Context, words: Words = None, file: FileOption = None, points: PointsOption = None,
            chunk: ChunkOption = None, cluster: ClusterOption = None, out: OutOption = None,
            json: Json = False) -> None:
        """Every stage's value and gradient: gatekit run '(x + y) * z' x=-2 y=5 z=-4.

        --explain [NODE] says why each gradient is what it is (or one input's or stage's:
        --explain x, --explain=q): each wire's share, local gradient times upstream
        gradient; at a fork the sum of the shares; for an input, the sum over paths.
        --points FILE runs the circuit at every point of a file, in chunks (a summary).
        """
        words, explain = split_explain(list(words or ()))
        if points is not None:
            if explain is not None:
                raise UsageError("--explain explains one point; it does not go with --points FILE")
            run_points(words, file, points, chunk, cluster, registry_of(ctx), json, out)
            return
        if chunk is not None or cluster is not None or out is not None:
            raise UsageError("--chunk, --cluster and --out go with --points FILE")
        given = circuit_and_values(words, file, registry_of(ctx), "run")
        trace = given.circuit.forward(given.values, check_finite=True).backward()
        if explain is not None:
            found = explanations(trace, explain)
            if json:
                emit_json([e.to_dict() for e in found])
            else:
                typer.echo("\n\n".join(e.text() for e in found))
        elif json:
            emit_json(run_report(trace))
        else:
            print_run(trace, given.source)
