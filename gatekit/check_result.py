"""A gradient check's verdict: :class:`CheckResult` and, for a circuit, :class:`NodeReport`.

What a check found and how it reads to a person (``describe``); the checks that fill
them in are in :mod:`gatekit.check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .diagnosis import Diagnosis

__all__ = ["CheckResult", "NodeReport"]


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
    #: The input whose gradient disagreed most, its element, and the derivative there from
    #: backward and from central differences, both for an upstream gradient of 1.
    worst_input: str | None = None
    analytic: float | None = None
    numeric: float | None = None
    worst_index: tuple[int, ...] = ()
    #: The plugin that registered the gate checked (None for a circuit).
    plugin: str | None = None
    #: What the mistake most likely is, when the check failed (see :mod:`gatekit.diagnosis`).
    diagnosis: Diagnosis | None = None
    #: A kink met at a random point: not evidence either way, so the check passed (see ``describe``).
    kink: Diagnosis | None = None
    kink_point: dict[str, Any] = field(default_factory=dict)
    #: For a circuit: the gate nodes whose own backward disagrees at the values they saw.
    culprits: list[NodeReport] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def who(self) -> str:
        return self.name if self.plugin is None else f"gate {self.name!r} (plugin {self.plugin!r})"

    def __repr__(self) -> str:
        return f"<CheckResult {self.describe()}>"

    def describe(self) -> str:
        """What happened, in order: who, where, the two derivatives, the most likely mistake."""
        if self.error:
            text = self.error if self.plugin is not None and repr(self.name) in self.error else f"{self.who()}: {self.error}"
            return text + (f"\n  most likely: {self.diagnosis.summary}" if self.diagnosis else "")
        if self.ok:
            text = f"{self.who()}: ok (max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g})"
            if self.kink is not None:
                text += f"\n  note: at {_point(self.kink_point)}: {self.kink.summary}"
            return text
        lines = [f"{self.who()}: backward disagrees with central differences",
                 f"  at {_point(self.worst_point)}"]
        if self.worst_input is not None:
            element = f"[{', '.join(map(str, self.worst_index))}]" if self.worst_index else ""
            lines.append(f"  for an upstream gradient of 1: backward gives d/d{self.worst_input}{element} = "
                         f"{self.analytic!r}, central differences give {self.numeric!r}")
        if self.diagnosis is not None:
            lines.append(f"  most likely: {self.diagnosis.summary}")
        for culprit in self.culprits:
            lines.append(f"  the wrong gate: {culprit.describe()}")
        return "\n".join(lines)


@dataclass(frozen=True)
class NodeReport:
    """A gate node whose own backward disagrees with central differences at the values it saw."""

    node: int
    label: str | None
    gate: str
    plugin: str | None
    result: CheckResult

    def describe(self) -> str:
        where = f"node {self.node}" + (f" ({self.label!r})" if self.label else "")
        lines = self.result.describe().splitlines()
        return "\n    ".join([f"{where}, {lines[0]}"] + [line.strip() for line in lines[1:]])


def _point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in point.items())


def _fmt(v: Any) -> str:
    a = np.asarray(v)
    return repr(float(a)) if a.ndim == 0 else np.array2string(a, precision=6, separator=", ")
