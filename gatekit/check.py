"""Gradient checks: backprop against finite differences, in float64.

- :func:`numerical_gradient`: forward or central differences of any function of
  named inputs, one element at a time, with a step scaled to each value.
- :func:`check_circuit`: a circuit's backward pass against central differences.
- :func:`check_gate`: a gate at random points of its domain, as scalars and as
  broadcast arrays (it runs through a one-gate circuit, so the engine's shape
  rules and protocol checks apply exactly as in real use).
- :func:`assert_gate_gradients`: the same, as a pytest-friendly assertion for
  plugin authors' own tests.

Both the analytic and the numerical side use a random upstream gradient, so a
backward that ignores ``grad`` fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .circuit import GATE, INPUT, Circuit, Node
from .errors import GatekitError
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
    (``(f(x + h) - f(x - h)) / 2h``). ``h`` defaults to a step scaled to each value.
    """
    if method not in ("forward", "central"):
        raise GatekitError(f"unknown difference method {method!r} (valid: forward, central)")
    base = {k: np.array(v, dtype=np.float64) for k, v in point.items()}

    def total(values: dict[str, Any]) -> float:
        with np.errstate(all="ignore"):
            return float(np.sum(f(values)))

    f0 = total(base) if method == "forward" else None
    grads = {}
    for name in names if names is not None else list(base):
        x = base[name]
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            old = x[k]
            step = float(step_size(old, method)) if h is None else h
            x[k] = old + step
            up = total(base)
            if method == "forward":
                g[k] = (up - f0) / step
            else:
                x[k] = old - step
                g[k] = (up - total(base)) / (2 * step)
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

    def __bool__(self) -> bool:
        return self.ok

    def describe(self) -> str:
        if self.error:
            return f"{self.name}: FAILED: {self.error}"
        status = "ok" if self.ok else "FAILED"
        text = f"{self.name}: {status} (max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g})"
        if not self.ok:
            point = ", ".join(f"{k}={_fmt(v)}" for k, v in self.worst_point.items())
            text += f" worst at {point}"
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
        upstream = rng.uniform(0.5, 1.5, size=np.shape(trace.output))
        upstream = upstream if np.ndim(upstream) else float(upstream)
        analytic = trace.backward(upstream).input_grads()
        numeric = numerical_gradient(lambda v: upstream * circuit.forward(v).output, point)
    except GatekitError as exc:
        return CheckResult(name, False, float("inf"), float("inf"), dict(point), error=str(exc))
    except Exception as exc:  # a plugin's gate raising: report it, never crash the checker
        return CheckResult(name, False, float("inf"), float("inf"), dict(point), error=f"{type(exc).__name__}: {exc}")
    worst_abs = worst_rel = 0.0
    ok = True
    for key in circuit.inputs:
        a = np.asarray(analytic[key], dtype=np.float64)
        n = np.asarray(numeric[key], dtype=np.float64)
        if a.shape != n.shape:
            return CheckResult(name, False, float("inf"), float("inf"), dict(point),
                               error=f"gradient for {key!r} has shape {a.shape}, expected {n.shape}")
        abs_err, rel_err = _errors(a, n)
        worst_abs, worst_rel = max(worst_abs, abs_err), max(worst_rel, rel_err)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(a - n) <= atol + rtol * np.maximum(np.abs(a), np.abs(n)))
        if np.any(bad):
            ok = False
    return CheckResult(name, ok, worst_abs, worst_rel, dict(point), points_checked=1)


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
    domain = gate.domain
    xs = [domain.interval(k).sample(rng, s) for k, s in enumerate(shape_set)]
    if domain.kink is None:
        return xs
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
    name = getattr(gate, "name", None) or type(gate).__name__
    try:
        circuit = _one_gate_circuit(gate, plugin)
    except GatekitError as exc:
        return CheckResult(str(name), False, float("inf"), float("inf"), error=str(exc))
    rng = np.random.default_rng(seed)
    worst = CheckResult(str(name), True)
    for _ in range(points):
        for shape_set in _shapes(gate.arity):
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
    """Assert that ``gate`` passes :func:`check_gate` (for plugin authors' tests)."""
    result = check_gate(gate, **kwargs)
    assert result.ok, result.describe()
    return result
