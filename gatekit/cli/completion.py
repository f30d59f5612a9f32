"""Shell completion of gate and strategy names (``gatekit --install-completion``).

Completion runs without the root callback, so the registry is loaded here from the
``--plugin`` values already typed, with warnings kept off the shell's prompt.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from .session import Session

__all__ = ["complete_gate", "complete_strategy"]


def _names(ctx: typer.Context, kind: str, incomplete: str) -> list[tuple[str, str]]:
    try:
        plugins = ctx.find_root().params.get("plugin") or ()
        registry = Session(tuple(plugins), quiet_warnings=True).registry()
    except Exception:  # completing must never print a traceback into the shell
        return []
    return [
        (entry.name, _first_line(getattr(entry.obj, "doc", "")))
        for entry in registry.iter_entries(kind)
        if entry.name.startswith(incomplete)
    ]


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _completer(kind: str) -> Callable[[typer.Context, str], list[tuple[str, str]]]:
    def complete(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
        return _names(ctx, kind, incomplete)

    complete.__name__ = f"complete_{kind}"
    return complete


complete_gate = _completer("gate")
complete_strategy = _completer("strategy")
