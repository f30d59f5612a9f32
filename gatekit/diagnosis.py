"""Diagnoses: when backward disagrees with central differences, what the mistake most likely is.

Each diagnosis is checked, not guessed: a wrong sign or a constant factor must hold at
every point tried, swapped gradients must match the other input's derivative everywhere,
and ignoring the upstream gradient means backward gives the same answer for an upstream
gradient of 1 and of anything else. A kink is found by its one-sided slopes: where they
differ there is no derivative, central differences measure their mean, and a backward
that returns one of them (or a value between) follows another convention, not a bug.

The checks run through a :class:`Probe` (a gate or circuit wrapped by :mod:`gatekit.check`),
so this module knows numbers, not engines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .containment import is_user_interrupt

__all__ = ["Diagnosis", "Probe", "diagnose", "probe_contract", "contract_diagnosis"]

#: Looser than the gradient check's tolerance: a diagnosis compares numbers already known to differ.
RTOL, ATOL = 1e-4, 1e-6


@dataclass(frozen=True)
class Diagnosis:
    """The most likely mistake: ``kind`` for programs, ``summary`` for people.

    Kinds: ``ignores-upstream``, ``upstream-misused``, ``wrong-sign``, ``constant-factor``,
    ``swapped``, ``kink``, ``wrong-count``, ``wrong-shape``, ``raised``, ``wrong``.
    ``is_bug`` is false only for a kink where backward returns one of the one-sided slopes.
    """

    kind: str
    summary: str
    is_bug: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "is_bug": self.is_bug}


class Probe(Protocol):
    """What a diagnosis may ask of the function under test, at a point (input name -> value)."""

    def backward(self, point: Mapping[str, Any], upstream: Any) -> dict[str, Any]:
        """Backprop's gradient of every input for this upstream gradient."""
        ...

    def numeric(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """Central differences of every input, for an upstream gradient of 1."""
        ...

    def slopes(self, point: Mapping[str, Any], name: str, index: tuple[int, ...],
               shrink: float = 1.0) -> tuple[float, float]:
        """The left and right one-sided slopes along one element of one input (step times ``shrink``)."""
        ...


def _close(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(a - b) <= ATOL + RTOL * np.maximum(np.abs(a), np.abs(b))))


def _tiny(a: Any) -> bool:
    return bool(np.all(np.abs(np.asarray(a, dtype=np.float64)) <= ATOL))


def _number(x: float) -> str:
    return f"{x:.6g}"


def _upstream_diagnosis(probe: Probe, point: Mapping[str, Any], upstream: Any, at_one: dict[str, Any]) -> Diagnosis:
    """Backward is right for an upstream gradient of 1 here: what does it do with another one?"""
    other = probe.backward(point, upstream)
    shown = _number(float(np.ravel(upstream)[0]))
    if all(_close(other[k], at_one[k]) for k in at_one):
        return Diagnosis("ignores-upstream",
                         f"backward ignores the upstream gradient: for an upstream gradient of {shown} it still "
                         "returns the local derivative; multiply each gradient by grad")
    return Diagnosis("upstream-misused",
                     f"backward is right for an upstream gradient of 1 but not for {shown}: it must return "
                     "grad * (the local derivative), element by element (no sum over grad, no grad ** 2)")


def _is_kink(probe: Probe, point: Mapping[str, Any], name: str, index: tuple[int, ...],
             left: float, right: float) -> bool:
    """One-sided slopes that differ, and not as a smooth curve's do.

    On a smooth curve they differ too, by about step * curvature, so a quarter of the step
    gives a quarter of the difference. Across a kink the difference stays (or, for a kink
    just inside the step, vanishes with the smaller one).
    """
    gap = right - left
    if not abs(gap) > 1e-3 * max(1.0, abs(left), abs(right)):
        return False
    left4, right4 = probe.slopes(point, name, index, shrink=0.25)
    return not 0.15 < (right4 - left4) / gap < 0.35


def _holds(test: Any, cases: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> bool:
    return all(test(a, n) for a, n in cases)


def diagnose(
    probe: Probe,
    point: Mapping[str, Any],
    upstream: Any,
    worst: tuple[str, tuple[int, ...]],
    others: Sequence[Mapping[str, Any]] = (),
) -> tuple[Diagnosis, float, float]:
    """The most likely mistake, and backward's and central differences' derivative for an upstream of 1.

    ``worst`` is the input and element that disagreed most at ``point`` under the random
    ``upstream`` gradient of the failed check; ``others`` are more points of the same
    shapes where a wrong sign, a constant factor or a swap must hold too.
    """
    name, index = worst
    at_one, numeric = probe.backward(point, 1.0), probe.numeric(point)
    a, n = float(np.asarray(at_one[name])[index]), float(np.asarray(numeric[name])[index])
    bad = [k for k in numeric if not _close(at_one[k], numeric[k])]
    if not bad:
        return _upstream_diagnosis(probe, point, upstream, at_one), a, n

    left, right = probe.slopes(point, name, index)
    if _is_kink(probe, point, name, index, left, right):
        low, high = min(left, right), max(left, right)
        between = low - ATOL - RTOL * abs(low) <= a <= high + ATOL + RTOL * abs(high)
        slopes = f"the slope is {_number(left)} on the left and {_number(right)} on the right"
        if between:
            return Diagnosis("kink", f"a kink, not a bug: {slopes}, so there is no derivative here; central "
                                     f"differences measure the mean, {_number((left + right) / 2)}, and backward "
                                     "gives a one-sided value (gatekit's built-ins use the mean)", is_bug=False), a, n
        return Diagnosis("kink", f"a kink ({slopes}), and backward's {_number(a)} is neither slope nor between "
                                 "them"), a, n

    cases = [(at_one, numeric)] + [(probe.backward(p, 1.0), probe.numeric(p)) for p in others]
    where = f"at all {len(cases)} points tried" if len(cases) > 1 else "at this point"
    names = list(numeric)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if x not in bad and y not in bad:
                continue
            if _holds(lambda g, d: _close(g[x], d[y]) and _close(g[y], d[x]), cases) and not _holds(
                    lambda g, d: _close(d[x], d[y]), cases):
                return Diagnosis("swapped", f"the gradients of {x} and {y} are swapped: backward's d/d{x} is "
                                            f"d/d{y} and the other way round ({where}); return them in the "
                                            "order of the inputs"), a, n
    if _holds(lambda g, d: all(_close(g[k], -np.asarray(d[k])) for k in bad), cases) and not _tiny(n):
        return Diagnosis("wrong-sign", f"backward has the wrong sign: it gives minus the derivative ({where})"), a, n
    if not _tiny(n) and not _tiny(a):
        factor = a / n
        if _holds(lambda g, d: all(_close(g[k], factor * np.asarray(d[k])) for k in bad), cases):
            return Diagnosis("constant-factor", f"backward is off by a constant factor: it gives "
                                                f"{_number(factor)} times the derivative ({where})"), a, n
    return Diagnosis("wrong", "the derivative is wrong, and not by a sign, a constant factor or a swap of "
                              "inputs: work it out again (the central difference above is the target)"), a, n


def probe_contract(gate: Any, xs: Sequence[Any], message: str) -> Diagnosis:
    """What a gate that broke the protocol at ``xs`` did, found by calling it (the message is the fallback)."""
    try:
        with np.errstate(all="ignore"):
            out = gate.forward(*xs)
            grads = gate.backward(np.ones_like(np.asarray(out, dtype=np.float64)), out, *xs)
    except BaseException as exc:  # SystemExit too: a plugin's, never the checker's end
        if is_user_interrupt(exc):
            raise
        return _RAISED
    if not isinstance(grads, (tuple, list)) or len(grads) != gate.arity:
        return _WRONG_COUNT
    for grad, x in zip(grads, xs):
        shape = np.shape(grad)
        try:
            fits = shape == np.shape(x) or np.broadcast_shapes(shape, np.shape(out)) == np.shape(out)
        except ValueError:
            fits = False
        if not fits:
            return _WRONG_SHAPE
    return contract_diagnosis(message)


def contract_diagnosis(message: str) -> Diagnosis:
    """The diagnosis of a backward that broke the protocol, from the engine's message."""
    if "gradient(s) for" in message or "must return a tuple" in message:
        return _WRONG_COUNT
    if " raised " in message:
        return _RAISED
    return _WRONG_SHAPE


_WRONG_COUNT = Diagnosis("wrong-count", "backward must return a tuple with one gradient per input, in order "
                                        "(a tuple even for one input: (grad * d,))")
_RAISED = Diagnosis("raised", "the gate raised instead of returning a value (gates give inf or nan, never raise)")
_WRONG_SHAPE = Diagnosis("wrong-shape", "each gradient must have its input's shape or the output's shape (the "
                                        "engine sums a broadcast gradient back); compute it elementwise from grad")
