"""``gatekit check [GATE ...]``: every gate's backward against central differences."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..check import check_gate
from ..errors import UsageError
from .completion import complete_gate
from .values import parse_number
from .session import NAME_COLUMN, Json, console, emit_json, fmt, registry_of, reports_errors, titled, warn

__all__ = ["register"]



def register(app: typer.Typer) -> None:
    @app.command("check")
    @reports_errors
    def check(
        ctx: typer.Context,
        gates: Annotated[
            Optional[list[str]],
            typer.Argument(metavar="[GATE]...", help="Gates to check (default: every registered gate).",
                           autocompletion=complete_gate, show_default=False),
        ] = None,
        rounds: Annotated[int, typer.Option("--rounds", min=1, help="Random rounds per gate.")] = 5,
        old_rounds: Annotated[Optional[int], typer.Option("--points", min=1, hidden=True)] = None,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random points.")] = 0,
        at: Annotated[
            Optional[list[str]],
            typer.Option("--at", metavar="X[,Y...]", show_default=False,
                         help="Check one gate at this point instead (its inputs, comma-separated; repeatable)."),
        ] = None,
        json: Json = False,
    ) -> None:
        """Gradient-check gates at random points of their domains; exit 1 if any fails."""
        if old_rounds is not None:  # the old name; --points FILE means points elsewhere (gatekit run)
            warn("gatekit check --points is deprecated; use --rounds")
            rounds = old_rounds
        registry = registry_of(ctx)
        entries = [registry.entry("gate", name) for name in gates] if gates else list(registry.iter_entries("gate"))
        if at and len(entries) != 1:
            raise UsageError(f"--at gives the inputs of one gate; name exactly one GATE (got {len(entries)})")
        points_at = [_point(text, entry.obj.arity) for text in at for entry in entries] if at else None
        rows: list[dict[str, Any]] = []
        for entry in entries:
            result = check_gate(entry.obj, rounds=rounds, seed=seed, plugin=entry.plugin.name, at=points_at)
            explained = result.diagnosis or result.kink
            rows.append({
                "gate": entry.name,
                "plugin": entry.plugin.name,
                "ok": bool(result.ok),
                "result": "kink" if result.ok and result.kink else ("ok" if result.ok else "FAILED"),
                "max_abs_error": result.max_abs_error,
                "max_rel_error": result.max_rel_error,
                "error": result.error,
                "diagnosis": explained.to_dict() if explained is not None else None,
                "detail": None if result.ok and not result.kink else result.describe(),
            })
        if json:
            emit_json(rows)
        else:
            _print_rows(rows)
        failed = [row["gate"] for row in rows if not row["ok"]]
        if failed:
            typer.echo(f"Error: {len(failed)} of {len(rows)} gate(s) failed the gradient check: "
                       f"{', '.join(failed)}", err=True)
            raise typer.Exit(1)


def _print_rows(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table()
    for column in ("gate", "plugin", "result", "max abs error", "max rel error"):
        table.add_column(column, justify="right" if "error" in column else "left", **NAME_COLUMN)
    for row in rows:
        table.add_row(row["gate"], row["plugin"], row["result"],
                      fmt(row["max_abs_error"], 3), fmt(row["max_rel_error"], 3))
    out = console()
    out.print(titled("gradient check: backward against central differences", table))
    for row in rows:
        if row["detail"]:
            out.print(row["detail"])  # the table says FAILED (or kink) once; this says why
    failed = [row for row in rows if not row["ok"]]
    out.print(f"{len(rows) - len(failed)} of {len(rows)} gate(s) passed")


def _point(text: str, arity: int) -> list[float]:
    """``--at 1,-2`` as the inputs of a gate with ``arity`` inputs."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != arity:
        raise UsageError(f"--at {text!r} gives {len(parts)} value(s); the gate takes {arity} (e.g. --at "
                         f"{','.join(['0.5'] * arity)})")
    return [parse_number(part, f"--at {text!r}") for part in parts]
