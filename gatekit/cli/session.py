"""What every command shares: the registry of this run, error reporting, and output.

One :class:`Session` per invocation holds the ``--plugin`` values and loads the
registry once, on first use (so ``--help`` and shell completion never load plugins).
Plugin load errors become one-line warnings on stderr: stdout stays clean for ``--json``.

:func:`reports_errors` wraps every command: a :class:`~gatekit.GatekitError` becomes
one line ``Error: ...`` on stderr and the error's exit code (2 for usage errors, 1 for
failures); anything else becomes one line and a hint to set ``GATEKIT_DEBUG=1``, which
prints the traceback too.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import numpy as np
import typer

from ..containment import describe, is_user_interrupt
from ..errors import GatekitError
from ..explain import number
from ..plugins import load_registry
from ..registry import Registry

__all__ = [
    "Json",
    "Session",
    "session",
    "registry_of",
    "reports_errors",
    "emit_json",
    "jsonable",
    "fmt",
    "console",
    "titled",
    "names",
    "warn",
    "debug_enabled",
    "NAME_COLUMN",
    "NAMES_COLUMN",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130

#: The ``--json`` flag every command that prints data has.
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (and nothing else) instead of tables.")]


@dataclass
class Session:
    """One invocation: the plugins named on the command line (extra, disabled), and their registry."""

    plugins: tuple[str, ...] = ()
    quiet_warnings: bool = False
    disabled: tuple[str, ...] = ()
    _registry: Registry | None = field(default=None, repr=False)

    def loaded_registry(self) -> Registry | None:
        """The registry of this run if it is loaded already (None before first use)."""
        return self._registry

    def registry(self) -> Registry:
        """The registry of this run, loaded on first use; load errors become warnings."""
        if self._registry is None:
            env: dict[str, str] | None = None
            if self.disabled:  # --disable-plugin adds to the environment's block-list
                env = dict(os.environ)
                env["GATEKIT_DISABLE_PLUGINS"] = ",".join([env.get("GATEKIT_DISABLE_PLUGINS", ""), *self.disabled])
            registry = load_registry(extra=self.plugins, env=env)
            if not self.quiet_warnings:
                for notice in registry.notices:
                    typer.echo(f"Note: {one_line(notice)}", err=True)
                for problem in registry.load_errors:
                    warn(f"plugin {problem.plugin!r} failed ({problem.stage}): {problem.message}")
                for message in registry.messages:
                    warn(str(message))
            self._registry = registry
        return self._registry


def session(ctx: typer.Context) -> Session:
    """The session of this invocation (made here when the root callback did not run)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        plugins = root.params.get("plugin") or ()
        root.obj = Session(tuple(plugins), disabled=tuple(root.params.get("disable_plugin") or ()))
    return root.obj


def registry_of(ctx: typer.Context) -> Registry:
    return session(ctx).registry()


# -- errors ----------------------------------------------------------------------------------


def debug_enabled() -> bool:
    return os.environ.get("GATEKIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def one_line(text: str) -> str:
    """A message as one line: a multi-line message's lines joined with '; '."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def warn(message: str) -> None:
    typer.echo(f"Warning: {one_line(message)}", err=True)


#: click's root exception, found through typer's public classes (typer may ship its own click).
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _is_click_signal(exc: BaseException) -> bool:
    """Exceptions click uses to steer the run (usage errors, exit, abort): let them through."""
    return isinstance(exc, (typer.Exit, typer.Abort, _CLICK_EXCEPTION))


def fail(message: str, code: int) -> typer.Exit:
    if debug_enabled():
        traceback.print_exc(file=sys.stderr)
    typer.echo(f"Error: {one_line(message)}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """A warning raised while a command runs (a plugin's gate, numpy) is one ``Warning:`` line.

    Python would print it as two raw lines (file and source line), which no one
    reading the CLI's stderr expects.
    """
    with warnings.catch_warnings(record=True) as caught:  # the filters as they are: only the printing changes
        try:
            yield
        finally:
            for shown in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
                warn(shown)


def reports_errors(command: F) -> F:
    """Turn errors raised by ``command`` into one line on stderr and an exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with _warnings_as_lines():
                return command(*args, **kwargs)
        except GatekitError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `gatekit gates | head`: the reader left; not our error
                raise
            raise fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), 1) from None
        except Exception as exc:
            if _is_click_signal(exc):
                raise
            hint = "" if debug_enabled() else " (set GATEKIT_DEBUG=1 to see the traceback)"
            raise fail(f"unexpected {describe(exc)}{hint}", 1) from None
        except BaseException as exc:
            # Plugin code is contained where it is called; what still gets here is the
            # user's Ctrl-C, or a plugin's SystemExit/BaseException from an uncontained spot.
            if is_user_interrupt(exc):
                raise fail("interrupted", INTERRUPTED) from None
            hint = "" if debug_enabled() else " (set GATEKIT_DEBUG=1 to see the traceback)"
            raise fail(f"plugin code raised {describe(exc)}{hint}", 1) from None

    return run  # type: ignore[return-value]


# -- output ----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars as numbers, arrays as lists.

    JSON has no inf or nan, so a non-finite number becomes null (as in JavaScript).
    Recursion is safe here: the data is built by the CLI and a few levels deep.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout: the only thing a ``--json`` run prints there."""
    typer.echo(json.dumps(jsonable(data), indent=2, allow_nan=False))


def fmt(value: Any, digits: int | None = None) -> str:
    """A number for people: exact (shortest repr) by default, or ``digits`` significant
    (the rule pictures use too); an array in full."""
    array = np.asarray(value)
    if array.ndim:
        return np.array2string(array, precision=digits or 8, separator=", ")
    return number(array, digits)


def console(stderr: bool = False) -> Any:
    """A rich console on the current stdout (or stderr), made per use so tests can capture it.

    Markup is off: gate docs and user text may hold brackets ("x in [0, 1]").
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if not _can_encode(stream, "\u2026\u2500"):
        # An ASCII or C locale terminal: rich draws ASCII boxes by itself, but cuts long
        # text with '…' whatever the encoding; write that as '...' and anything else
        # the terminal cannot show as '?', rather than fail half-way through a table.
        return Console(file=_Encodable(stream), highlight=False, markup=False)  # type: ignore[arg-type]
    return Console(stderr=stderr, highlight=False, markup=False)


#: Table column settings for one identifier a cell (gate, plugin, strategy, option): kept on one
#: line, and folded rather than cut with "…" if even that cannot fit (an 80-column pipe).
NAME_COLUMN: dict[str, Any] = {"no_wrap": True, "overflow": "fold"}
#: For a list of identifiers a cell: wrapped between names, never cut.
NAMES_COLUMN: dict[str, Any] = {"overflow": "fold"}


def _can_encode(stream: Any, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class _Encodable:
    """A text stream that only ever receives what its encoding can hold."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        text = text.replace("\u2026", "...")
        self.stream.write(text.encode(self.encoding, "replace").decode(self.encoding))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno: the stream's own
        return getattr(self.stream, name)


def titled(title: str, renderable: Any) -> Any:
    """``renderable`` under a heading line (a rich table's own title would wrap to its width)."""
    from rich.console import Group
    from rich.text import Text

    return Group(Text(title), renderable)


def names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "-"
