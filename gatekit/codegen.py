"""Compiled circuits: the generated source (:mod:`gatekit.circuit_source`) run, with the interpreter behind it.

Each variant is compiled on first use. Where Python raises and numpy would give inf or
nan (``1.0 / 0.0``), or a gate called through its methods misbehaves, the compiled call
falls back to the interpreter for that call, so both tiers always give the same answers;
the first call of each kind (floats, arrays) goes to the interpreter too, which checks
every gate's output. Arrays of another library (array-api-strict, dask, CuPy, JAX) get
a variant of their own: the same straight-line code with every gate called through its
methods, which compute in the arrays' namespace, and the engine's shape rules bound in
(the printed numpy source is not it: its templates and helper are numpy's). Numbers
among numpy arrays, and arrays of several shapes (a layer's weights, bias and data), get
a variant for each kind of inputs (:mod:`gatekit.shape_plan`).
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .circuit_source import generate_source
from .arrays import is_foreign
from .shape_plan import ShapePlan, Watched, input_kind
from .values import plain, values_in_order
from .wanted import wanted_inputs

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["CompiledCircuit", "generate_source"]


class CompiledCircuit:
    """A circuit as generated Python: the same numbers as the interpreter, faster.

    Built by :meth:`Circuit.compile() <gatekit.circuit.Circuit.compile>`; each variant
    (floats, arrays) is generated on first use. ``gradient`` and ``__call__`` take the
    same arguments as the circuit's.
    """

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        # Keyed by (arrays, which function, the wanted inputs: None for all of them).
        self._functions: dict[tuple[bool, str, tuple[str, ...] | None], Callable[..., Any]] = {}
        self._names = tuple(circuit.input_ids)
        self._floats_gradient: Callable[..., Any] | None = None  # the float variant, once made
        self._floats_pure = False  # no gate called through its methods: floats in, floats out
        # The array variant made for each kind of inputs met (see gatekit.shape_plan); None
        # where that kind gets none (a gate called by method, or the recording failed).
        self._kinds: dict[Any, _ForKind | None] = {}
        # For each set of wanted inputs, the variant the last such call went through.
        self._recent: dict[tuple[str, ...] | None, _ForKind] = {}
        self._float_classes = (float,) * len(self._names)
        # Every input's value from a dict, in the circuit's order (itemgetter gives one value, not a tuple, for one name).
        self._pick: Callable[[Any], Any] = (operator.itemgetter(*self._names) if len(self._names) > 1
                                            else lambda values: [values[name] for name in self._names])

    def source(self, arrays: bool = False) -> str:
        """The generated module (the function ``forward_backward``), as a person would write it."""
        return generate_source(self.circuit, arrays)[0]

    def _function(self, arrays: bool, name: str = "forward_backward", wanted: tuple[str, ...] | None = None) -> Callable[..., Any]:
        fn = self._functions.get((arrays, name, wanted))
        if fn is None:
            # Each function is made when first needed: compiling costs more than generating.
            text, bound = generate_source(self.circuit, arrays, forward_only=name in ("forward", "forward_any"),
                                          dict_call=name == "gradient", list_call=name == "gradient_list",
                                          lean=name == "lean", any_library=name in ("any", "forward_any"), wrt=wanted)
            namespace: dict[str, Any] = {"__builtins__": builtins, **bound}
            if name in ("gradient", "gradient_list"):
                namespace["_careful"] = self._careful if name == "gradient" else self._careful_list
            # Made of validated parts only (see gatekit.circuit_source); never of user text.
            exec(compile(text, f"<gatekit compiled circuit ({'arrays' if arrays else 'floats'})>", "exec"), namespace)
            made = {"lean": "forward_backward", "any": "forward_backward", "forward_any": "forward"}.get(name, name)
            fn = self._functions[(arrays, name, wanted)] = namespace[made]
            if not arrays and name in ("forward_backward", "gradient", "gradient_list") and wanted is None:
                self._floats_pure = not [key for key in bound if key.startswith("_g")]  # no gate bound
        return fn

    def gradient(self, values: Mapping[str, Any] | None = None, *, wrt: Any = None,
                 **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(output, {input name: gradient})``, as :meth:`Circuit.gradient` gives them (``wrt`` too)."""
        if wrt is None and values.__class__ is dict and not kwargs and True not in self.circuit._unchecked_kinds:
            fast = self._function(False, "gradient")
            if self._floats_pure:
                # Floats in, floats out (once the interpreter has checked every gate's
                # output for floats): from now on ``gradient`` is the generated function
                # itself, with nothing in between. What it buys: with 8 gates one more
                # Python call costs a fifth of the arithmetic. It hands every call it
                # cannot serve (another ``wrt`` too) to ``_careful``, which behaves as this method does.
                self.__dict__["gradient"] = fast
                return fast(values)  # type: ignore[no-any-return]
        return self._careful(values, wrt, **kwargs)

    def gradient_list(self, xs: Sequence[Any], *, wrt: Any = None) -> tuple[Any, list[Any]]:
        """``(output, [gradient of each input])``, as :meth:`Circuit.gradient_list` gives them.

        The call for the fewest conversions: values in a list or tuple in the order of
        ``circuit.inputs`` (floats go straight into the generated code), gradients as a
        list in that order (or ``wrt``'s). Installed, as ``gradient`` is, once floats are known to stay floats.
        """
        if wrt is None and True not in self.circuit._unchecked_kinds:
            fast = self._function(False, "gradient_list")
            if self._floats_pure:
                self.__dict__["gradient_list"] = fast
                return fast(xs)  # type: ignore[no-any-return]
        return self._careful_list(xs, wrt)

    def _careful_list(self, xs: Any, wrt: Any = None) -> tuple[Any, list[Any]]:
        """``gradient_list`` for any arguments: through ``gradient``'s checked path."""
        wanted = None if wrt is None else wanted_inputs(self.circuit, wrt)
        if (xs.__class__ is np.ndarray and xs.shape == (len(self._names),) and xs.dtype == np.float64
                and True not in self.circuit._unchecked_kinds):
            # An optimiser's vector: one float per input, handed to the generated code as floats.
            if wanted is None and self._floats_pure:
                return self._function(False, "gradient_list")(xs.tolist())  # type: ignore[no-any-return]
            if wanted is not None:
                out, grads = self._function(False, "gradient_list", wanted)(xs.tolist())
                if out.__class__ is float and set(map(type, grads)) <= _FLOAT:
                    return out, grads
        out, named = self._careful(values_in_order(self.circuit.inputs, xs), wanted)
        return out, list(named.values())

    def _careful(self, values: Mapping[str, Any] | None = None, wrt: Any = None, /,
                 **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``gradient`` for any arguments: resolved and checked, the interpreter where in doubt."""
        circuit = self.circuit
        names = self._names
        wanted = None if wrt is None else wanted_inputs(circuit, wrt)
        given = names if wanted is None else wanted  # the names of the gradients given back
        xs = None
        if values.__class__ is dict and not kwargs and len(values) == len(names):
            try:  # every name there, and no other (as many keys): the circuit's inputs, read in one C call
                xs = list(self._pick(values))
            except KeyError:
                pass
        if xs is not None and values is not None:
            inputs: Mapping[str, Any] = values
            classes = tuple(map(type, xs))
            recent = self._recent.get(wanted)
            if recent is not None and recent.serves(classes, xs):
                # The kind of the last call (a training loop's: each step's weights and the
                # same data), told by a class test and the arrays' shapes and dtypes, not by
                # working out the kind. Its values are floats and float arrays, which the
                # resolver hands on as they are, so it has nothing to check.
                made = self._run_kind(recent, xs, given)
                if made is not None:
                    return made
            floats = bool(names) and classes == self._float_classes
            kind = None if floats else input_kind(xs)
            if kind is not None and self._kinds.get((kind, wanted)) is not None:
                # Another kind a variant was made for.
                with np.errstate(all="ignore"):
                    try:
                        made = self._for_kind(xs, kind, wanted)
                    except Exception:  # noqa: BLE001 - as below: the interpreter answers
                        made = None
                if made is not None:
                    return made
            if not floats:  # arrays, ints, or something to refuse: the one resolver decides
                inputs = circuit.resolve_inputs(values)
                xs = list(map(inputs.__getitem__, names))
        else:
            inputs = circuit.resolve_inputs(values, **kwargs)
            xs = list(map(inputs.__getitem__, names))
            floats = set(map(type, xs)) == _FLOAT
        if floats in circuit._unchecked_kinds:  # the first call of a kind: the interpreter checks outputs
            return circuit.gradient(inputs, wrt=wanted)
        try:
            if floats:
                fn = self._floats_gradient if wanted is None else self._function(False, "forward_backward", wanted)
                if fn is None:
                    fn = self._floats_gradient = self._function(False)
                out, grads = fn(*xs)
                # Built-in templates keep floats floats; a gate called by method may not.
                if (self._floats_pure and wanted is None) or (out.__class__ is float and set(map(type, grads)) <= _FLOAT):
                    return out, dict(zip(given, grads))
            elif _any_foreign(xs):  # another library's arrays: its own namespace, through the gates' methods
                with np.errstate(all="ignore"):
                    out, grads = self._function(True, "any", wanted)(*xs)
                return out, dict(zip(given, grads))
            else:
                with np.errstate(all="ignore"):
                    # Inputs of one shape (a batch): the lean variant, else the general one.
                    # (Not even compiled for a number among the inputs: a scalar-gate model's weights.)
                    batch = all(x.__class__ is np.ndarray for x in xs)
                    if not batch:  # numbers among arrays (a scalar-gate model's weights and data)
                        made = self._for_kind(xs, None, wanted)
                        if made is not None:
                            return made
                    result = self._function(True, "lean", wanted)(*xs) if batch else None
                    if batch and result is None:  # arrays of several shapes (a layer's W, b and data)
                        made = self._for_kind(xs, None, wanted)
                        if made is not None:
                            return made
                    out, grads = result if result is not None else self._function(True, "forward_backward", wanted)(*xs)
                return plain(out), {name: plain(g) for name, g in zip(given, grads)}
        except Exception:  # noqa: BLE001 - Python raised where numpy gives inf/nan, or a gate misbehaved
            pass
        # The interpreter gives IEEE answers (and names a misbehaving gate).
        return circuit.gradient(inputs, wrt=wanted)

    def _for_kind(self, xs: list[Any], kind: Any = None,
                  wanted: tuple[str, ...] | None = None) -> tuple[Any, dict[str, Any]] | None:
        """The call through the array variant made for these inputs' kind (and wanted inputs), or None (no such variant)."""
        key = (input_kind(xs) if kind is None else kind, wanted)
        made = self._kinds.get(key, _NOT_YET)
        if made is _NOT_YET:
            # A few kinds at most: a caller whose shapes change every call gets the general variant.
            made = self._kinds[key] = _ForKind.make(self.circuit, xs, wanted) if len(self._kinds) < _MAX_KINDS else None
        if made is None:
            return None
        self._recent[wanted] = made
        return self._run_kind(made, xs, self._names if wanted is None else wanted)

    @staticmethod
    def _run_kind(made: _ForKind, xs: list[Any], names: tuple[str, ...]) -> tuple[Any, dict[str, Any]] | None:
        """The variant's answer, or None where it raised or its results are not of the recording's kind."""
        with np.errstate(all="ignore"):
            try:
                out, grads = made.function(*xs)
            except Exception:  # noqa: BLE001 - Python raised (a float template): the general path answers
                return None
        if tuple(map(type, grads)) != made.classes or [grads[k].shape for k in made.arrays] != made.shapes:
            return None  # not what the recording met: the general variant answers
        if made.scalars:  # numpy scalars (plain()'s case; the classes are the recording's) as floats
            grads = list(grads)
            for k in made.scalars:
                grads[k] = float(grads[k])
        return plain(out), dict(zip(names, grads))

    def __call__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The output value (no gradient is computed)."""
        circuit = self.circuit
        inputs = circuit.resolve_inputs(values, **kwargs)
        xs = [inputs[name] for name in circuit.input_ids]
        if all(x.__class__ is float for x in xs) in circuit._unchecked_kinds:
            return circuit(inputs)  # the first call of a kind: the interpreter checks outputs
        try:
            if all(x.__class__ is float for x in xs):
                out = self._function(False, "forward")(*xs)
                if out.__class__ is float:
                    return out
            else:
                with np.errstate(all="ignore"):
                    return plain(self._function(True, "forward_any" if _any_foreign(xs) else "forward")(*xs))
        except Exception:  # noqa: BLE001 - as in gradient()
            pass
        return circuit(inputs)


_FLOAT = {float}
_MAX_KINDS = 4
_NOT_YET: Any = object()


class _ForKind:
    """The array variant generated for one kind of inputs, and the results' kind it gives."""

    def __init__(self, function: Callable[..., Any], grads: tuple[Any, ...], xs: list[Any]):
        self.function = function
        # The kind of inputs it serves (see gatekit.shape_plan.input_kind), kept to be tested fast.
        self.input_classes = tuple(map(type, xs))
        self.input_arrays = [k for k, x in enumerate(xs) if x.__class__ is np.ndarray]
        self.input_kinds = [(xs[k].shape, xs[k].dtype) for k in self.input_arrays]
        self.classes = tuple(map(type, grads))
        self.arrays = [k for k, g in enumerate(grads) if g.__class__ is np.ndarray]
        self.shapes = [grads[k].shape for k in self.arrays]
        # Floats and arrays of at least one dimension need no plain(); the rest, numpy
        # scalars or 0-d arrays, become floats.
        self.scalars = [k for k, g in enumerate(grads) if g.__class__ is not float and plain(g) is not g]

    def serves(self, classes: tuple[type, ...], xs: list[Any]) -> bool:
        """Whether inputs of these classes are of the kind this variant was made for."""
        return classes == self.input_classes and [(xs[k].shape, xs[k].dtype) for k in self.input_arrays] == self.input_kinds

    @staticmethod
    def make(circuit: Circuit, xs: list[Any], wanted: tuple[str, ...] | None = None) -> _ForKind | None:
        """Record one call of the circuit's code on ``xs``, then generate the variant from what it met."""
        try:
            made = kind_source(circuit, xs, wanted)
            function = None if made is None else _compiled(*made)
            if function is None:
                return None
            return _ForKind(function, function(*xs)[1], xs)
        except Exception:  # noqa: BLE001 - Python raised (a float template), or a share had no rule
            return None


def kind_source(circuit: Circuit, xs: list[Any], wanted: tuple[str, ...] | None = None) -> tuple[str, dict[str, Any]] | None:
    """The module of the variant for the kind of ``xs`` and its bound objects, or None (none for this circuit).

    One recording call of the circuit's code notes what each share met (see
    :mod:`gatekit.shape_plan`); the code is then generated from that. May raise (a float
    template on these values): the caller then has no variant.
    """
    recording = ShapePlan(circuit, tuple(map(type, xs)))
    recorder = _compiled(*generate_source(circuit, True, plan=recording, wrt=wanted))
    if recorder is None:
        return None  # a gate called through its methods: its shapes may follow its values
    out = recorder(*xs)[0]
    # A float64 number out (a loss): the seed may stay a Python float (see generate_source).
    float_seed = out.__class__ is float or out.__class__ is np.float64
    # Numbers read as 0-d arrays where every array is float64 (see generate_source).
    float64 = all(x.dtype == np.float64 for x in xs if x.__class__ is np.ndarray)
    return generate_source(circuit, True, plan=recording.resolved(circuit), wrt=wanted, float_seed=float_seed,
                           numbers_as_arrays=float64)


def _compiled(text: str, bound: dict[str, Any]) -> Callable[..., Any] | None:
    """``forward_backward`` of a module of validated parts; None where a gate is bound (called by
    method), unless it is watched while recording (its templates for shapes come after)."""
    if any(key.startswith("_g") and value.__class__ is not Watched for key, value in bound.items()):
        return None
    namespace: dict[str, Any] = {"__builtins__": builtins, **bound}
    exec(compile(text, "<gatekit compiled circuit (arrays, one kind of inputs)>", "exec"), namespace)
    return namespace["forward_backward"]  # type: ignore[no-any-return]


def _any_foreign(xs: list[Any]) -> bool:
    """Any input an array of a library other than numpy (see gatekit.arrays)."""
    return any(x.__class__ is not float and x.__class__ is not np.ndarray and is_foreign(x) for x in xs)



