"""Rich display in Jupyter: the ``_repr_*_`` methods of gatekit's objects delegate here.

A circuit shows as its picture, a trace as its picture and staged table, a result as
its table and (with matplotlib) its plot, a check as a verdict line, a registry as a
table of its gates (a gate's own Markdown is in :mod:`gatekit.gate`). Everything is plain HTML or SVG built from the same pieces as the
CLI (:mod:`gatekit.draw`, :mod:`gatekit.plot`, :mod:`gatekit.explain`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from .explain import number

if TYPE_CHECKING:
    from .check import CheckResult
    from .circuit import Circuit
    from .optimize import Result
    from .registry import Registry
    from .trace import Trace

__all__ = ["circuit_svg", "trace_html", "result_html", "check_html", "registry_html", "table_html"]


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table class="gatekit">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def circuit_svg(circuit: Circuit) -> str:
    from .draw import draw

    return draw(circuit).svg()


def staged_rows(trace: Trace) -> list[list[str]]:
    circuit = trace.circuit
    rows = []
    for s in trace.stages(include_inputs=True):
        name = s.name or circuit.node_name(s.node)
        gate = "input" if s.kind == "input" else f"{s.gate}({', '.join(circuit.node_name(a) for a in s.args)})"
        rows.append([name, gate, number(s.value), "" if s.grad is None else number(s.grad)])
    return rows


def trace_html(trace: Trace) -> str:
    from .draw import draw

    scalar = all(_is_scalar(v) for v in trace.values)
    picture = draw(trace, backward=trace.grads is not None).svg() if scalar else ""
    table = table_html(["stage", "gate", "value", "gradient"], staged_rows(trace),
                       "stages, in order: forward value, then the output's gradient")
    return f'<div class="gatekit-trace">{picture}{table}</div>'


def result_html(result: Result) -> str:
    names = list(result.start)
    rows = [[label, *[number(point[n], 6) for n in names], number(output, 8)]
            for label, point, output in (("start", result.start, result.start_output),
                                         ("final", result.final, result.final_output),
                                         ("best", result.best, result.best_output))]
    direction = "maximize" if result.maximize else "minimize"
    caption = (f"{result.strategy}: {direction}, {result.steps_done} step(s), stopped: {result.stop_reason}; "
               f"cost {result.forward_evals} forward, {result.backward_evals} backward")
    html = table_html(["", *names, "output"], rows, caption)
    from .errors import MissingExtraError
    from .plot import plot_run

    try:
        png = plot_run(result).png()
    except MissingExtraError:  # without the plot extra, the table alone is still useful
        return html
    data = base64.b64encode(png).decode("ascii")
    return html + f'<img alt="output by step" src="data:image/png;base64,{data}"/>'


def check_html(check: CheckResult) -> str:
    colour = "#2e7d32" if check.ok else "#c62828"
    # <pre>: a failed check's description has several lines (gate, point, diagnosis).
    return f'<pre class="gatekit-check" style="color: {colour}">{escape(check.describe())}</pre>'


def registry_html(registry: Registry) -> str:
    gates = [[e.name, str(e.obj.arity), getattr(e.obj, "symbol", None) or "", e.plugin.name, str(e.obj.doc)]
             for e in registry.iter_entries("gate")]
    strategies = [[e.name, e.plugin.name, str(getattr(e.obj, "doc", ""))] for e in registry.iter_entries("strategy")]
    return (table_html(["gate", "arity", "operator", "plugin", "formula"], gates, f"{len(gates)} gate(s)")
            + table_html(["strategy", "plugin", "what it does"], strategies, f"{len(strategies)} strategy(ies)"))


def _is_scalar(value: Any) -> bool:
    import numpy as np

    return np.ndim(value) == 0


def _attach() -> None:
    """Give the engine's objects their notebook display, from here, above them.

    The engine never imports this layer (no import circle, not even a lazy one):
    ``import gatekit`` imports this module, which sets each display method on its class.
    """
    from .check import CheckResult
    from .circuit import Circuit
    from .composite import CompositeGate
    from .optimize import Result
    from .registry import Registry
    from .trace import Trace

    setattr(Circuit, "_repr_svg_", circuit_svg)
    setattr(CompositeGate, "_repr_svg_", lambda gate: circuit_svg(gate.circuit))
    setattr(Trace, "_repr_html_", trace_html)
    setattr(Result, "_repr_html_", result_html)
    setattr(CheckResult, "_repr_html_", check_html)
    setattr(Registry, "_repr_html_", registry_html)


_attach()
