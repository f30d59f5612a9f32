"""``gatekit run EXPR NAME=VALUE ...``: every stage's value and gradient, like the lesson's tables."""

from __future__ import annotations

from typing import Any

import typer

from ..circuit import Circuit
from ..trace import Trace
from ..errors import UsageError
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


def register(app: typer.Typer) -> None:
    @app.command("run", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def run(ctx: typer.Context, words: Words = None, file: FileOption = None, points: PointsOption = None,
            chunk: ChunkOption = None, cluster: ClusterOption = None, out: OutOption = None,
            json: Json = False) -> None:
        """Every stage's value and gradient: gatekit run '(x + y) * z' x=-2 y=5 z=-4."""
        if points is not None:
            run_points(words, file, points, chunk, cluster, registry_of(ctx), json, out)
            return
        if chunk is not None or cluster is not None or out is not None:
            raise UsageError("--chunk, --cluster and --out go with --points FILE")
        given = circuit_and_values(words, file, registry_of(ctx), "run")
        trace = given.circuit.forward(given.values, check_finite=True).backward()
        if json:
            emit_json(run_report(trace))
        else:
            print_run(trace, given.source)
