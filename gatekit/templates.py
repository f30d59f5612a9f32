"""Gate source templates, checked: what a :class:`~gatekit.gate.Source` may say.

A template is one Python expression over the gate's argument names, ``g`` (the
upstream gradient) and ``out`` (the forward output). It may use numbers, arithmetic,
comparisons, ``and``/``or``/``not``, conditional expressions, ``abs(...)``, and calls
and constants of ``math`` (float templates) or ``np`` (array templates) that exist
there; array templates may also say ``a.T`` of a name (the transpose, for ``g.T @ x``)
and ``np.<ufunc>.reduce`` or ``.outer`` (``np.add.reduce(g, 0)``: a sum along an axis
without ``np.sum``'s Python layers). Anything else (another name, any other attribute,
a keyword argument, a string) is refused with a
:class:`~gatekit.errors.GateValidationError` naming the gate, and the gate is then
called through its methods instead. So generated code holds only these parts, with
validated names put in for the placeholders.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GateValidationError

__all__ = ["Template", "template_for", "check_template", "checked_template"]

_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Attribute,
    ast.Name, ast.Constant, ast.Load,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)
_MODULES = {"math": math, "np": np}
_PLACEHOLDER = re.compile(r"\b__p(\d+)__\b")


def check_template(text: Any, names: tuple[str, ...], module: str, where: str) -> str:
    """``text`` as a normalised expression with each of ``names`` as ``__p<k>__``; or an error."""
    if not isinstance(text, str):
        raise GateValidationError(f"{where}: a template must be a string, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise GateValidationError(f"{where}: {text!r} is not a Python expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise GateValidationError(f"{where}: {type(node).__name__} is not allowed in a template ({text!r})")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
            raise GateValidationError(f"{where}: only numbers may appear as constants in a template ({text!r})")
        if isinstance(node, ast.Attribute) and not _array_attribute(node, names, module):
            base = node.value
            if not (isinstance(base, ast.Name) and base.id == module and not node.attr.startswith("_")
                    and hasattr(_MODULES[module], node.attr)):
                raise GateValidationError(f"{where}: only {module}.<name> may be used in this template ({text!r})")
        if isinstance(node, ast.Call):
            if node.keywords or not ((isinstance(node.func, ast.Attribute) and node.func.attr != "T")
                                     or (isinstance(node.func, ast.Name) and node.func.id == "abs")):
                raise GateValidationError(f"{where}: only calls of {module}.<function> or abs(...) are allowed ({text!r})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in names:
                node.id = f"__p{names.index(node.id)}__"
            elif node.id not in (module, "abs"):
                raise GateValidationError(f"{where}: unknown name {node.id!r} in {text!r} (it may use {', '.join(names)})")
    text = ast.unparse(tree)
    # A conditional or and/or binds looser than anything around it: keep it one atom.
    return f"({text})" if isinstance(tree.body, (ast.IfExp, ast.BoolOp)) else text


def _array_attribute(node: ast.Attribute, names: tuple[str, ...], module: str) -> bool:
    """An array template's ``x.T`` (a name's transpose) or ``np.<ufunc>.reduce``/``.outer``."""
    if module != "np":
        return False
    base = node.value
    if node.attr == "T":
        return isinstance(base, ast.Name) and base.id in names
    return (node.attr in ("reduce", "outer") and isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
            and base.value.id == "np" and isinstance(getattr(np, base.attr, None), np.ufunc))


@dataclass(frozen=True)
class Template:
    """One gate's checked texts for one variant (floats or arrays)."""

    forward: str | None  # over the arguments
    backward: tuple[str, ...] | None  # over the arguments, then g, then out

    def __post_init__(self) -> None:
        # Split once: filling a template in is then a join, not a regex pass per node.
        object.__setattr__(self, "_forward", None if self.forward is None else _split(self.forward))
        object.__setattr__(self, "_backward", None if self.backward is None else tuple(map(_split, self.backward)))

    def forward_text(self, args: list[str]) -> str:
        return _fill(self._forward, args)  # type: ignore[attr-defined]

    def backward_text(self, k: int, args: list[str], g: str, out: str) -> str:
        return _fill(self._backward[k], [*args, g, out])  # type: ignore[attr-defined]

    def backward_reads(self) -> set[int]:
        """The placeholders the backward texts use: argument k is k, then g, then out."""
        return {slot for _, slots in self._backward for slot in slots}  # type: ignore[attr-defined]

    def share_reads(self, k: int) -> set[int]:
        """The placeholders argument ``k``'s backward text uses (numbered as in :meth:`backward_reads`)."""
        return set(self._backward[k][1])  # type: ignore[attr-defined]


def _split(text: str) -> tuple[list[str], list[int]]:
    """(the text between placeholders, the placeholder numbers)."""
    pieces = _PLACEHOLDER.split(text)
    return pieces[0::2], [int(k) for k in pieces[1::2]]


def _fill(split: tuple[list[str], list[int]], parts: list[str]) -> str:
    # Every part is an identifier or a literal in parentheses: an atom, so no precedence
    # can change by putting it in.
    texts, slots = split
    out = [texts[0]]
    for slot, text in zip(slots, texts[1:]):
        out.append(parts[slot])
        out.append(text)
    return "".join(out)


_CACHE: dict[tuple[int, bool], tuple[Any, Template | None]] = {}


def template_for(gate: Any, arrays: bool) -> Template | None:
    """The gate's checked template for floats or arrays, or None (call its methods)."""
    key = (id(gate), arrays)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is gate:
        return hit[1]
    template = _build(gate, arrays)
    _CACHE[key] = (gate, template)
    return template


def _build(gate: Any, arrays: bool) -> Template | None:
    return checked_template(gate, getattr(gate, "source", None), arrays)


def checked_template(gate: Any, source: Any, arrays: bool) -> Template | None:
    """``source`` (one of the gate's :class:`~gatekit.gate.Source`) checked, as a Template; None for None."""
    if source is None:
        return None
    name = getattr(gate, "name", "?")
    arity = gate.arity
    args = tuple(source.args)[:arity] if arity <= 2 or len(source.args) >= arity else ()
    if len(args) != arity or len(set(args)) != arity or any(a in ("g", "out") for a in args):
        raise GateValidationError(f"gate {name!r}: its Source names {source.args!r} do not fit its {arity} argument(s)")
    if arrays:
        forward, backward = source.for_arrays()
        module = "np"
    else:
        forward, backward = source.forward, source.backward
        module = "math"
    where = f"gate {name!r} ({'array' if arrays else 'float'} template)"
    forward_text = None if forward is None else check_template(forward, args, module, where)
    backward_texts = None
    if backward is not None:
        if not isinstance(backward, tuple) or len(backward) != arity:
            raise GateValidationError(f"{where}: backward needs one expression per argument ({arity})")
        backward_texts = tuple(check_template(t, (*args, "g", "out"), module, where) for t in backward)
    return Template(forward_text, backward_texts)
