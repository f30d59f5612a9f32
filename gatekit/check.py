"""Gradient checks: backprop against finite differences, in float64.

- :func:`numerical_gradient`: forward or central differences of any function of
  named inputs, one element at a time, with a step scaled to each value.
- :func:`check_circuit`: a circuit's backward pass against central differences.
- :func:`check_gate`: a gate at random points of its domain, as scalars and as
  broadcast arrays (it runs through a one-gate circuit, so the engine's shape
  rules and protocol checks apply exactly as in real use).
- :func:`assert_gate_gradients`: the same, as a pytest-friendly assertion for
  plugin authors' own tests.

Both the analytic and the numerical side use a random upstream gradient of size
1.5 to 2.5 and random sign (never near 1), so a backward that ignores ``grad`` fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .circuit import GATE, INPUT, Circuit, Node
from .containment import is_user_interrupt
from .errors import GatekitError, UnknownNameError, UsageError
from .gate import DEFAULT_DOMAIN, Domain
from .registry import PluginInfo, Registry

__all__ = [
    "CheckResult",
    "numerical_gradient",
    "check_circuit",
    "check_gate",
    "assert_gate_gradients",
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6
_EPS = np.finfo(np.float64).eps


def step_size(x: Any, method: str = "central") -> Any:
    """A step that balances truncation and rounding error at the scale of ``x``."""
    base = _EPS ** (1 / 3) if method == "central" else _EPS**0.5
    return base * np.maximum(1.0, np.abs(x))


def numerical_gradient(
    f: Callable[[dict[str, Any]], Any],
    point: Mapping[str, Any],
    names: Sequence[str] | None = None,
    h: float | None = None,
    method: str = "central",
) -> dict[str, Any]:
    """The gradient of scalar ``sum(f(point))`` w.r.t. each named input, element by element.

    ``method`` is ``"forward"`` (``(f(x + h) - f(x)) / h``) or ``"central"``
    (``(f(x + h) - f(x - h)) / 2h``). ``f`` receives a dict of float64 arrays (0-d
    for scalar inputs). ``h`` defaults to a step scaled to each value, and the step
    actually taken (``(x + h) - x`` in floating point) divides the difference; a given
    ``h`` is used exactly as the textbook formula writes it (as the lesson does).
    """
    if method not in ("forward", "central"):
        raise UsageError(f"unknown difference method {method!r} (valid: forward, central)")
    if h is not None and (isinstance(h, bool) or not isinstance(h, (int, float)) or not 0 < h < np.inf):
        raise UsageError(f"the step h must be a positive finite number, got {h!r}")
    try:
        base = {k: np.array(v, dtype=np.float64) for k, v in point.items()}
    except (TypeError, ValueError):
        raise UsageError(f"every input of the point must be a number or an array of numbers, got {dict(point)!r}") from None
    wanted = list(base) if names is None else list(names)
    for name in wanted:
        if name not in base:
            raise UnknownNameError("input", str(name), base, "(not in the point)")

    def total(values: dict[str, Any]) -> float:
        with np.errstate(all="ignore"):
            return float(np.sum(f(values)))

    f0 = total(base) if method == "forward" else None
    grads = {}
    for name in wanted:
        x = base[name]
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            old = float(x[k])
            step = float(step_size(old, method)) if h is None else float(h)
            x[k] = old + step
            up = total(base)
            if method == "forward":
                taken = (float(x[k]) - old) if h is None else step
                g[k] = (up - f0) / taken
            else:
                x[k] = old - step
                down = total(base)
                taken = (old + step) - (old - step) if h is None else 2 * step
                g[k] = (up - down) / taken
            x[k] = old
        grads[name] = g if g.ndim else float(g)
    return grads


@dataclass
class CheckResult:
    """How far backprop is from central differences; ``ok`` when within tolerance."""

    name: str
    ok: bool
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    #: The input values where the worst disagreement was found.
    worst_point: dict[str, Any] = field(default_factory=dict)
    #: Why the check could not run (an exception from the gate), if it could not.
    error: str | None = None
    points_checked: int = 0
    #: The input whose gradient disagreed most, and the two values there (one element).
    worst_input: str | None = None
    analytic: float | None = None
    numeric: float | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<CheckResult {self.describe()}>"

    def _repr_html_(self) -> str:
        from .notebook import check_html

        return check_html(self)

    def describe(self) -> str:
        if self.error:
            return f"{self.name}: FAILED: {self.error}"
        status = "ok" if self.ok else "FAILED"
        text = f"{self.name}: {status} (max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g})"
        if not self.ok:
            point = ", ".join(f"{k}={_fmt(v)}" for k, v in self.worst_point.items())
            text += f" worst at {point}"
            if self.worst_input is not None:
                text += (
                    f": d/d{self.worst_input} from backward is {self.analytic!r}, "
                    f"central difference gives {self.numeric!r}"
                )
        return text


def _fmt(v: Any) -> str:
    a = np.asarray(v)
    return repr(float(a)) if a.ndim == 0 else np.array2string(a, precision=6, separator=", ")


def _errors(analytic: Any, numeric: Any) -> tuple[float, float]:
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    diff = np.abs(a - n)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), 1.0)
    if diff.size == 0:
        return 0.0, 0.0
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(np.where(np.isnan(diff), np.inf, diff))), float(
            np.nanmax(np.where(np.isnan(diff), np.inf, diff / scale))
        )


def check_circuit(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    seed: int | None = 0,
    name: str = "circuit",
) -> CheckResult:
    """Backprop through ``circuit`` at ``values`` against central differences.

    Passes when every gradient element satisfies ``|a - n| <= atol + rtol * max(|a|, |n|)``.
    """
    rng = np.random.default_rng(seed)
    point = circuit.resolve_inputs(values or {})
    try:
        trace = circuit.forward(point)
        shape = np.shape(trace.output)
        upstream = rng.uniform(1.5, 2.5, size=shape) * rng.choice((-1.0, 1.0), size=shape)
        upstream = upstream if np.ndim(upstream) else float(upstream)
        analytic = trace.backward(upstream).input_grads()
        numeric = numerical_gradient(lambda v: upstream * circuit.forward(v).output, point)
    except GatekitError as exc:
        return CheckResult(name, False, float("inf"), float("inf"), dict(point), error=str(exc))
    except BaseException as exc:  # a plugin's gate raising: report it, never crash the checker
        if is_user_interrupt(exc):
            raise
        return CheckResult(name, False, float("inf"), float("inf"), dict(point), error=f"{type(exc).__name__}: {exc}")
    result = CheckResult(name, True, 0.0, 0.0, dict(point), points_checked=1)
    worst_excess = -np.inf
    for key in circuit.inputs:
        a = np.asarray(analytic[key], dtype=np.float64)
        n = np.asarray(numeric[key], dtype=np.float64)
        if a.shape != n.shape:
            return CheckResult(name, False, float("inf"), float("inf"), dict(point),
                               error=f"gradient for {key!r} has shape {a.shape}, expected {n.shape}")
        if a.size == 0:
            continue
        abs_err, rel_err = _errors(a, n)
        result.max_abs_error = max(result.max_abs_error, abs_err)
        result.max_rel_error = max(result.max_rel_error, rel_err)
        with np.errstate(invalid="ignore"):
            # How far each element is past its tolerance (nan counts as infinitely far).
            excess = np.abs(a - n) - (atol + rtol * np.maximum(np.abs(a), np.abs(n)))
            excess = np.where(np.isnan(excess), np.inf, excess)
        k = np.unravel_index(int(np.argmax(excess)), excess.shape)
        if excess[k] > 0:
            result.ok = False
            if excess[k] > worst_excess:
                worst_excess = excess[k]
                result.worst_input, result.analytic, result.numeric = key, float(a[k]), float(n[k])
    return result


#: Input shapes tried for each arity: scalars, equal arrays, and broadcasting.
def _shapes(arity: int) -> list[tuple[tuple[int, ...], ...]]:
    same = [tuple(() for _ in range(arity)), tuple((5,) for _ in range(arity))]
    if arity == 1:
        return same + [((2, 3),)]
    mixed = [tuple((3, 1) if k == 0 else (4,) for k in range(arity)), tuple(() if k == 0 else (6,) for k in range(arity))]
    return same + mixed


def _one_gate_circuit(gate: Any, plugin: str = "checked") -> Circuit:
    registry = Registry()
    registry.add_gate(gate, PluginInfo(plugin))  # validation at the door, as for any plugin
    names = [f"x{k}" for k in range(gate.arity)]
    nodes = [Node(INPUT, name=n) for n in names] + [Node(GATE, name=gate.name, args=tuple(range(gate.arity)))]
    return Circuit(nodes, gate.arity, registry)


def _sample(gate: Any, rng: np.random.Generator, shape_set: tuple[tuple[int, ...], ...]) -> list[Any]:
    """Points in the gate's domain, kept clear of its kinks by more than a step."""
    domain = getattr(gate, "domain", None)
    domain = domain if isinstance(domain, Domain) else DEFAULT_DOMAIN  # a duck-typed gate may have none
    xs = [domain.interval(k).sample(rng, s) for k, s in enumerate(shape_set)]
    if domain.kink is not None:
        for _ in range(100):
            with np.errstate(all="ignore"):
                near = np.asarray(domain.kink(*xs)) < 1e-3  # far more than any step used
            if not np.any(near):
                break
            xs = [domain.interval(k).sample(rng, s) for k, s in enumerate(shape_set)]
    return [x if np.ndim(x) else float(x) for x in xs]


def check_gate(
    gate: Any,
    *,
    points: int = 5,
    seed: int | None = 0,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    plugin: str = "checked",
) -> CheckResult:
    """Check ``gate.backward`` against central differences at random points of its domain.

    Each of ``points`` rounds tries scalars, equal-shape arrays and broadcast arrays.
    Returns the worst result; an invalid gate or one that raises fails with a message.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise UsageError(f"points must be a positive integer, got {points!r}")
    name = getattr(gate, "name", None) or type(gate).__name__
    try:
        circuit = _one_gate_circuit(gate, plugin)
    except GatekitError as exc:
        return CheckResult(str(name), False, float("inf"), float("inf"), error=str(exc))
    rng = np.random.default_rng(seed)
    worst = CheckResult(str(name), True)
    for _ in range(points):
        domain = getattr(gate, "domain", None)
        shape_sets = domain.shapes if isinstance(domain, Domain) and domain.shapes else _shapes(gate.arity)
        for shape_set in shape_sets:
            xs = _sample(gate, rng, shape_set)
            result = check_circuit(circuit, dict(zip(circuit.inputs, xs)), rtol=rtol, atol=atol,
                                   seed=int(rng.integers(2**31)), name=str(name))
            worst.points_checked += 1
            if result.error or not result.ok:
                result.points_checked = worst.points_checked
                return result
            worst.max_abs_error = max(worst.max_abs_error, result.max_abs_error)
            if result.max_rel_error >= worst.max_rel_error:
                worst.max_rel_error = result.max_rel_error
                worst.worst_point = result.worst_point
    return worst


def assert_gate_gradients(gate: Any, **kwargs: Any) -> CheckResult:
    """Assert that ``gate`` passes :func:`check_gate` (for plugin authors' tests).

    Raises :class:`AssertionError` with the worst disagreement (input, point, both
    values) or the gate's error; returns the :class:`CheckResult` when it passes.
    Keyword arguments go to :func:`check_gate` (``points``, ``seed``, ``rtol``, ``atol``).
    """
    result = check_gate(gate, **kwargs)
    if not result.ok:  # raised, not asserted: python -O must not silence a plugin's test
        raise AssertionError(result.describe())
    return result
