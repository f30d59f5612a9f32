"""``gatekit plugin new NAME``: write a ready plugin distribution to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..scaffold import new_plugin
from .session import reports_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="plugin", help="Write plugins: gatekit plugin new NAME.", no_args_is_help=True)

    @group.command("new")
    @reports_errors
    def new(
        name: Annotated[str, typer.Argument(help="The distribution and plugin name, e.g. my-gates.")],
        directory: Annotated[
            Optional[str],
            typer.Option("--dir", metavar="DIR", help="Where to write it (default: ./NAME; must be new or empty).",
                         show_default=False),
        ] = None,
    ) -> None:
        """Write a plugin distribution: pyproject, one gate, one strategy, tests, README."""
        written = new_plugin(name, directory)
        root = Path(name if directory is None else directory)
        typer.echo(f"wrote {len(written)} files to {root}/:")
        for path in written:
            typer.echo(f"  {path.relative_to(root)}")
        typer.echo(f"next: cd {root} && pip install -e '.[test]' && pytest")

    app.add_typer(group)
