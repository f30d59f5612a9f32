"""``gatekit plugins``: what loaded, what each gave, and what failed to load."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..registry import Registry
from .session import NAME_COLUMN, NAMES_COLUMN, Json, console, emit_json, names, registry_of, reports_errors, titled

__all__ = ["register", "plugin_rows"]



def plugin_rows(registry: Registry, include_builtin: bool) -> list[dict[str, Any]]:
    """One row per plugin: loaded ones in load order, then any that failed before loading."""
    errors: dict[str, list[dict[str, str]]] = {}
    for problem in registry.load_errors:
        errors.setdefault(problem.plugin, []).append({"stage": problem.stage, "message": problem.message})
    said: dict[str, list[dict[str, str]]] = {}
    for message in registry.messages:
        said.setdefault(message.plugin, []).append({"stage": message.stage, "message": message.message})
    rows = []
    for info in registry.plugins:
        if info.builtin and not include_builtin and info.name not in errors and info.name not in said:
            continue
        given = registry.provided_by(info.name)
        rows.append({
            "name": info.name,
            "version": info.version,
            "distribution": info.distribution,
            "builtin": info.builtin,
            "loaded": True,
            "gates": given.get("gate", []),
            "strategies": given.get("strategy", []),
            "errors": errors.get(info.name, []),
            "messages": said.get(info.name, []),
        })
    loaded = {info.name for info in registry.plugins}
    for name, problems in errors.items():
        if name not in loaded:
            rows.append({"name": name, "version": None, "distribution": None, "builtin": False, "loaded": False,
                         "gates": [], "strategies": [], "errors": problems, "messages": said.get(name, [])})
    return rows


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    @reports_errors
    def plugins(
        ctx: typer.Context,
        all_: Annotated[bool, typer.Option("--all", help="Include the plugins built into gatekit.")] = False,
        json: Json = False,
    ) -> None:
        """Loaded plugins with their versions, the gates and strategies each gave, and load errors."""
        rows = plugin_rows(registry_of(ctx), include_builtin=all_)
        if json:
            emit_json(rows)
            return
        from rich.table import Table

        table = Table()
        # The plugin's name whole on one line; "(built-in)" may wrap under it.
        table.add_column("plugin", min_width=max((len(row["name"]) for row in rows), default=1), **NAMES_COLUMN)
        table.add_column("version", **NAME_COLUMN)
        for column in ("gates", "strategies"):  # wide enough for the longest name and its comma
            widest = max((len(name) + 1 for row in rows for name in row[column]), default=1)
            table.add_column(column, min_width=widest, **NAMES_COLUMN)
        any_problems = any(row["errors"] or row["messages"] for row in rows)
        if any_problems:  # a column of dashes would only narrow the others
            table.add_column("problems", **NAMES_COLUMN)
        for row in rows:
            name = row["name"] + (" (built-in)" if row["builtin"] else "") + ("" if row["loaded"] else " (not loaded)")
            notes = [f"{p['stage']}: {p['message']}" for p in row["errors"]]
            notes += [f"said ({m['stage']}): {m['message']}" for m in row["messages"]]
            problems = "; ".join(notes)
            cells = [name, row["version"] or "-", names(row["gates"]), names(row["strategies"])]
            table.add_row(*cells, *([problems or "-"] if any_problems else []))
        out = console()
        if rows:
            out.print(titled("Plugins" + ("" if all_ else " (built-ins with --all)"), table))
        else:
            out.print("No third-party plugins are loaded (gatekit plugins --all shows the built-in ones).")
