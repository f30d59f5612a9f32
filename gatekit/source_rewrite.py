"""Exact rewrites that make generated lines cheaper (used by :mod:`gatekit.circuit_source`).

Each rewrite gives bit-for-bit the numbers of the line it replaces; none is used in the
printed source, which stays the lesson's text. They work on text that is already made
of validated parts (checked templates, safe names, exact literals) and only rearrange
it, so they add nothing a user typed.

- :func:`fold_unit_seed`: where the seed 1.0 went into a template, ``1.0 * e`` is ``e``
  and ``-1.0 * e`` is ``-e`` (exact in IEEE arithmetic for a float ``e``).
- :func:`hoist_math`: ``math.tanh(x)`` becomes ``_m_tanh(x)``, the function bound once
  in the module's namespace: one global load per call instead of a global and an
  attribute.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

__all__ = ["fold_unit_seed", "hoist_math", "SEED"]

#: The seed as it is put into the output gate's backward template before folding.
SEED = "1.0"

_MATH_CALL = re.compile(r"\bmath\.([A-Za-z_][A-Za-z0-9_]*)")


def _is_one(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value.__class__ is float and node.value == 1.0


def _is_minus_one(node: ast.expr) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_one(node.operand)


def _is_float(node: ast.expr) -> bool:
    """Whether ``node`` surely has a float value (names are values: floats, or float arrays)."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Constant):
        return node.value.__class__ is float
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_float(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        sides = (node.left, node.right)
        numbers = [s for s in sides if isinstance(s, ast.Constant) and s.value.__class__ in (int, float)]
        return all(_is_float(s) or s in numbers for s in sides) and any(_is_float(s) for s in sides)
    return False


class _Fold(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult):
            for unit, other in ((node.left, node.right), (node.right, node.left)):
                if _is_float(other):
                    if _is_one(unit):
                        return other
                    if _is_minus_one(unit):
                        return ast.UnaryOp(op=ast.USub(), operand=other)
        if isinstance(node.op, ast.Div) and _is_one(node.right) and _is_float(node.left):
            return node.left
        return node


def fold_unit_seed(text: str) -> str:
    """``text`` with multiplications by the seed 1.0 (and -1.0) taken out."""
    tree = ast.parse(text, mode="eval")
    body = _Fold().visit(tree).body
    folded = ast.unparse(body)
    # An atom stays an atom where it is put into a larger expression.
    return folded if isinstance(body, (ast.Name, ast.Constant, ast.Call)) else f"({folded})"


def hoist_math(text: str, bound: dict[str, Any]) -> str:
    """``text`` with each ``math.<name>`` replaced by ``_m_<name>``, bound in ``bound``."""

    def bind(match: re.Match[str]) -> str:
        name = match.group(1)
        bound[f"_m_{name}"] = getattr(math, name)
        return f"_m_{name}"

    return _MATH_CALL.sub(bind, text)
