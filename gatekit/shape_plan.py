"""Shapes known when the code is generated: the array variant made for one kind of inputs.

The general array variant sums every gradient share back to its input's shape at run
time (``unbroadcast(share, x)``: one Python call per share, ~2,000 a step for the
scalar-gate moons MLP), because it serves inputs of any shapes. A circuit called again
and again with inputs of one kind (the same classes; arrays of the same shapes and
dtypes: a training run's weights and data) can have those calls resolved once. The
plan for one kind is made from one recording call of the same code with every share
passed through :meth:`ShapePlan.record`, which notes what ``unbroadcast`` met there;
the code generated from the plan then writes, at each share, what ``unbroadcast`` would
have done on that kind:

- ``same``: the share already has its input's shape (arrays of one shape, or two
  numbers): the share itself;
- ``sum``: a number's share of a batch: ``float(np.add.reduce(share, axis=None))``, the
  helper's own text;
- ``dot``: such a sum of a product of two vectors of the batch (``x0 * d_mul1``, a
  weight's share): ``float(x0.dot(d_mul1))``, one call where there were two (the
  method, not ``np.dot``: the same C function without numpy's Python-level dispatch,
  ~0.15 us less a call, 304 calls a step of the moons MLP). The one
  place the numbers differ from the general variant's, by rounding only (the dot
  product sums in another order);
- anything else: ``unbroadcast(share, x)`` as before.

Besides, a gate whose
arguments are all Python floats (an input the kind says is a float, or such a gate's
value) runs its float template (``sumsq`` of a weight is ``x * x``, not ``np.vdot``), and
a gate whose templates depend on its arguments' shapes (``linear``: ``x @ W.T + b`` for a
batch, its backward ``g.T @ x``, ``g @ W`` and ``np.add.reduce(g, 0)``) runs the ones its
``source_for_shapes`` gives for the shapes the recording met (it is called through its
methods there, watched by :class:`Watched`), with no shape tested at run time.

Why a kind decides the shapes: a numpy expression's result class and shape follow from
its operands' classes, shapes and dtypes, not their values. A gate called through its
methods gives no such promise, so a circuit with one (that has no templates for the
shapes it met) gets no plan (the general variant serves it). The classes and shapes of
the results are checked on every call too: a call whose results differ from the
recording's goes to the general variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import re

import numpy as np

from .errors import GateValidationError
from .templates import Template, checked_template, template_for

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["ShapePlan", "Watched", "input_kind"]

_NUMBER = (float, np.float64)
_PRODUCT = re.compile(r"([A-Za-z_]\w*) \* ([A-Za-z_]\w*)")  # a share that is the product of two names


def input_kind(xs: Sequence[Any]) -> tuple[Any, ...] | None:
    """The kind of a call's inputs: their classes, and each array's shape and dtype."""
    classes = tuple(map(type, xs))
    if np.ndarray not in classes:
        return None
    return classes, tuple([(x.shape, x.dtype) for x in xs if x.__class__ is np.ndarray])


class ShapePlan:
    """What is known of one kind of inputs: which gates run on floats, and how each share is reduced.

    Made with ``sites=None`` it records (the code calls :meth:`record` at each share);
    :meth:`resolved` then gives the plan the final code is generated from.
    """

    def __init__(self, circuit: Circuit, classes: Sequence[type], sites: tuple[str, ...] | None = None,
                 shaped: dict[int, Template] | None = None):
        self.classes = tuple(classes)
        self.sites = sites
        self.seen: list[str] = []  # while recording: what unbroadcast meets at each share
        self.float_nodes = _float_nodes(circuit, self.classes)
        self.shaped = shaped or {}  # node -> its gate's templates for the shapes recorded there
        self.watched: dict[int, Watched] = {}  # while recording: the gates called by method that may get them

    def template(self, i: int, gate: Any) -> Template | None:
        """The templates node ``i`` runs in code for this kind (None: its gate's methods)."""
        if i in self.float_nodes:
            return template_for(gate, False)
        shaped = self.shaped.get(i)
        return shaped if shaped is not None else template_for(gate, True)

    def bind(self, i: int, gate: Any) -> Any:
        """What the code calls for node ``i``'s gate by method: while recording, the gate watched
        (if it can give templates for shapes); else the gate itself."""
        if self.sites is not None or not callable(getattr(gate, "source_for_shapes", None)):
            return gate
        watched = self.watched.get(i)
        if watched is None:
            watched = self.watched[i] = Watched(gate)
        return watched

    def site(self, k: int, share: str, x: str) -> str:
        """The text that brings share number ``k`` to the shape of ``x``."""
        product = _PRODUCT.fullmatch(share)
        if self.sites is None:
            factors = f", {product[1]}, {product[2]}" if product else ""
            return f"unbroadcast(_record({k}, {share}, {x}{factors}), {x})"
        how = self.sites[k] if k < len(self.sites) else "keep"
        if how == "same":
            return share
        if how == "dot" and product:
            return f"float({product[1]}.dot({product[2]}))"  # both ndarrays: the recording saw them
        if how in ("sum", "dot"):
            return f"float(np.add.reduce({share}, axis=None))"
        return f"unbroadcast({share}, {x})"

    def record(self, k: int, share: Any, x: Any, *factors: Any) -> Any:
        """Note what kind of reduction share ``k`` needs; give the share unchanged (``unbroadcast`` follows)."""
        seen = self.seen
        while len(seen) <= k:
            seen.append("keep")
        if share.__class__ in _NUMBER and x.__class__ in _NUMBER:
            how = "same"
        elif share.__class__ is np.ndarray and x.__class__ is np.ndarray and share.shape == x.shape:
            how = "same"
        elif x.__class__ in _NUMBER and share.__class__ is np.ndarray and share.ndim:
            how = "dot" if share.ndim == 1 and _vectors_alike(share, factors) else "sum"
        else:
            how = "keep"
        seen[k] = how  # straight-line code meets each share once a call
        return share

    def resolved(self, circuit: Circuit) -> ShapePlan:
        """The plan recorded: the one the final code is generated from."""
        shaped = {}
        for i, watched in self.watched.items():
            if watched.shapes is not None and watched.float_gradient:
                try:
                    template = checked_template(watched.gate, watched.gate.source_for_shapes(watched.shapes), True)
                except GateValidationError:
                    template = None  # a template outside the vocabulary: the methods serve
                if template is not None and template.forward is not None and template.backward is not None:
                    shaped[i] = template
        return ShapePlan(circuit, self.classes, tuple(self.seen), shaped)


class Watched:
    """A gate called by its methods in the recording call, noting the shapes it meets.

    ``shapes`` is None unless every argument was a float (a Python float, a float numpy
    scalar or array) and, in the one call, ``float_gradient`` that the gradient was too:
    only then are a gate's templates for shapes asked for.
    """

    def __init__(self, gate: Any):
        self.gate = gate
        self.shapes: tuple[tuple[int, ...], ...] | None = None
        self.float_gradient = False

    def forward(self, *xs: Any) -> Any:
        self.shapes = tuple(() if x.__class__ is float else x.shape for x in xs) if all(map(_is_float, xs)) else None
        return self.gate.forward(*xs)

    def backward(self, grad: Any, out: Any, *xs: Any) -> Any:
        self.float_gradient = _is_float(grad)
        return self.gate.backward(grad, out, *xs)


def _is_float(x: Any) -> bool:
    if x.__class__ is float:
        return True
    return isinstance(x, (np.ndarray, np.floating)) and x.dtype.kind == "f"


def _vectors_alike(share: np.ndarray, factors: tuple[Any, ...]) -> bool:
    """Whether the share is the product of two float vectors of its own shape and dtype (np.dot's case)."""
    return len(factors) == 2 and all(
        f.__class__ is np.ndarray and f.shape == share.shape and f.dtype == share.dtype and share.dtype.kind == "f"
        for f in factors)


def _float_nodes(circuit: Circuit, classes: tuple[type, ...]) -> frozenset[int]:
    """Gates whose arguments are all Python floats (inputs of that kind, constants, such
    gates): they run their float template, whose value is a float again."""
    floats = {i for i, c in zip(circuit.input_ids.values(), classes) if c is float}
    floats |= {i for i, _ in circuit.constants}
    for i, node in enumerate(circuit.nodes):
        if node.kind == "gate" and node.args and all(a in floats for a in node.args):
            template = template_for(circuit.gates[i], False)
            if template is not None and template.forward is not None and template.backward is not None:
                floats.add(i)
    return frozenset(i for i in floats if circuit.nodes[i].kind == "gate")
