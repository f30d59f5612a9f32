"""``gatekit gates``, ``gatekit gates show NAME`` and ``gatekit eval GATE V1 [V2 ...]``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..compose import Composer
from ..errors import UsageError
from ..registry import Entry, Registry
from .circuits import POSITIONAL_SETTINGS
from .completion import complete_gate
from .session import NAME_COLUMN, NAMES_COLUMN, Json, console, emit_json, fmt, registry_of, reports_errors, titled
from .values import parse_numbers

__all__ = ["register", "gate_summary", "gate_details", "evaluate_gate"]

GateName = Annotated[str, typer.Argument(metavar="GATE", help="A registered gate name.", autocompletion=complete_gate)]


def gate_summary(entry: Entry) -> dict[str, Any]:
    gate = entry.obj
    return {
        "name": entry.name,
        "arity": gate.arity,
        "symbol": getattr(gate, "symbol", None),
        "plugin": entry.plugin.name,
        "doc": gate.doc,
    }


def gate_details(entry: Entry) -> dict[str, Any]:
    gate = entry.obj
    domain = getattr(gate, "domain", None)
    return {
        **gate_summary(entry),
        "grad_doc": getattr(gate, "grad_doc", None),
        "domain": domain.describe(gate.arity) if domain is not None else None,
        "version": entry.plugin.version,
        "distribution": entry.plugin.distribution,
        "builtin": entry.plugin.builtin,
        "overrides": entry.overrides.name if entry.overrides else None,
    }


def evaluate_gate(registry: Registry, name: str, xs: list[float]) -> dict[str, Any]:
    """A gate's value at ``xs`` and its local gradients (the upstream gradient is 1).

    Runs through a one-gate circuit, so finiteness and the backward contract are
    checked exactly as in any circuit.
    """
    gate = registry.gate(name)
    if len(xs) != gate.arity:
        slots = " ".join(f"V{k + 1}" for k in range(gate.arity))
        raise UsageError(f"gate {name!r} takes {gate.arity} value(s), got {len(xs)}: gatekit eval {name} {slots}")
    names = [f"x{k}" for k in range(len(xs))]
    c = Composer(registry)
    circuit = c.build(c.gate(name, *c.inputs(*names)))
    trace = circuit.forward(dict(zip(names, xs)), check_finite=True).backward()
    grads = trace.input_grads()
    return {"gate": gate.name, "inputs": xs, "output": trace.output, "grads": [grads[n] for n in names]}


def register(app: typer.Typer) -> None:
    gates_app = typer.Typer(help="List the registered gates, or explain one.")
    app.add_typer(gates_app, name="gates")

    @gates_app.callback(invoke_without_command=True)
    @reports_errors
    def gates(ctx: typer.Context, json: Json = False) -> None:
        """A table of every gate: name, arity, operator, plugin, doc."""
        if ctx.invoked_subcommand is not None:
            return
        rows = [gate_summary(e) for e in registry_of(ctx).iter_entries("gate")]
        if json:
            emit_json(rows)
            return
        from rich.table import Table

        table = Table()
        for column in ("name", "arity", "operator", "plugin"):
            table.add_column(column, **NAME_COLUMN)
        table.add_column("doc", **NAMES_COLUMN)
        for row in rows:
            table.add_row(row["name"], str(row["arity"]), row["symbol"] or "", row["plugin"], row["doc"])
        console().print(titled("Gates", table))

    @gates_app.command("show")
    @reports_errors
    def show(ctx: typer.Context, name: GateName, json: Json = False) -> None:
        """One gate: its formula, local-gradient rule, domain, plugin and version."""
        details = gate_details(registry_of(ctx).entry("gate", name))
        if json:
            emit_json(details)
            return
        from rich.table import Table

        table = Table(show_header=False)
        table.add_column(style="bold")
        table.add_column()
        rows = [
            ("formula", details["doc"]),
            ("local gradient", details["grad_doc"] or "(not documented)"),
            ("arity", str(details["arity"])),
            ("operator", details["symbol"] or "-"),
            ("domain checked", details["domain"] or "-"),
            ("plugin", details["plugin"] + (" (built-in)" if details["builtin"] else "")),
            ("version", details["version"] or "-"),
        ]
        if details["overrides"]:
            rows.append(("overrides", f"the gate from plugin {details['overrides']!r}"))
        for key, value in rows:
            table.add_row(key, value)
        console().print(titled(f"Gate {details['name']}", table))

    @app.command("eval", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def eval_(
        ctx: typer.Context,
        name: GateName,
        values: Annotated[
            list[str], typer.Argument(metavar="V1 [V2 ...]", help="One number per input; negatives as typed: -3.")
        ],
        json: Json = False,
    ) -> None:
        """A gate's value and its local gradients: gatekit eval mul 1 -3."""
        registry = registry_of(ctx)
        registry.gate(name)  # an unknown gate is the first thing to report
        result = evaluate_gate(registry, name, parse_numbers(values, "eval"))
        if json:
            emit_json(result)
            return
        _print_evaluation(result, registry)


def _print_evaluation(result: dict[str, Any], registry: Registry) -> None:
    from rich.table import Table

    gate = registry.gate(result["gate"])
    args = ", ".join(fmt(x) for x in result["inputs"])
    out = console()
    out.print(f"{result['gate']}({args}) = {fmt(result['output'])}    ({gate.doc})")
    table = Table()
    table.add_column("input")
    table.add_column("value", justify="right")
    table.add_column("d out / d input", justify="right")
    for k, (x, g) in enumerate(zip(result["inputs"], result["grads"])):
        table.add_row(f"x{k}", fmt(x), fmt(g))
    out.print(titled("local gradients (upstream gradient 1)", table))
    if getattr(gate, "grad_doc", None):
        out.print(f"rule: {gate.grad_doc}")
