"""The registry: name -> gate (or strategy), with where each came from.

This is the one place that resolves a name. Everything registered passes a
validator at the door, so the rest of gatekit can trust what it looks up.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import GateValidationError, NameConflictError, UnknownNameError
from .gate import OPERATOR_SYMBOLS, Domain, Gate
from .strategy import validate_strategy
from .values import NAME_PATTERN

__all__ = ["Registry", "Entry", "LoadError", "PluginMessage", "PluginInfo", "validate_gate", "NAME_PATTERN", "MAX_ARITY"]

#: The most inputs a gate may take. Every use spells each argument out (an expression,
#: a file, ``gatekit eval``), and ``gatekit check`` differentiates numerically in every
#: input (work grows with arity squared: about 2 s at 64 inputs, 20 s at 256), so an
#: unbounded arity (``10**9``) would make them run without end. 256 leaves room for
#: composite gates of many scalar inputs; arrays, not arity, carry wide data.
MAX_ARITY = 256


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name, the distribution that shipped it, and its version."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False


@dataclass(frozen=True)
class Entry:
    """A registered object and its provenance."""

    kind: str  # "gate" or "strategy"
    name: str
    obj: Any
    plugin: PluginInfo
    overrides: PluginInfo | None = None  # whom it replaced, when it overrode on purpose


@dataclass(frozen=True)
class LoadError:
    """A plugin that failed to import, whose hook raised, or that registered junk."""

    plugin: str
    message: str
    stage: str  # "import", "hook", "register"

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.stage}): {self.message}"


@dataclass(frozen=True)
class PluginMessage:
    """One line a plugin printed or warned while it was imported or its hook ran.

    Captured at load time so that stdout stays clean for ``--json``; the CLI shows
    them on stderr and in ``gatekit plugins``.
    """

    plugin: str
    message: str
    stage: str  # "import", "hook"

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.stage}) said: {self.message}"


_MISSING = object()


def _attr(obj: Any, attr: str) -> Any:
    """``getattr`` that turns a raising property into "missing" (validation never crashes)."""
    try:
        return getattr(obj, attr, _MISSING)
    except Exception:
        return _MISSING


def _call_problem(function: Any, takes: int) -> str | None:
    """Why ``function`` cannot be called with ``takes`` positional arguments (None if it can)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return None
    low, high = 0, 0.0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            high = math.inf
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            high += 1
            low += parameter.default is parameter.empty
        elif parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty:
            return f"requires the keyword-only argument {parameter.name!r}"
    if low <= takes <= high:
        return None
    if low == high:
        can = f"{low}"
    elif high == math.inf:
        can = f"at least {low}"
    else:
        can = f"{low} to {int(high)}"
    return f"takes {can} positional argument(s), not {takes}"


def _check_method(gate: Any, method: str, takes: int | None, spelled: str, problems: list[str]) -> None:
    function = _attr(gate, method)
    if function is _MISSING or function is None:
        problems.append(f"{method} is missing (it should be {spelled})")
        return
    if not callable(function):
        problems.append(f"{method} is not callable (it should be {spelled})")
        return
    # Subclassing Gate without writing the method inherits the protocol's stub,
    # which returns None: catch it here rather than at the first backward pass.
    if getattr(function, "__func__", None) is getattr(Gate, method):
        problems.append(f"{method} is not implemented (it should be {spelled})")
        return
    problem = None if takes is None else _call_problem(function, takes)
    if problem is not None:
        problems.append(f"{method} {problem}; the gate's arity means it is called as {spelled}")


def validate_gate(gate: Any) -> list[str]:
    """What is wrong with ``gate`` as a gate (empty when it is a valid one)."""
    problems: list[str] = []
    if isinstance(gate, type):
        return [f"got the class {gate.__name__}, not an instance (register {gate.__name__}())"]
    if all(_attr(gate, attr) is _MISSING for attr in ("name", "arity", "forward", "backward")):
        shown = repr(gate)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return [f"{shown} is not a gate (a gate has name, arity, doc, forward and backward; see gatekit.Gate)"]
    name = _attr(gate, "name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        what = "name is missing" if name is _MISSING else f"name {name!r} is not a valid gate name"
        problems.append(
            f"{what} (a lowercase letter or '_' first, then lowercase letters, digits, '_' and "
            "single '-', e.g. 'mul' or 'soft_plus')"
        )
    arity = _attr(gate, "arity")
    arity_ok = isinstance(arity, int) and not isinstance(arity, bool) and 1 <= arity <= MAX_ARITY
    if not arity_ok:
        if arity is _MISSING:
            what = "arity is missing"
        elif isinstance(arity, int) and not isinstance(arity, bool) and arity > MAX_ARITY:
            what = f"arity {arity} is more than {MAX_ARITY}, the most a gate may take"
        else:
            what = f"arity {_short(arity)} is not a positive integer"
        problems.append(f"{what} (the number of inputs)")
    doc = _attr(gate, "doc")
    if not isinstance(doc, str) or not doc.strip():
        problems.append("doc is missing (one line with the formula, e.g. 'mul(x, y) = x * y')")
    elif "\n" in doc.strip():
        problems.append("doc has several lines; it must be one line with the formula (tables show it as is)")
    grad_doc = _attr(gate, "grad_doc")
    if grad_doc is not _MISSING and grad_doc is not None and not isinstance(grad_doc, str):
        problems.append(f"grad_doc {grad_doc!r} is not a string")
    args = ", ".join(f"x{k}" for k in range(arity)) if arity_ok and arity <= 8 else "*xs"
    _check_method(gate, "forward", arity if arity_ok else None, f"forward({args})", problems)
    _check_method(gate, "backward", arity + 2 if arity_ok else None, f"backward(grad, out, {args})", problems)
    symbol = _attr(gate, "symbol")
    if symbol is not _MISSING and symbol is not None and arity_ok:
        allowed = OPERATOR_SYMBOLS.get(arity, ())
        if symbol not in allowed:
            problems.append(
                f"symbol {symbol!r} is not an operator a {arity}-input gate can bind"
                + (f" (valid: {', '.join(allowed)})" if allowed else " (only 1- and 2-input gates bind operators)")
            )
    domain = _attr(gate, "domain")
    if domain is not _MISSING and domain is not None and not isinstance(domain, Domain):
        problems.append(f"domain {domain!r} is not a gatekit.Domain")
    return problems


VALIDATORS: dict[str, Callable[[Any], list[str]]] = {
    "gate": validate_gate,
    "strategy": validate_strategy,
}


@dataclass
class Registry:
    """Everything the loaded plugins registered, and what went wrong while loading."""

    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {"gate": {}, "strategy": {}})
    plugins: list[PluginInfo] = field(default_factory=list)
    load_errors: list[LoadError] = field(default_factory=list)
    #: What a load did that a user should know but is no error (an installed plugin replaced by --plugin).
    notices: list[str] = field(default_factory=list)
    #: What plugins printed or warned while loading, one line each.
    messages: list[PluginMessage] = field(default_factory=list)
    #: (operator symbol, arity) -> name of the gate that binds it.
    symbols: dict[tuple[str, int], str] = field(default_factory=dict)
    #: The pluggy manager that loaded the plugins (None for a registry filled by hand).
    plugin_manager: Any = field(default=None, repr=False, compare=False)

    # -- adding ---------------------------------------------------------------------
    def add(self, kind: str, obj: Any, plugin: PluginInfo | str, override: bool = False) -> Entry:
        """Validate ``obj`` and register it under its name for ``plugin``.

        Raises :class:`GateValidationError` for junk and :class:`NameConflictError`
        when the name is taken and ``override`` is false.
        """
        if isinstance(plugin, str):
            plugin = PluginInfo(plugin)
        if kind not in VALIDATORS:
            raise UnknownNameError("kind", str(kind), VALIDATORS)
        problems = VALIDATORS[kind](obj)
        if problems:
            raise GateValidationError(
                f"plugin {plugin.name!r} registered an invalid {kind} {_describe(obj)}: " + "; ".join(problems),
                plugin=plugin.name,
            )
        table = self.entries[kind]
        previous = table.get(obj.name)
        if previous is not None and not override:
            raise NameConflictError(
                f"{kind} {obj.name!r} from plugin {plugin.name!r} conflicts with the one from plugin "
                f"{previous.plugin.name!r}; to replace it on purpose, register it with override=True",
                plugin=plugin.name,
                other=previous.plugin.name,
            )
        symbol_key = None
        if kind == "gate" and getattr(obj, "symbol", None) is not None:
            symbol_key = (obj.symbol, obj.arity)
            holder = self.symbols.get(symbol_key)
            if holder is not None and holder != obj.name and not override:
                other = table[holder].plugin.name
                raise NameConflictError(
                    f"gate {obj.name!r} from plugin {plugin.name!r} binds operator {obj.symbol!r}, "
                    f"already bound by gate {holder!r} from plugin {other!r}; to rebind it on purpose, "
                    "register it with override=True",
                    plugin=plugin.name,
                    other=other,
                )
        entry = Entry(kind, obj.name, obj, plugin, previous.plugin if previous else None)
        table[obj.name] = entry
        if previous is not None and kind == "gate":
            old_key: tuple[str, int] = (getattr(previous.obj, "symbol", None), previous.obj.arity)  # type: ignore[assignment]
            if self.symbols.get(old_key) == obj.name:
                del self.symbols[old_key]
        if symbol_key is not None:
            self.symbols[symbol_key] = obj.name
        return entry

    def add_gate(self, gate: Any, plugin: PluginInfo | str = "user", override: bool = False) -> Entry:
        return self.add("gate", gate, plugin, override)

    def add_strategy(self, strategy: Any, plugin: PluginInfo | str = "user", override: bool = False) -> Entry:
        return self.add("strategy", strategy, plugin, override)

    # -- looking up -----------------------------------------------------------------
    def entry(self, kind: str, name: str) -> Entry:
        """The entry for ``name`` (with provenance); an error with the closest names if none."""
        if kind not in self.entries:
            raise UnknownNameError("kind", str(kind), self.entries)
        table = self.entries[kind]
        try:
            return table[name]
        except (KeyError, TypeError):
            raise UnknownNameError(kind, str(name), table) from None

    def gate(self, name: str) -> Gate:
        """The gate registered as ``name``; an error with the closest names if none is."""
        gate: Gate = self.entry("gate", name).obj
        return gate

    def strategy(self, name: str) -> Any:
        return self.entry("strategy", name).obj

    def gate_names(self) -> list[str]:
        return sorted(self.entries["gate"])

    def strategy_names(self) -> list[str]:
        return sorted(self.entries["strategy"])

    def iter_entries(self, kind: str) -> Iterator[Entry]:
        if kind not in self.entries:
            raise UnknownNameError("kind", str(kind), self.entries)
        table = self.entries[kind]
        return (table[name] for name in sorted(table))

    def __contains__(self, name: object) -> bool:
        return name in self.entries["gate"]

    def __repr__(self) -> str:
        errors = f", {len(self.load_errors)} load error(s)" if self.load_errors else ""
        return (f"<Registry {len(self.entries['gate'])} gates, {len(self.entries['strategy'])} strategies, "
                f"{len(self.plugins)} plugin(s){errors}>")

    def operator(self, symbol: str, arity: int) -> Any | None:
        """The gate that binds ``symbol`` with ``arity`` inputs, or None."""
        name = self.symbols.get((symbol, arity))
        return None if name is None else self.entries["gate"][name].obj

    def plugin(self, name: str) -> PluginInfo:
        for info in self.plugins:
            if info.name == name:
                return info
        raise UnknownNameError("plugin", name, [p.name for p in self.plugins])

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """The gates and strategies that ``plugin`` gave, by kind."""
        return {
            kind: sorted(e.name for e in table.values() if e.plugin.name == plugin)
            for kind, table in self.entries.items()
        }


def _short(value: Any) -> str:
    """``repr(value)``, cut short (a hostile object's repr may be huge or may raise)."""
    try:
        shown = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _describe(obj: Any) -> str:
    name = _attr(obj, "name")
    return repr(name) if isinstance(name, str) else f"of type {type(obj).__name__}"
