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
- :func:`reuse_buffers` and :func:`last_reads`: the lean array variant writes results
  into arrays nobody reads any more, and deletes each array after its last read.
- :func:`delete_after_last_read`: the same deletions for straight-line text already
  written (the variant for one kind of inputs), found by reading the text itself.
- :func:`lifted_numbers` and :func:`literals_as_arrays`: in the variant for a kind of
  float64 arrays, the numbers array gates read (weights read twice, the templates'
  constants) as 0-d arrays made once.
"""

from __future__ import annotations

import ast
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from .templates import template_for

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["fold_unit_seed", "hoist_math", "last_reads", "reuse_buffers", "delete_after_last_read", "lifted_numbers",
           "literals_as_arrays", "SEED"]

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


_UFUNC_OF_OPERATOR = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide", ast.Pow: "power"}
_UFUNC_OF_UNARY = {ast.USub: "negative", ast.UAdd: "positive"}
#: Dead arrays kept for reuse at most at once (each is the size of the batch).
_POOL = 2


def _as_ufunc_call(value: ast.expr) -> tuple[str, list[ast.expr]] | None:
    """(numpy ufunc name, arguments) if ``value`` is one elementwise operation, else None."""
    if isinstance(value, ast.BinOp) and type(value.op) in _UFUNC_OF_OPERATOR:
        return _UFUNC_OF_OPERATOR[type(value.op)], [value.left, value.right]
    if isinstance(value, ast.UnaryOp) and type(value.op) in _UFUNC_OF_UNARY:
        return _UFUNC_OF_UNARY[type(value.op)], [value.operand]
    if (isinstance(value, ast.Call) and not value.keywords and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name) and value.func.value.id == "np"):
        ufunc = getattr(np, value.func.attr, None)
        if isinstance(ufunc, np.ufunc) and ufunc.nout == 1 and ufunc.nin == len(value.args):
            return value.func.attr, list(value.args)
    return None


def _keeps_dtype(ufunc: np.ufunc) -> bool:
    """Whether the ufunc gives float32 for float32 arguments, float64 for float64 (``exp``
    does; ``float_power`` computes in float64, ``greater`` gives booleans)."""
    return all(f"{c * ufunc.nin}->{c}" in ufunc.types for c in "fd")


def _typed(node: ast.expr, typed: set[str]) -> bool:
    """Whether ``node`` is made of arrays in ``typed`` (shape _S, dtype _D) and numbers by
    operations that keep both: then so is its value (numbers are weak scalars, NEP 50)."""
    if isinstance(node, ast.Name):
        return node.id in typed
    if isinstance(node, ast.Constant):
        return node.value.__class__ in (int, float)
    if isinstance(node, ast.UnaryOp):
        return type(node.op) in _UFUNC_OF_UNARY and _typed(node.operand, typed)
    if isinstance(node, ast.BinOp):
        return type(node.op) in _UFUNC_OF_OPERATOR and _typed(node.left, typed) and _typed(node.right, typed)
    if isinstance(node, ast.Attribute):  # np.pi and the like
        return isinstance(node.value, ast.Name) and node.value.id == "np" and getattr(np, node.attr, None).__class__ is float
    call = _as_ufunc_call(node)
    return (call is not None and isinstance(node, ast.Call) and _keeps_dtype(getattr(np, call[0]))
            and all(_typed(a, typed) for a in call[1]))


def reuse_buffers(lines: list[str], inputs: list[str], keep: set[str], seed: tuple[str, str] | None = None) -> list[str]:
    """Lines of the lean array variant, with results written into arrays that are dead.

    ``lines`` assign (``v = expr``) and delete (``del a, b``) names, in order, with shape
    checks between; ``inputs`` are the caller's arrays, all of shape ``_S`` and dtype
    ``_D``, never written into, nor is anything in ``keep`` (what is returned). An array
    made by one elementwise operation that keeps shape and dtype, of such arrays and
    numbers, is *owned*: no caller holds it, and its dtype is ``_D``. ``seed`` is (the seed's
    name, the output's): the seed is a number in the output's dtype, so where the output
    is such an array, the seed counts as a number of dtype ``_D``. When every name of an owned array is gone, the next elementwise result is written
    into it (``np.multiply(a, b, out=t, casting="no")``): no fresh 8 MB array per line, which
    is what the tight numpy reference saves with ``z += w2``. An operand that dies at that
    very line is written into too (the in-place case: elementwise, so each element is
    read before it is written). ``casting="no"`` keeps every result in the dtype it would
    have had; where that would differ, numpy raises, and the call reruns elsewhere.
    """
    obj_of: dict[str, int] = {}  # name -> the array it holds (a number standing for it)
    names_of: dict[int, set[str]] = {}
    owned: set[int] = set()
    pool: list[tuple[int, str]] = []  # dead owned arrays, each kept alive by one name
    fresh = iter(range(1 << 62))
    parsed: list[ast.stmt | None] = []
    for line in lines:
        try:
            tree = ast.parse(line)
            parsed.append(tree.body[0] if len(tree.body) == 1 else None)
        except SyntaxError:  # the two halves of a shape check
            parsed.append(None)
    out: list[str] = []
    # Names known to hold an ndarray of shape _S and dtype _D: the inputs, and what
    # elementwise operations that keep both make of them (and their aliases).
    typed: set[str] = set(inputs)
    scalars: set[str] = set()  # numbers of dtype _D (the seed): they keep dtypes as numbers do

    def dying_after(k: int) -> set[str]:
        """The names deleted right after line k (before the next assignment)."""
        dead: set[str] = set()
        for j in range(k + 1, len(parsed)):
            stmt = parsed[j]
            if isinstance(stmt, ast.Delete):
                dead.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
            elif isinstance(stmt, (ast.Assign, ast.AugAssign)):
                break
        return dead

    def unbind(name: str) -> None:
        obj = obj_of.pop(name, None)
        if obj is not None:
            names_of[obj].discard(name)

    for k, (line, stmt) in enumerate(zip(lines, parsed)):
        if isinstance(stmt, ast.Delete):
            kept = []
            for deleted in stmt.targets:
                name = deleted.id if isinstance(deleted, ast.Name) else None
                obj = obj_of.get(name) if name is not None else None
                if name is not None and obj is not None and obj in owned and names_of[obj] == {name} and name not in keep:
                    pool.append((obj, name))  # dead, but its memory is worth more than a fresh array
                    obj_of.pop(name)
                    names_of[obj].clear()
                    continue
                if name is not None:
                    unbind(name)
                kept.append(ast.unparse(deleted))
            while len(pool) > _POOL:
                kept.append(pool.pop(0)[1])
            if kept:
                out.append(f"del {', '.join(kept)}")
            continue
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            if isinstance(stmt, ast.Assign):  # ``a, b, = gate.backward(...)``: arrays of unknown origin
                for assigned in stmt.targets:
                    for node in ast.walk(assigned):
                        if isinstance(node, ast.Name):
                            unbind(node.id)
                            typed.discard(node.id)
                            obj_of[node.id] = next(fresh)
                            names_of[obj_of[node.id]] = {node.id}
            out.append(line)
            continue
        target, value = stmt.targets[0].id, stmt.value
        if seed is not None and target == seed[0]:
            unbind(target)
            typed.discard(target)
            if seed[1] in typed:
                scalars.add(target)
            out.append(line)
            continue
        if isinstance(value, ast.Name):  # an alias: the same array under one more name
            unbind(target)
            if value.id in typed:
                typed.add(target)
            else:
                typed.discard(target)
            obj = obj_of.get(value.id)
            if obj is not None:
                obj_of[target] = obj
                names_of[obj].add(target)
            out.append(line)
            continue
        call = _as_ufunc_call(value)
        reads = {node.id for node in ast.walk(value) if isinstance(node, ast.Name) and node.id != "np"}
        # A fresh array of shape _S and dtype _D: at least one such array in, the rest numbers.
        elementwise = call is not None and bool(reads & typed) and _typed(value, typed | scalars)
        buffer: tuple[int, str] | None = None
        if elementwise:
            dead = dying_after(k) | {target}  # the target's old array dies as it is rebound
            for name in sorted(reads & dead):
                obj = obj_of.get(name)
                if (obj is not None and obj in owned and name not in keep
                        and all(n in dead and n not in keep for n in names_of[obj])):
                    buffer = (obj, name)
                    break
            if buffer is None and pool:
                buffer = pool.pop()
        unbind(target)
        if elementwise:
            typed.add(target)
        else:
            typed.discard(target)
        if buffer is None:
            obj = next(fresh)
            names_of[obj] = {target}
            obj_of[target] = obj
            if elementwise:
                owned.add(obj)  # nobody else holds it
            out.append(line)
            continue
        obj, name = buffer
        assert call is not None  # a buffer is only chosen for an elementwise operation
        ufunc, args = call
        for other in list(names_of[obj]):  # its old names are dead (they are deleted right after)
            obj_of.pop(other, None)
        names_of[obj] = {target}
        obj_of[target] = obj
        text = ", ".join(ast.unparse(a) for a in args)
        out.append(f"{target} = np.{ufunc}({text}, out={name}, casting='no')")
        if name != target and name not in reads:
            out.append(f"del {name}")  # a pooled name: the array lives on as the target
    return out


def last_reads(circuit: Circuit, live: list[bool], needs_grad: list[bool], arrays: bool) -> dict[int, list[int]]:
    """Where each gate's value is read for the last time: ``{i: [nodes]}`` after node i's
    forward, ``{-1 - i: [nodes]}`` after its backward. The lean variant deletes them there,
    so an array the size of the batch lives only as long as something reads it.

    Reads are what the templates use (``add``'s backward reads neither argument); a gate
    called by its methods reads everything. Inputs and the output are never deleted.
    """
    nodes = circuit.nodes
    last: dict[int, int] = {}  # node -> position: i for forward i, 2n - i for backward i
    n = len(nodes)
    for i, node in enumerate(nodes):
        if node.kind != "gate" or not live[i]:
            continue
        template = template_for(circuit.gates[i], arrays)
        reads = template.backward_reads() if template is not None and template.backward is not None else None
        arity = len(node.args)
        for k, a in enumerate(node.args):
            if nodes[a].kind == "gate":
                last[a] = max(last.get(a, -1), i)
                if needs_grad[i] and (reads is None or k in reads):
                    last[a] = max(last[a], 2 * n - i)
        if needs_grad[i] and (reads is None or arity + 1 in reads):
            last[i] = max(last.get(i, -1), 2 * n - i)
    dies: dict[int, list[int]] = {}
    for a, pos in sorted(last.items()):
        if a != circuit.output:
            dies.setdefault(pos if pos < n else -1 - (2 * n - pos), []).append(a)
    return dies


_NAME = re.compile(r"(?<![.\w])[A-Za-z_]\w*")  # a variable read or written (not an attribute)


def delete_after_last_read(lines: list[str], names: set[str]) -> list[str]:
    """Straight-line ``lines`` with ``del`` after the last line that mentions each of ``names``.

    What it buys: a forward value the backward never reads (``mul1 = w * x`` once
    ``add1 = b + mul1`` has used it) is freed at once, not at the return, so a step of the
    moons MLP keeps ~70 arrays of the batch alive where it kept ~1,300, and numpy's
    allocations stay in its cache of freed blocks. ``lines`` are one statement each,
    none compound; a name last mentioned on the last line (the return) is left alone.
    """
    last: dict[str, int] = {}
    for k, line in enumerate(lines):
        for name in _NAME.findall(line):
            if name in names:
                last[name] = k
    after: dict[int, list[str]] = {}
    for name, k in last.items():
        if k < len(lines) - 1:
            after.setdefault(k, []).append(name)
    out: list[str] = []
    for k, line in enumerate(lines):
        out.append(line)
        if k in after:
            out.append(f"del {', '.join(sorted(after[k]))}")
    return out


# A Python float in an operation with an array costs numpy a conversion each time (~0.12 us:
# a weight times its activation forward, and again for the activation's share backward; a
# relu's 0.0 and 0.5); a 0-d array made once costs one. The same float64 arithmetic, so the
# same numbers; only among float64 arrays (a 0-d float64 array is not "weak" in numpy's
# promotion, as a float is: float32 would widen). Gates of floats keep their floats.


def lifted_numbers(circuit: Circuit, plan: Any, live: list[bool], needs_grad: list[bool], var: dict[int, str]) -> dict[int, str]:
    """The number inputs (of ``plan``'s kind) the array gates read twice or more, each with its 0-d array's name.

    Read once (a bias), the conversion costs what it saves. Reads are counted from the
    templates: the forward, and each share that is made.
    """
    nodes = circuit.nodes
    numbers = {i for i, c in zip(circuit.input_ids.values(), plan.classes) if c is float}
    reads: dict[int, int] = {}
    for i, node in enumerate(nodes):
        if node.kind == "gate" and live[i] and i not in plan.float_nodes:
            template = plan.template(i, circuit.gates[i])
            made = [template.share_reads(k) for k, a in enumerate(node.args) if needs_grad[i] and needs_grad[a]] \
                if template is not None and template.backward is not None else []
            for k, a in enumerate(node.args):
                if a in numbers:
                    reads[a] = reads.get(a, 0) + 1 + sum(k in slots for slots in made)
    return {a: f"_a_{var[a]}" for a, n in sorted(reads.items()) if n >= 2}


_FLOAT_LITERAL = re.compile(r"(?<![\w.])(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")


def literals_as_arrays(text: str, bound: dict[str, Any]) -> str:
    """``text`` (an array template, filled in) with each float literal a bound 0-d array ``_lit<n>``.

    Integer literals (an axis: ``np.add.reduce(g, 0)``) stay as they are. The same value
    is bound once under one name: ``bound`` is the module's.
    """
    def bind(match: re.Match[str]) -> str:
        value = float(match.group(0))
        literals = [key for key in bound if key.startswith("_lit")]
        for key in literals:  # bit for bit (0.0 and -0.0 are two)
            if bound[key].tobytes() == np.float64(value).tobytes():
                return key
        name = f"_lit{len(literals)}"
        bound[name] = np.array(value)
        return name

    return _FLOAT_LITERAL.sub(bind, text)
