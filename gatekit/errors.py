"""One error hierarchy for gatekit.

Every error a user can cause is a :class:`GatekitError`. The CLI turns it into one
line on stderr and exits with its ``exit_code`` (2 for usage errors, 1 otherwise).
Messages say what was wrong, where, and what would be valid.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "GatekitError",
    "UsageError",
    "PluginError",
    "PluginLoadError",
    "GateValidationError",
    "NameConflictError",
    "UnknownNameError",
    "CircuitError",
    "ExpressionError",
    "CircuitFileError",
    "GateContractError",
    "StrategyContractError",
    "NonFiniteError",
    "OptionError",
    "DataFileError",
    "ModelFileError",
    "MissingExtraError",
    "suggest",
    "did_you_mean",
]


class GatekitError(Exception):
    """Root of every error gatekit raises on purpose."""

    exit_code = 1


class UsageError(GatekitError):
    """The user asked for something that cannot be done as asked."""

    exit_code = 2


class PluginError(GatekitError):
    """Something a plugin did (or failed to do). Carries the plugin's name."""

    def __init__(self, message: str, plugin: str | None = None):
        super().__init__(message)
        self.plugin = plugin


class PluginLoadError(PluginError):
    """A plugin raised while being imported or while its hook ran."""


class GateValidationError(PluginError):
    """A plugin registered something that is not a valid gate or strategy."""


class NameConflictError(PluginError):
    """Two plugins registered the same name and the later did not say it overrides."""

    def __init__(self, message: str, plugin: str | None = None, other: str | None = None):
        super().__init__(message, plugin)
        self.other = other


def suggest(name: str, known: Iterable[str], cutoff: float = 0.5) -> list[str]:
    """The known names closest to ``name``, best first (for "did you mean")."""
    return difflib.get_close_matches(name, sorted(known), n=3, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str], otherwise: str = "") -> str:
    """The one "did you mean" phrase: ``did you mean 'a' or 'b'?``, else ``otherwise``."""
    close = suggest(name, known)
    return "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else otherwise


class UnknownNameError(UsageError, KeyError):
    """A gate, strategy, input or option name that nothing registered.

    ``kind`` says what was looked up ("gate", "strategy", ...), ``suggestions`` holds
    the closest known names.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str], where: str = ""):
        known = list(known)
        self.kind, self.name, self.suggestions = kind, name, suggest(name, known)
        message = f"unknown {kind} {name!r}"
        if where:
            message += f" {where}"
        if self.suggestions:
            message += "; " + did_you_mean(name, known)
        elif known:
            shown = ", ".join(sorted(known)[:20])
            message += f"; known {kind}s: {shown}" + (", ..." if len(known) > 20 else "")
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class CircuitError(UsageError):
    """A circuit that cannot be built as described."""


class ExpressionError(CircuitError):
    """An expression outside the whitelist, or one that refers to unknown names.

    ``line`` and ``column`` (1-based) locate the offending piece when known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line, self.column = line, column
        if line is not None:
            where = f"line {line}, column {column}" if column is not None else f"line {line}"
            message = f"{message} (at {where})"
        super().__init__(message)


class CircuitFileError(CircuitError):
    """A circuit file that cannot be read, with the path of the offending entry."""


class GateContractError(PluginError):
    """A gate broke the protocol at run time (wrong number or shape of gradients)."""


class StrategyContractError(PluginError):
    """A strategy broke the protocol while running (raised, or returned a bad point)."""


class NonFiniteError(GatekitError):
    """A value became inf or nan; names the first node where it appeared."""

    def __init__(self, message: str, node: int | None = None):
        super().__init__(message)
        self.node = node


class OptionError(UsageError):
    """An unknown strategy option, or a value of the wrong type."""


def warn_deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that the public spelling ``old`` is an alias of ``new``, kept for a while.

    Every message starts with "gatekit: ", which pyproject's ``filterwarnings`` turns into
    an error in the test suite, so gatekit's own code never uses an old spelling.
    """
    import warnings

    warnings.warn(f"gatekit: {old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)


class DataFileError(UsageError):
    """A data file (CSV or .npy) that cannot be used, naming the row or column at fault."""


class ModelFileError(UsageError):
    """A saved model that cannot be read back, naming the key at fault."""


class MissingExtraError(GatekitError):
    """An optional dependency is not installed; names the extra that brings it."""

    def __init__(self, what: str, package: str, extra: str):
        super().__init__(f"{what} needs {package}, which is not installed: pip install 'gatekit[{extra}]'")
        self.package, self.extra = package, extra
