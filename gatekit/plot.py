"""Plots of optimisation: one run's output by step (and its path over the contours of
the circuit's output when two inputs are free), and several runs compared by cost.

matplotlib is an extra (``pip install 'gatekit[plot]'``); without it every function
here raises one :class:`~gatekit.errors.MissingExtraError` naming the extra. Figures
are built without pyplot, so nothing global changes in the caller's process::

    result = gatekit.optimize(circuit, start, "analytic-gradient", steps=50)
    gatekit.plot_run(result, circuit, path="run.png")
    gatekit.plot_comparison(gatekit.compare(circuit, start, steps=20), path="compare.png")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import MissingExtraError, UsageError

if TYPE_CHECKING:
    from .circuit import Circuit
    from .optimize import Result

__all__ = ["require_matplotlib", "plot_run", "plot_comparison", "run_points", "Plot"]

#: Pixels per inch of a saved plot.
DPI = 120
#: Contour grid resolution (per side): one vectorised forward pass evaluates all of it.
GRID = 120


def require_matplotlib() -> Any:
    """The matplotlib module, or one clear error naming the extra that brings it."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("drawing PNGs and plots", "matplotlib", "plot") from None
    return matplotlib


def run_points(result: Result) -> list[dict[str, float]]:
    """The points a run visited, in order: the start, then where each step landed."""
    return [dict(result.start)] + [dict(record.point) for record in result.history]


def _figure(width: float, height: float) -> Any:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


class Plot:
    """A drawn plot: ``.figure`` is the matplotlib Figure, ``.save(path)`` writes it, and a
    notebook shows it as a PNG (a Figure made without pyplot would not show itself)."""

    def __init__(self, figure: Any):
        self.figure = figure

    @property
    def axes(self) -> list[Any]:
        return list(self.figure.axes)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        self.figure.savefig(path, dpi=DPI, facecolor="white")
        return path

    def png(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        titles = [ax.get_title() for ax in self.figure.axes if ax.get_title()]
        return f"<Plot: {'; '.join(titles)}>"


def _save(fig: Any, path: str | Path | None) -> Plot:
    plot = Plot(fig)
    if path is not None:
        plot.save(path)
    return plot


def plot_run(result: Result, circuit: Circuit | None = None, path: str | Path | None = None) -> Plot:
    """The output at each step (and the best so far); with ``circuit`` and exactly two free
    inputs, a second panel draws the path over the contours of the circuit's output.

    Returns the :class:`Plot` (saved to ``path`` if given).
    """
    free = [name for name in result.start if name not in result.held]
    contours = circuit is not None and len(free) == 2
    fig = _figure(11 if contours else 6.5, 4.5)
    axes = fig.subplots(1, 2) if contours else [fig.subplots()]
    steps = [0] + [r.step for r in result.history]
    outputs = [result.start_output] + [r.output for r in result.history]
    best = [result.start_output] + [r.best_output for r in result.history]
    ax = axes[0]
    ax.plot(steps, outputs, marker="o" if len(steps) <= 40 else None, markersize=3, label="output at the step")
    ax.plot(steps, best, linestyle="--", label="best so far")
    ax.set_xlabel("step")
    ax.set_ylabel("output")
    direction = "maximize" if result.maximize else "minimize"
    ax.set_title(f"{result.strategy} ({direction}): best {result.best_output:.6g}")
    ax.grid(alpha=0.3)
    ax.legend()
    if contours:
        assert circuit is not None
        _path_over_contours(axes[1], result, circuit, free)
    return _save(fig, path)


def _path_over_contours(ax: Any, result: Result, circuit: Circuit, free: list[str]) -> None:
    a, b = free
    points = run_points(result)
    xs = np.array([p[a] for p in points])
    ys = np.array([p[b] for p in points])

    def span(v: np.ndarray) -> tuple[float, float]:
        low, high = float(v.min()), float(v.max())
        pad = max((high - low) * 0.25, 0.5)
        return low - pad, high + pad

    (x0, x1), (y0, y1) = span(xs), span(ys)
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    values: dict[str, Any] = {name: result.start[name] for name in result.held}
    values.update({a: gx, b: gy})
    with np.errstate(all="ignore"):
        z = np.broadcast_to(np.asarray(circuit.forward(values).output, dtype=np.float64), gx.shape)
    filled = ax.contourf(gx, gy, np.where(np.isfinite(z), z, np.nan), levels=20, cmap="viridis", alpha=0.8)
    ax.figure.colorbar(filled, ax=ax, label="output")
    ax.plot(xs, ys, color="white", linewidth=1.5, marker="o" if len(xs) <= 40 else None, markersize=3)
    ax.plot(xs[:1], ys[:1], marker="s", color="black", markersize=7, linestyle="none", label="start")
    best = result.best
    ax.plot([best[a]], [best[b]], marker="*", color="red", markersize=12, linestyle="none", label="best")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("the path over the output's contours")
    ax.legend(loc="best")


def plot_comparison(results: Sequence[Result], path: str | Path | None = None) -> Plot:
    """The best output so far against forward evaluations spent, one line per strategy."""
    if not results:
        raise UsageError("plot_comparison() needs at least one result")
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    for r in results:
        cost = [1] + [h.forward for h in r.history]
        best = [r.start_output] + [h.best_output for h in r.history]
        ax.step(cost, best, where="post", marker="o" if len(cost) <= 30 else None, markersize=3,
                label=f"{r.strategy} ({r.forward_evals} fwd, {r.backward_evals} bwd)")
    ax.set_xscale("log")
    ax.set_xlabel("forward evaluations (log scale)")
    ax.set_ylabel("best output so far")
    direction = "maximize" if results[0].maximize else "minimize"
    ax.set_title(f"strategies compared ({direction})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return _save(fig, path)
