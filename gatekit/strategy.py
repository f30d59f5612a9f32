"""The strategy protocol: what every optimizer, built-in or third-party, provides.

A strategy climbs. The core (:func:`gatekit.optimize`) runs the loop, counts every
evaluation, keeps the history and the best point, enforces the budget and stops on
a non-finite value; a strategy only says where to go next::

    class SignStep(gatekit.Strategy):
        name = "sign-step"
        doc = "move each free input by step_size in the direction of its gradient's sign"
        options = (gatekit.Option("step_size", float, 0.01, "how far to move each input", exclusive_minimum=0.0),)

        def step(self, problem, state):
            grad = problem.gradient(problem.current)
            return problem.current + problem.options["step_size"] * np.sign(grad)

- ``name`` (registry key), ``doc`` (one line), ``options`` (a tuple of :class:`Option`:
  typed, with defaults and help text, so a command line can list and parse them);
- ``init(problem) -> state`` (optional): whatever the strategy remembers between
  steps (a velocity, Adam's moments); the default is no state;
- ``step(problem, state) -> point``: the next point (one float per free input, in
  ``problem.names`` order), or :class:`Converged` to stop;
- ``check_options(options) -> list[str]`` (optional): problems that involve several
  options at once (``low < high``).

A strategy always *maximizes* the problem's score (the output when maximizing,
minus the output when minimizing), so the same code serves both directions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import GateValidationError, OptionError, StrategyContractError, did_you_mean
from .values import NAME_PATTERN

if TYPE_CHECKING:
    from .problem import Problem
    from .registry import Registry

__all__ = [
    "Option",
    "Strategy",
    "StrategyProtocol",
    "Converged",
    "StrategyContractError",  # defined in gatekit.errors (every exception in one module); kept importable here
    "OPTION_TYPES",
    "validate_strategy",
    "coerce_options",
    "describe_strategy",
    "resolve_strategy",
]

#: The types an option can have: what a command line can spell.
OPTION_TYPES: tuple[type, ...] = (float, int, str, bool)
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class Option:
    """One typed option of a strategy, with its default and help text.

    ``choices`` restricts the value to a few; ``minimum``/``maximum`` bound a number
    inclusively, ``exclusive_minimum``/``exclusive_maximum`` strictly (as in JSON Schema).
    """

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", str(self.type))

    def describe_range(self) -> str | None:
        """The valid values in words (``"one of forward, central"``, ``"> 0"``, ``"in [0, 1)"``), if limited."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        low, high = self._low(), self._high()
        if low and high:
            return f"in {'(' if low[1] else '['}{low[0]:g}, {high[0]:g}{')' if high[1] else ']'}"
        if low:
            return f"{'>' if low[1] else '>='} {low[0]:g}"
        if high:
            return f"{'<' if high[1] else '<='} {high[0]:g}"
        return None

    def _low(self) -> tuple[float, bool] | None:
        """The lower bound and whether it is strict."""
        if self.exclusive_minimum is not None:
            return self.exclusive_minimum, True
        return None if self.minimum is None else (self.minimum, False)

    def _high(self) -> tuple[float, bool] | None:
        if self.exclusive_maximum is not None:
            return self.exclusive_maximum, True
        return None if self.maximum is None else (self.maximum, False)

    def summary(self) -> str:
        """``name (type, default 0.01)``: how error messages list an option."""
        return f"{self.name} ({self.type_name}, default {self.default!r})"

    def parse(self, value: Any) -> Any:
        """``value`` (typed, or a string from a command line) as this option's type.

        Raises a plain ``ValueError`` saying what is wrong; :func:`coerce_options`
        turns it into an :class:`OptionError` that names the strategy.
        """
        parsed = _parse(self.type, value)
        if self.choices is not None and parsed not in self.choices:
            raise ValueError(f"must be one of {', '.join(str(c) for c in self.choices)}, got {value!r}")
        if self.type in (float, int):
            low, high = self._low(), self._high()
            too_low = low is not None and (parsed <= low[0] if low[1] else parsed < low[0])
            too_high = high is not None and (parsed >= high[0] if high[1] else parsed > high[0])
            if too_low or too_high:
                raise ValueError(f"must be {self.describe_range()}, got {parsed!r}")
        return parsed


def _parse(kind: type, value: Any) -> Any:
    """One value as ``kind``; strings are parsed, other types must already fit."""
    text = value.strip() if isinstance(value, str) else None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"must be true or false, got {value!r}")
    if kind is str:
        if text is None:
            raise ValueError(f"must be a string, got {value!r}")
        return text
    if isinstance(value, bool):  # True is an int to Python, never a number to a user
        raise ValueError(f"must be a {kind.__name__}, got {value!r}")
    if kind is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        if text is not None:
            try:
                return int(text)
            except ValueError:
                pass
        raise ValueError(f"must be an integer, got {value!r}")
    # float
    if isinstance(value, numbers.Real):
        number = float(value)
    elif text is not None:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {value!r}") from None
    else:
        raise ValueError(f"must be a number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Converged:
    """What :meth:`Strategy.step` returns to stop: the strategy's own convergence test held."""

    reason: str


@runtime_checkable
class StrategyProtocol(Protocol):
    """Anything with these members is a strategy (see the module docstring)."""

    name: str
    doc: str
    options: tuple[Option, ...]

    def step(self, problem: Problem, state: Any) -> Any: ...


class Strategy:
    """A convenience base class: no options and no state unless a subclass says so."""

    name: str = ""
    doc: str = ""
    options: tuple[Option, ...] = ()

    def init(self, problem: Problem) -> Any:
        """The state kept between steps (None: this strategy remembers nothing)."""
        return None

    def step(self, problem: Problem, state: Any) -> Any:  # pragma: no cover - the contract
        raise NotImplementedError(f"strategy {self.name!r} does not implement step(problem, state)")

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        """Problems with a combination of options (each option alone is already valid)."""
        return []

    def __repr__(self) -> str:
        return f"<Strategy {self.name}>"


def validate_strategy(strategy: Any) -> list[str]:
    """What is wrong with ``strategy`` as a strategy (empty when it is a valid one)."""
    if isinstance(strategy, type):
        return [f"got the class {strategy.__name__}, not an instance (register {strategy.__name__}())"]
    problems = []
    name = getattr(strategy, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(f"name {name!r} is not a valid strategy name (lowercase letters, digits, '_', '-')")
    doc = getattr(strategy, "doc", None)
    if not isinstance(doc, str) or not doc.strip():
        problems.append("doc is missing (one line saying what the strategy does)")
    elif "\n" in doc.strip():
        problems.append("doc must be one line")
    if not callable(getattr(strategy, "step", None)):
        problems.append("step is missing or not callable (step(problem, state) -> next point)")
    for method in ("init", "check_options"):
        if hasattr(strategy, method) and not callable(getattr(strategy, method)):
            problems.append(f"{method} is not callable")
    options = getattr(strategy, "options", ())
    if not isinstance(options, (tuple, list)):
        return problems + [f"options must be a tuple of gatekit.Option, got {type(options).__name__}"]
    seen: set[str] = set()
    for option in options:
        problems += _option_problems(option, seen)
    return problems


#: gatekit.optimize's and compare's own parameters: an option with one of these names could
#: never be passed (the keyword would be optimize's), so none may take one.
RUN_PARAMETERS = ("circuit", "start", "strategy", "strategies", "steps", "maximize", "hold", "seed", "budget",
                  "registry", "progress")


def _option_problems(option: Any, seen: set[str]) -> list[str]:
    if not isinstance(option, Option):
        return [f"option {option!r} is not a gatekit.Option"]
    where = f"option {option.name!r}"
    if not isinstance(option.name, str) or not option.name.isidentifier():
        return [f"{where}: the name must be an identifier (letters, digits, '_')"]
    if option.name in RUN_PARAMETERS:
        return [f"{where} takes the name of one of gatekit.optimize's own parameters "
                f"({', '.join(RUN_PARAMETERS)}); give it another name"]
    problems = []
    if option.name in seen:
        problems.append(f"{where} is declared twice")
    seen.add(option.name)
    if option.type not in OPTION_TYPES:
        return problems + [f"{where}: type {option.type!r} is not one of float, int, str, bool"]
    if not isinstance(option.help, str) or not option.help.strip():
        problems.append(f"{where}: help text is missing")
    if option.choices is not None and not isinstance(option.choices, tuple):
        problems.append(f"{where}: choices must be a tuple")
    try:
        if option.parse(option.default) != option.default or type(option.default) is not option.type:
            problems.append(f"{where}: default {option.default!r} is not a {option.type_name}")
    except (ValueError, TypeError) as exc:
        problems.append(f"{where}: default {option.default!r} {exc}")
    return problems


def _list_options(strategy: Any) -> str:
    options = tuple(getattr(strategy, "options", ()))
    if not options:
        return f"strategy {strategy.name!r} takes no options"
    return f"options of strategy {strategy.name!r}: " + ", ".join(o.summary() for o in options)


def coerce_options(strategy: Any, raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every option of ``strategy`` as a typed value: ``raw`` parsed, defaults filled in.

    ``raw`` maps option names (``step_size`` or ``step-size``) to typed values or
    command-line strings. An unknown name or a bad value raises :class:`OptionError`
    listing the strategy's options.
    """
    declared = {o.name: o for o in getattr(strategy, "options", ())}
    resolved = {name: o.default for name, o in declared.items()}
    for key, value in (raw or {}).items():
        name = str(key).replace("-", "_")
        option = declared.get(name)
        if option is None:
            hint = did_you_mean(name, declared)
            raise OptionError(
                f"unknown option {key!r} for strategy {strategy.name!r}{'; ' + hint if hint else ''} "
                f"({_list_options(strategy)})"
            )
        try:
            resolved[name] = option.parse(value)
        except ValueError as exc:
            raise OptionError(
                f"option {name!r} of strategy {strategy.name!r} {exc} ({_list_options(strategy)})"
            ) from None
    check = getattr(strategy, "check_options", None)
    problems = check(dict(resolved)) if callable(check) else []
    if problems:
        raise OptionError(f"strategy {strategy.name!r}: " + "; ".join(problems) + f" ({_list_options(strategy)})")
    return resolved


def resolve_strategy(strategy: Any, registry: Registry) -> tuple[Any, str | None]:
    """``(strategy object, plugin name)`` for a registered name or a strategy object.

    A name nothing registered raises :class:`~gatekit.UnknownNameError` with the
    closest names; an object that is not a valid strategy raises
    :class:`~gatekit.errors.GateValidationError` saying what is missing. The registry is the
    caller's (``optimize`` uses the circuit's): the engine never loads plugins itself.
    """
    if isinstance(strategy, str):
        entry = registry.entry("strategy", strategy)
        return entry.obj, entry.plugin.name
    problems = validate_strategy(strategy)
    if problems:
        raise GateValidationError(f"{strategy!r} is not a valid strategy: " + "; ".join(problems))
    for entry in registry.iter_entries("strategy"):
        if entry.obj is strategy:
            return strategy, entry.plugin.name
    return strategy, None


def describe_strategy(strategy: Any, registry: Registry) -> dict[str, Any]:
    """A strategy as plain data: name, doc, plugin, and each option's name, type, default, help."""
    obj, plugin = resolve_strategy(strategy, registry)
    return {
        "name": obj.name,
        "doc": obj.doc,
        "plugin": plugin,
        "options": [
            {
                "name": o.name,
                "type": o.type_name,
                "default": o.default,
                "help": o.help,
                "choices": list(o.choices) if o.choices is not None else None,
                "range": o.describe_range(),
            }
            for o in obj.options
        ],
    }
