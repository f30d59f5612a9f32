"""Gradient checks: backprop against finite differences, in float64.

- :func:`numerical_gradient` (from :mod:`gatekit.numerical`): forward or central
  differences of any function of named inputs, one element at a time.
- :func:`check_circuit`: a circuit's backward pass against central differences.
- :func:`check_gate`: a gate at random points of its domain, as scalars and as
  broadcast arrays (it runs through a one-gate circuit, so the engine's shape
  rules and protocol checks apply exactly as in real use).
- :func:`assert_gate_gradients`: the same, as a pytest-friendly assertion for
  plugin authors' own tests.

Both the analytic and the numerical side use a random upstream gradient of size
1.5 to 2.5 and random sign (never near 1), so a backward that ignores ``grad`` fails.
A failure is then explained for an upstream gradient of 1, with the most likely
mistake checked (:mod:`gatekit.diagnosis`); a failed circuit names its wrong gate.
What a check returns, and how it reads, is in :mod:`gatekit.check_result`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .check_result import CheckResult, NodeReport
from .circuit import GATE, INPUT, Circuit, Node
from .containment import is_user_interrupt
from .diagnosis import Diagnosis, contract_diagnosis, diagnose, probe_contract
from .errors import GatekitError, UsageError, warn_deprecated
from .gate import DEFAULT_DOMAIN, Domain
from .numerical import numerical_gradient, step_size
from .registry import PluginInfo, Registry
from .values import as_input

__all__ = [
    "CheckResult",
    "NodeReport",
    "numerical_gradient",
    "check_circuit",
    "check_gate",
    "assert_gate_gradients",
    "KinkWarning",
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6


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


class _CircuitProbe:
    """A circuit as :mod:`gatekit.diagnosis` asks about it (see :class:`~gatekit.diagnosis.Probe`)."""

    def __init__(self, circuit: Circuit):
        self.circuit = circuit

    def _total(self, point: Mapping[str, Any]) -> float:
        with np.errstate(all="ignore"):
            return float(np.sum(self.circuit.forward(point).output))

    def backward(self, point: Mapping[str, Any], upstream: Any) -> dict[str, Any]:
        trace = self.circuit.forward(point)
        shape = np.shape(trace.output)
        seed = np.broadcast_to(np.asarray(upstream, dtype=np.float64), shape).copy() if shape else float(
            np.ravel(upstream)[0])
        return trace.backward(seed).input_grads()

    def numeric(self, point: Mapping[str, Any]) -> dict[str, Any]:
        return numerical_gradient(lambda v: self.circuit.forward(v).output, point)

    def slopes(self, point: Mapping[str, Any], name: str, index: tuple[int, ...],
               shrink: float = 1.0) -> tuple[float, float]:
        # The central difference's own step, so a kink that step straddles is seen as one.
        moved = {k: np.array(v, dtype=np.float64) for k, v in point.items()}
        x = moved[name]
        old = float(x[index])
        h = float(step_size(old)) * shrink
        mid = self._total(moved)
        x[index] = old + h
        up = self._total(moved)
        x[index] = old - h
        down = self._total(moved)
        return (mid - down) / h, (up - mid) / h


def check_circuit(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    seed: int | None = 0,
    name: str = "circuit",
    plugin: str | None = None,
    more_points: Callable[[], list[dict[str, Any]]] | None = None,
) -> CheckResult:
    """Backprop through ``circuit`` at ``values`` against central differences.

    Passes when every gradient element satisfies ``|a - n| <= atol + rtol * max(|a|, |n|)``.
    A failure carries a diagnosis and, for a circuit of several gates, the gate nodes whose
    own backward is wrong at the values they saw (``culprits``). ``name`` and ``plugin``
    name a one-gate circuit's gate; ``more_points`` gives further points where a diagnosis
    is confirmed.
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
        return _failure(name, plugin, point, str(exc), _contract(circuit, point, str(exc)))
    except BaseException as exc:  # a plugin's gate raising: report it, never crash the checker
        if is_user_interrupt(exc):
            raise
        return _failure(name, plugin, point, f"{type(exc).__name__}: {exc}", contract_diagnosis(" raised "))
    result = CheckResult(name, True, 0.0, 0.0, dict(point), points_checked=1, plugin=plugin)
    worst_excess = -np.inf
    for key in circuit.inputs:
        a = np.asarray(analytic[key], dtype=np.float64)
        n = np.asarray(numeric[key], dtype=np.float64)
        if a.shape != n.shape:
            return _failure(name, plugin, point, f"gradient for {key!r} has shape {a.shape}, expected {n.shape}",
                            contract_diagnosis("shape"))
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
                result.worst_input, result.worst_index = key, tuple(int(i) for i in k)
    if not result.ok and result.worst_input is not None:
        try:
            _diagnose(circuit, result, upstream, more_points)
        except BaseException as exc:  # a gate that raises at the points a diagnosis tries
            if is_user_interrupt(exc):
                raise
            result.diagnosis = Diagnosis("raised", f"no diagnosis: the gate raised {type(exc).__name__} at a point "
                                                   "the diagnosis tried (gates give inf or nan, never raise)")
    return result


def _contract(circuit: Circuit, point: Mapping[str, Any], message: str) -> Diagnosis:
    """A one-gate circuit's broken protocol, probed on the gate itself; else read from the message."""
    gate_nodes = [node for node in circuit.nodes if node.kind == GATE]
    if len(gate_nodes) != 1 or len(point) != len(gate_nodes[0].args):
        return contract_diagnosis(message)
    gate = circuit.registry.entry("gate", str(gate_nodes[0].name)).obj
    return probe_contract(gate, [point[name] for name in circuit.inputs], message)


def _failure(name: str, plugin: str | None, point: Mapping[str, Any], error: str, diagnosis: Diagnosis) -> CheckResult:
    return CheckResult(name, False, float("inf"), float("inf"), dict(point), error=error, plugin=plugin,
                       diagnosis=diagnosis)


def _diagnose(circuit: Circuit, result: CheckResult, upstream: Any,
              more_points: Callable[[], list[dict[str, Any]]] | None) -> None:
    """Fill in the diagnosis (and the culprits); a kink that is no bug makes the result pass."""
    assert result.worst_input is not None
    others = more_points() if more_points is not None else []
    with np.errstate(all="ignore"):
        diagnosis, result.analytic, result.numeric = diagnose(
            _CircuitProbe(circuit), result.worst_point, upstream, (result.worst_input, result.worst_index), others)
    if not diagnosis.is_bug:
        result.ok, result.kink, result.kink_point = True, diagnosis, dict(result.worst_point)
        return
    result.diagnosis = diagnosis
    gate_nodes = [i for i, node in enumerate(circuit.nodes) if node.kind == GATE]
    if len(gate_nodes) > 1:
        result.culprits = _culprits(circuit, result.worst_point, gate_nodes)


def _culprits(circuit: Circuit, point: Mapping[str, Any], gate_nodes: list[int]) -> list[NodeReport]:
    """The gate nodes whose own backward disagrees with central differences at the values they saw."""
    trace = circuit.forward(point)
    found = []
    for i in gate_nodes:
        node = circuit.nodes[i]
        entry = circuit.registry.entry("gate", str(node.name))
        local = _one_gate_circuit(entry.obj, entry.plugin)
        values = {f"x{k}": trace.values[a] for k, a in enumerate(node.args)}
        own = check_circuit(local, values, name=entry.name, plugin=entry.plugin.name,
                            more_points=_more_points(entry.obj, local, values))
        if not own.ok:
            found.append(NodeReport(i, node.label, entry.name, entry.plugin.name, own))
    return found


#: Input shapes tried for each arity: scalars, equal arrays, and broadcasting.
def _shapes(arity: int) -> list[tuple[tuple[int, ...], ...]]:
    same = [tuple(() for _ in range(arity)), tuple((5,) for _ in range(arity))]
    if arity == 1:
        return same + [((2, 3),)]
    mixed = [tuple((3, 1) if k == 0 else (4,) for k in range(arity)), tuple(() if k == 0 else (6,) for k in range(arity))]
    return same + mixed


def _one_gate_circuit(gate: Any, plugin: PluginInfo | str) -> Circuit:
    registry = Registry()
    registry.add_gate(gate, plugin)  # validation at the door, as for any plugin
    names = [f"x{k}" for k in range(gate.arity)]
    nodes = [Node(INPUT, name=n) for n in names] + [Node(GATE, name=gate.name, args=tuple(range(gate.arity)))]
    return Circuit(nodes, gate.arity, registry)


def sample_point(gate: Any, rng: np.random.Generator, shape_set: tuple[tuple[int, ...], ...]) -> list[Any]:
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


def plugin_of(gate: Any) -> str:
    """The name of the plugin that registered ``gate`` in the default registry, else its module's name."""
    from .plugins import default_registry  # the check sits above the loader; the loader never imports it

    try:
        entries = list(default_registry().iter_entries("gate"))
    except GatekitError:  # asked from inside a hook, while the default registry loads
        entries = []
    for entry in entries:
        if entry.obj is gate or (type(entry.obj) is type(gate) and entry.name == getattr(gate, "name", None)):
            return entry.plugin.name
    module = (gate if isinstance(gate, type) else type(gate)).__module__
    # A .py file loaded as a plugin is renamed to its stem once imported: the plugin's name.
    module = getattr(sys.modules.get(module), "__name__", module)
    return "user" if module.split(".")[0] == "gatekit" else module


def check_gate(
    gate: Any,
    *,
    rounds: int = 5,
    seed: int | None = 0,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    plugin: str | None = None,
    at: Sequence[Sequence[Any]] | None = None,
    points: int | None = None,
) -> CheckResult:
    """Check ``gate.backward`` against central differences at random points of its domain.

    Each of ``rounds`` rounds tries scalars, equal-shape arrays and broadcast arrays
    (``result.points_checked`` counts the points; ``points=`` is the deprecated old name
    of ``rounds``); ``at`` gives the points instead (each a sequence of the gate's
    inputs: ``at=[(0.0,)]``).
    Returns the worst result; an invalid gate or one that raises fails with a message. A
    failure carries a diagnosis (:attr:`CheckResult.diagnosis`). ``plugin`` names the gate's
    plugin in messages (default: the plugin that registered it, else its module).
    """
    if points is not None:
        warn_deprecated("check_gate(points=...)", "rounds=... (it counts rounds; each tries several points)")
        rounds = points
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise UsageError(f"rounds must be a positive integer, got {rounds!r}")
    name = str(getattr(gate, "name", None) or type(gate).__name__)
    plugin = plugin_of(gate) if plugin is None else plugin
    try:
        circuit = _one_gate_circuit(gate, plugin)
    except GatekitError as exc:
        return CheckResult(name, False, float("inf"), float("inf"), error=str(exc), plugin=plugin)
    rng = np.random.default_rng(seed)
    given = None if at is None else [_at(gate, xs) for xs in at]
    worst = CheckResult(name, True, plugin=plugin)
    for _round in range(1 if given is not None else rounds):
        for xs in given if given is not None else _drawn(gate, rng):
            point = dict(zip(circuit.inputs, xs))
            result = check_circuit(circuit, point, rtol=rtol, atol=atol, seed=int(rng.integers(2**31)), name=name,
                                   plugin=plugin, more_points=_more_points(gate, circuit, point, rng))
            worst.points_checked += 1
            if result.error or not result.ok:
                result.points_checked = worst.points_checked
                return result
            if result.kink is not None:  # no evidence either way: noted, and kept out of the errors
                if worst.kink is None:
                    worst.kink, worst.kink_point = result.kink, result.kink_point
                continue
            worst.max_abs_error = max(worst.max_abs_error, result.max_abs_error)
            if result.max_rel_error >= worst.max_rel_error:
                worst.max_rel_error = result.max_rel_error
                worst.worst_point = result.worst_point
    return worst


def _more_points(gate: Any, circuit: Circuit, like: Mapping[str, Any],
                 source: np.random.Generator | None = None) -> Callable[[], list[dict[str, Any]]]:
    """Four more points of the gate's domain, shaped like ``like``, for a diagnosis to confirm itself.

    Drawn only when asked (after a failure), so a passing check's points never depend on it.
    """
    shapes = tuple(np.shape(v) for v in like.values())

    def more() -> list[dict[str, Any]]:
        rng = np.random.default_rng(0 if source is None else int(source.integers(2**31)))
        return [dict(zip(circuit.inputs, sample_point(gate, rng, shapes))) for _ in range(4)]

    return more


def _drawn(gate: Any, rng: np.random.Generator) -> Iterator[list[Any]]:
    """One round of random points, drawn one at a time (so a seed gives the points it always gave).

    A gate that is not elementwise (``linear``) names the shapes to try in its domain.
    """
    domain = getattr(gate, "domain", None)
    shape_sets = domain.shapes if isinstance(domain, Domain) and domain.shapes else _shapes(gate.arity)
    for shape_set in shape_sets:
        yield sample_point(gate, rng, shape_set)


def _at(gate: Any, xs: Sequence[Any]) -> list[Any]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence) or len(xs) != gate.arity:
        raise UsageError(f"each point of at= must give the {gate.arity} input(s) of gate {gate.name!r}, got {xs!r}")
    return [as_input(f"x{k}", x) for k, x in enumerate(xs)]


def assert_gate_gradients(gate: Any, **kwargs: Any) -> CheckResult:
    """Assert that ``gate`` passes :func:`check_gate` (for plugin authors' tests).

    Raises :class:`AssertionError` with the diagnosis (gate and plugin, point, both
    derivatives for an upstream gradient of 1, the most likely mistake) or the gate's error;
    returns the :class:`CheckResult` when it passes. Keyword arguments go to
    :func:`check_gate` (``rounds``, ``seed``, ``rtol``, ``atol``, ``plugin``, ``at``).
    """
    __tracebackhide__ = True  # pytest shows the author's test line, not gatekit's frames
    result = check_gate(gate, **kwargs)
    if not result.ok:  # raised, not asserted: python -O must not silence a plugin's test
        raise AssertionError(result.describe())
    if result.kink is not None:
        warnings.warn(KinkWarning(result.describe()), stacklevel=2)
    return result


class KinkWarning(UserWarning):
    """A gradient check met a kink where backward gives a one-sided slope: noted, not failed."""
