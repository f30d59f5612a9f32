"""The ``gatekit`` command line: list, explain, evaluate, run, optimize, check, draw, tour.

One module per command (or group of commands), each with a ``register(app)``; this
module holds the root app, the global options (``--plugin``, ``--disable-plugin``,
``--version``) and the entry point (also run by ``python -m gatekit``).
Command names, options and ``--json`` shapes are a contract (see the README).
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from . import check, codegen, gates, graph, optimize, plugin_new, plugins, run, step, strategies, tour, train
from .._version import __version__
from ..containment import watching_interrupts
from .plugin_output import plugin_prints_held_for_stderr
from .session import INTERRUPTED, Session, reports_errors, warn
from .single_options import refuse_repeated_options

__all__ = ["app", "main"]

app = typer.Typer(
    name="gatekit",
    help="Backpropagation on real-valued circuits: gates as plugins, every value and gradient visible.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,  # errors are one line (GATEKIT_DEBUG=1 for the traceback)
    # Help is rich markup (typer's default only where it finds rich, and not in every version):
    # so a literal bracket goes through gatekit/cli/markup.py's literal() (tests/test_cli_help.py checks).
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
)


# invoke_without_command: `--version` is handled after every global option is parsed (so
# that it lists the plugins of this run); without a command and without it, `gatekit
# --plugin x` is still the usual "Missing command" error.
@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    plugin: Annotated[
        Optional[list[str]],
        typer.Option(
            "--plugin",
            metavar="MODULE_OR_PATH",
            help="Load an importable module or a .py file as a plugin for this run (repeatable).",
            show_default=False,
        ),
    ] = None,
    disable_plugin: Annotated[
        Optional[list[str]],
        typer.Option(
            "--disable-plugin",
            metavar="NAME",
            help="Do not load the plugin NAME for this run (repeatable; adds to GATEKIT_DISABLE_PLUGINS).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print gatekit's version and each loaded plugin's, then exit."),
    ] = False,
) -> None:
    """Backpropagation on real-valued circuits: gates as plugins, every value and gradient visible."""
    ctx.obj = Session(tuple(plugin or ()), disabled=tuple(disable_plugin or ()))
    # Until the command ends, a real Ctrl-C is told from a plugin's KeyboardInterrupt.
    ctx.with_resource(watching_interrupts())
    # What gates and strategies print while the command runs: off stdout, one stderr line each.
    ctx.with_resource(plugin_prints_held_for_stderr(ctx.obj.loaded_registry, warn))
    if version:
        print_version(ctx.obj)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        ctx.fail("Missing command.")


@reports_errors
def print_version(run: Session) -> None:
    """``gatekit X``, then one line per loaded plugin: its name, version and where it came from."""
    lines = [f"gatekit {__version__}"]
    for info in run.registry().plugins:
        origin = "built-in" if info.builtin else (f"from {info.distribution}" if info.distribution else "--plugin")
        lines.append(f"  {info.name} {info.version or '-'} ({origin})")
    typer.echo("\n".join(lines))


for _module in (gates, run, step, graph, optimize, strategies, check, plugins, plugin_new, tour, codegen, train):
    _module.register(app)
refuse_repeated_options(app)  # `--steps 1 --steps 2` is a usage error, in every command


def main() -> None:
    """The console script: ``gatekit ...``.

    Runs the app outside click's standalone mode so that the parser's own usage errors
    (an unknown command or option, ``--steps abc``) come out as one line too, like every
    error gatekit raises, instead of click's multi-line box.
    """
    for stream in (sys.stdout, sys.stderr):
        # Under LC_ALL=C or PYTHONIOENCODING=ascii a label or gate doc with 'ñ' must not
        # turn a finished result into a UnicodeEncodeError: show what cannot be shown as '?'.
        if getattr(stream, "errors", "strict") == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        code = app(prog_name="gatekit", standalone_mode=False)
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            print("Error: interrupted", file=sys.stderr)
            sys.exit(INTERRUPTED)
        print("Error: aborted", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C outside any command (while the parser ran)
        print("Error: interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except Exception as exc:
        # typer vendors click, so its exceptions are matched by what they offer.
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `gatekit`: the help, as usual
            print(exc.format_message())
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        print(f"Error: {message}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
