"""The decision boundary of a trained model over its two features, as a PNG.

The plane is coloured by the model's score (its sign is the predicted label), the
line ``score = 0`` drawn, and the data points on top, coloured by their labels.
Every grid point is scored in one forward pass of the score circuit. matplotlib is
an optional extra (``pip install 'gatekit[plot]'``); without it, one clear error.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import UsageError
from .plot import require_matplotlib

if TYPE_CHECKING:
    from .datasets import Dataset
    from .model_file import Model

__all__ = ["plot_boundary"]


def plot_boundary(model: Model, data: Dataset, path: str | os.PathLike[str], title: str | None = None,
                  resolution: int = 200) -> None:
    """Save the decision boundary of ``model`` (two features) with ``data`` on it to ``path``."""
    if data.X.shape[1] != 2:
        raise UsageError(f"a decision boundary is drawn over two features; the data have {data.X.shape[1]}")
    require_matplotlib()
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure  # no pyplot: no global state, no display

    low, high = data.X.min(axis=0), data.X.max(axis=0)
    pad = 0.15 * (high - low) + 0.1
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    scores = model.scores(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    # Each side of the boundary gets its whole colour range, however lopsided the scores.
    low_score, high_score = min(float(scores.min()), -1e-9), max(float(scores.max()), 1e-9)
    levels = np.concatenate([np.linspace(low_score, 0.0, 11)[:-1], np.linspace(0.0, high_score, 11)])
    fig = Figure(figsize=(6, 5), dpi=100)
    ax = fig.subplots()
    shade = ax.contourf(gx, gy, scores, levels=levels, cmap="RdBu",
                        norm=TwoSlopeNorm(0.0, low_score, high_score), alpha=0.6)
    ax.contour(gx, gy, scores, levels=[0.0], colors="black", linewidths=1.5)
    for label, colour, marker in ((1.0, "#08306b", "o"), (-1.0, "#67000d", "s")):
        mine = data.y == label
        ax.scatter(data.X[mine, 0], data.X[mine, 1], c=colour, marker=marker, s=22, edgecolors="white",
                   linewidths=0.5, label=f"label {label:+g}")
    fig.colorbar(shade, ax=ax, label="score (its sign is the prediction)")
    names = data.feature_names
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    accuracy = float(np.mean(model.predict(data.X) == data.y))
    ax.set_title(title or f"{model.network.describe()}\n{data.name}: training accuracy {accuracy:.0%}", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
