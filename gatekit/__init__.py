"""gatekit: backpropagation on real-valued circuits, with gates as plugins.

The public API lives here, and ``__all__`` is all of it: what the README and the examples
use, and what a library user needs beside (the types its functions return, the errors
worth catching). Everything else is an implementation detail of its module; a few names
that used to be here still work from here, with a warning naming their own module
(:data:`MOVED`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .arrays import array_namespace
from .check import CheckResult, assert_gate_gradients, check_circuit, check_gate, numerical_gradient
from .circuit import Circuit
from .circuit_file import load, save
from .compose import Composer, Wire
from .expression import parse
from .errors import (
    CircuitError,
    CircuitFileError,
    DataFileError,
    ExpressionError,
    GatekitError,
    ModelFileError,
    NonFiniteError,
    OptionError,
    PluginError,
    UnknownNameError,
    UsageError,
    warn_deprecated,
)
from .gate import Domain, Gate, Interval, Source
from .hookspecs import Register, hookimpl
from .plugins import default_registry, load_registry
from .registry import Registry
from .trace import Trace
from .problem import Problem
from .strategy import Converged, Option, Strategy
from .optimize import Result, compare, optimize
from .stepthrough import Step, steps
from .draw import Picture, draw
from .plot import plot_comparison, plot_run
from . import notebook as _notebook  # noqa: F401  (gives circuits, traces, results their notebook display)
from . import datasets, nn
from .model_file import Model, load_model, save_model
from .train import Training, decay, train

from ._version import __version__

__all__ = [
    "__version__",
    # gates and plugins
    "Gate",
    "Domain",
    "Interval",
    "Source",
    "array_namespace",
    "hookimpl",
    "Register",
    "Registry",
    "load_registry",
    "default_registry",
    # circuits
    "Circuit",
    "Composer",
    "Wire",
    "Trace",
    # expressions and circuit files
    "parse",
    "save",
    "load",
    # strategies and optimisation
    "optimize",
    "compare",
    "Result",
    "Problem",
    "Strategy",
    "Option",
    "Converged",
    # training
    "train",
    "Training",
    "decay",
    "Model",
    "save_model",
    "load_model",
    "nn",
    "datasets",
    # checks
    "CheckResult",
    "check_gate",
    "check_circuit",
    "assert_gate_gradients",
    "numerical_gradient",
    # errors worth catching (each is a GatekitError; the rest are in gatekit.errors)
    "GatekitError",
    "UsageError",
    "UnknownNameError",
    "OptionError",
    "CircuitError",
    "ExpressionError",
    "CircuitFileError",
    "DataFileError",
    "ModelFileError",
    "NonFiniteError",
    "PluginError",
    # seeing backprop: pictures, step-through, plots
    "draw",
    "Picture",
    "steps",
    "Step",
    "plot_run",
    "plot_comparison",
]

#: Names that left ``gatekit`` (what the CLI, the registry or the tests need, or records
#: found inside a result) -> the module that holds them. ``gatekit.X`` still gives each,
#: with a DeprecationWarning that names where to import it from.
MOVED = {
    # provenance records: what registry.plugins, .load_errors and .iter_entries() hold
    "Entry": "gatekit.registry",
    "PluginInfo": "gatekit.registry",
    "LoadError": "gatekit.registry",
    # for test suites (gatekit.pytest_plugin isolates registries for plugin authors)
    "reset_default_registry": "gatekit.plugins",
    # a circuit's parts and a result's records: built and handed out by gatekit, never by users
    "Node": "gatekit.circuit",
    "Stage": "gatekit.trace",
    "StepRecord": "gatekit.optimize",
    "Explanation": "gatekit.explain",
    # circuit files as plain data: what model files build on (save/load and dumps/loads are the API)
    "circuit_to_dict": "gatekit.circuit_file",
    "circuit_from_dict": "gatekit.circuit_file",
    # what the registry and the CLI do with a strategy
    "coerce_options": "gatekit.strategy",
    "describe_strategy": "gatekit.strategy",
    "validate_strategy": "gatekit.strategy",
    # the finer errors: each is a PluginError (or, for MissingExtraError, a GatekitError)
    "StrategyContractError": "gatekit.errors",
    "PluginLoadError": "gatekit.errors",
    "GateValidationError": "gatekit.errors",
    "NameConflictError": "gatekit.errors",
    "GateContractError": "gatekit.errors",
    "MissingExtraError": "gatekit.errors",
}


if not TYPE_CHECKING:  # hidden from type checkers: to them gatekit.Composr stays a typo, gatekit.Node moved

    def __getattr__(name: str) -> Any:
        """A name that moved (see MOVED): still given, with a warning saying where it lives now."""
        if name in MOVED:
            warn_deprecated(f"gatekit.{name}", f"{MOVED[name]}.{name}")
            return getattr(importlib.import_module(MOVED[name]), name)
        raise AttributeError(f"module 'gatekit' has no attribute {name!r}")
