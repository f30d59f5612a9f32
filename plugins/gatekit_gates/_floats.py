"""The one escape hatch of the float paths: numpy's IEEE answer, quietly, as a float.

The built-in gates keep Python floats floats (``keeps_floats``), which is several
times faster than numpy scalars. Where Python would raise instead (``1.0 / 0.0``,
``math.exp(1000)``, ``math.log(-1)``), they ask numpy for its inf or nan here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def ieee(fn: Callable[..., Any], *xs: Any) -> float:
    """``fn(*xs)`` under ``np.errstate(all="ignore")``, as a Python float."""
    with np.errstate(all="ignore"):
        return float(fn(*xs))
