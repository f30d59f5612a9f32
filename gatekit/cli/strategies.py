"""``gatekit strategies`` and ``gatekit strategies show NAME``: what can climb, and its options."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..strategy import describe_strategy
from .completion import complete_strategy
from .session import NAME_COLUMN, NAMES_COLUMN, Json, console, emit_json, registry_of, reports_errors, titled

__all__ = ["register"]

StrategyName = Annotated[
    str, typer.Argument(metavar="NAME", help="A registered strategy name.", autocompletion=complete_strategy)
]


def _options_table(info: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table()
    for column in ("option", "type"):
        table.add_column(column, **NAME_COLUMN)
    for column in ("default", "valid", "help"):
        table.add_column(column, **NAMES_COLUMN)
    for o in info["options"]:
        table.add_row(o["name"], o["type"], repr(o["default"]), o.get("range") or "", o["help"])
    if not info["options"]:
        table.add_row("(none)", "", "", "", "")
    return titled(f"{info['name']} ({info['plugin']}): {info['doc']}", table)


def register(app: typer.Typer) -> None:
    strategies_app = typer.Typer(help="List the registered strategies and their options, or show one.")
    app.add_typer(strategies_app, name="strategies")

    @strategies_app.callback(invoke_without_command=True)
    @reports_errors
    def strategies(ctx: typer.Context, json: Json = False) -> None:
        """Every strategy with its options (name, type, default, help) and plugin."""
        if ctx.invoked_subcommand is not None:
            return
        registry = registry_of(ctx)
        infos = [describe_strategy(name, registry) for name in registry.strategy_names()]
        if json:
            emit_json(infos)
            return
        out = console()
        if not infos:
            out.print("No strategies are registered.")
        for info in infos:
            out.print(_options_table(info))

    @strategies_app.command("show")
    @reports_errors
    def show(ctx: typer.Context, name: StrategyName, json: Json = False) -> None:
        """One strategy: what it does, its options, and the plugin that gave it."""
        info = describe_strategy(name, registry_of(ctx))
        if json:
            emit_json(info)
        else:
            console().print(_options_table(info))
