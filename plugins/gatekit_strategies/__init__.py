"""The strategies that ship with gatekit, registered through the same hook as anyone's.

The lesson's four ways to climb (random search, local search, numerical gradient,
analytic gradient) and two classics that build on the last (momentum, Adam).
"""

from __future__ import annotations

from gatekit import hookimpl

from .gradient import Adam, AnalyticGradient, Momentum, NumericalGradient
from .search import LocalSearch, RandomSearch

STRATEGIES = (RandomSearch, LocalSearch, NumericalGradient, AnalyticGradient, Momentum, Adam)

__all__ = ["STRATEGIES", "gatekit_register_strategies"] + [cls.__name__ for cls in STRATEGIES]


@hookimpl
def gatekit_register_strategies(register):
    for cls in STRATEGIES:
        register(cls())
