"""gatekit: backpropagation on real-valued circuits, with gates as plugins.

The public API lives here; everything else is an implementation detail.
"""

from __future__ import annotations

from .arrays import array_namespace
from .check import CheckResult, assert_gate_gradients, check_circuit, check_gate, numerical_gradient
from .circuit import Circuit, Node
from .circuit_file import circuit_from_dict, circuit_to_dict, load, save
from .compose import Composer, Wire
from .expression import parse
from .errors import (
    CircuitError,
    CircuitFileError,
    ExpressionError,
    GateContractError,
    GatekitError,
    GateValidationError,
    MissingExtraError,
    NameConflictError,
    NonFiniteError,
    OptionError,
    PluginError,
    PluginLoadError,
    UnknownNameError,
    UsageError,
    DataFileError,
    ModelFileError,
)
from .gate import Domain, Gate, Interval, Source
from .hookspecs import Register, hookimpl
from .plugins import default_registry, load_registry, reset_default_registry
from .registry import Entry, LoadError, PluginInfo, Registry
from .trace import Stage, Trace
from .problem import Problem
from .strategy import (
    Converged,
    Option,
    Strategy,
    StrategyContractError,
    coerce_options,
    describe_strategy,
    validate_strategy,
)
from .optimize import Result, StepRecord, compare, optimize
from .explain import Explanation
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
    "Entry",
    "PluginInfo",
    "LoadError",
    "load_registry",
    "default_registry",
    "reset_default_registry",
    # circuits
    "Circuit",
    "Node",
    "Composer",
    "Wire",
    "Trace",
    "Stage",
    # expressions and circuit files
    "parse",
    "save",
    "load",
    "circuit_to_dict",
    "circuit_from_dict",
    # strategies and optimisation
    "optimize",
    "compare",
    "Result",
    "StepRecord",
    "Problem",
    "Strategy",
    "Option",
    "Converged",
    "coerce_options",
    "describe_strategy",
    "validate_strategy",
    "StrategyContractError",
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
    # errors
    "GatekitError",
    "UsageError",
    "PluginError",
    "PluginLoadError",
    "GateValidationError",
    "NameConflictError",
    "UnknownNameError",
    "CircuitError",
    "ExpressionError",
    "CircuitFileError",
    "GateContractError",
    "NonFiniteError",
    "OptionError",
    "DataFileError",
    "ModelFileError",
    "MissingExtraError",
    # seeing backprop: pictures, explanations, step-through, plots
    "draw",
    "Picture",
    "Explanation",
    "steps",
    "Step",
    "plot_run",
    "plot_comparison",
]
