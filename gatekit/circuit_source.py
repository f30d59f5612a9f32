"""A circuit's source: its tape as straight-line Python text, forward and backward.

For ``q = x + y; f = q * z`` the generated function is the lesson's hand-written pass::

    def forward_backward(x, y, z, d_f=1.0):
        q = x + y
        f = q * z
        d_q = z * d_f
        d_z = q * d_f
        d_x = d_q
        d_y = d_q
        return f, (d_x, d_y, d_z)

Each gate's part comes from its :class:`~gatekit.gate.Source` templates; a gate without
them is called through its methods (bound by reference, never by name), so every gate
compiles. The text is made only of validated parts: template expressions checked
against a small vocabulary (:mod:`gatekit.templates`), variable names that pass the name
rule (anything else is renamed), and constants as exact float literals. Nothing a user
typed reaches it except an identifier that passed that rule.

Two variants exist: one for Python floats (``math``) and one for numpy arrays (``np``,
with gradients summed back to each input's shape where it was broadcast). Besides the
printed text, two variants compute the same faster: for floats, ``gradient(values)``
(dict in, dict literal out, names passed on instead of copied); for a batch (every
input an ndarray of one shape) a lean array variant that skips the shape reductions and
deletes each array after its last read; for numbers among arrays (a scalar-gate model's
weights and its data) a variant for each kind of inputs, its shape reductions resolved
when it is generated (:mod:`gatekit.shape_plan`). :mod:`gatekit.codegen` compiles and runs them.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
from typing import TYPE_CHECKING, Any

from .broadcast import any_unbroadcast, seed_gradient, zero_gradient
from .call_source import float_call
from .source_loops import backward_loop, find_runs, forward_loop
from .source_rewrite import (SEED, delete_after_last_read, fold_unit_seed, last_reads, lifted_numbers, literals_as_arrays,
                             reuse_buffers)
from .templates import template_for
from .wanted import wanted_flags

if TYPE_CHECKING:
    from .circuit import Circuit
    from .shape_plan import ShapePlan

__all__ = ["generate_source", "safe_name"]

#: Names the generated code itself uses (modules, helpers, its functions and their parameter
#: ``wrt``), never given to a variable.
_RESERVED = frozenset({"math", "np", "unbroadcast", "forward_backward", "forward", "gradient", "gradient_list",
                       "wrt"}) | frozenset(dir(builtins))

_ARRAY_HELPER = '''
def unbroadcast(g, x):
    """g summed down to the shape of x, where x was broadcast against bigger arrays."""
    # The common cases first, without np.shape's Python-level calls: a number (a weight)
    # against a batch, whose gradient is the sum of all of g, and arrays of one shape.
    if x.__class__ is float or x.__class__ is np.float64:
        if g.__class__ is float or g.__class__ is np.float64:
            return g
        if g.__class__ is np.ndarray and g.ndim:
            return float(np.add.reduce(g, axis=None))
    elif g.__class__ is np.ndarray and x.__class__ is np.ndarray and x.shape == g.shape:
        return g
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    g = np.broadcast_to(g, np.broadcast_shapes(np.shape(g), shape))
    if g.ndim > len(shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return float(g) if not shape else np.array(g)
'''


@functools.lru_cache(maxsize=65536)
def safe_name(name: str | None) -> bool:
    """Whether ``name`` may be a variable in generated code as it is.

    ASCII identifiers only (NFKC folding could merge two distinct non-ASCII names),
    no keyword, no builtin or module name the code relies on, no leading underscore
    (bound objects use those).
    """
    return (
        isinstance(name, str)
        and name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in _RESERVED
    )


def _literal(value: float) -> str:
    """A float as exact source: repr round-trips every finite float (subnormals and -0.0 too)."""
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


class _Names:
    """Unique, safe variable names: a stage's label, an input's name, else ``<gate><k>``."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.counts: dict[str, int] = {}

    def take(self, wanted: str | None, fallback: str) -> str:
        base = wanted if wanted is not None and safe_name(wanted) else fallback
        name = base
        while name in self.used or not safe_name(name):
            self.counts[base] = self.counts.get(base, 1) + 1
            name = f"{base}_{self.counts[base]}"
        self.used.add(name)
        return name

    def numbered(self, stem: str) -> str:
        """``stem1``, ``stem2``, ... (a gate's name as the stem, when it makes a safe name)."""
        if not safe_name(stem + "1"):
            stem = "t"
        while True:
            self.counts[stem] = self.counts.get(stem, 0) + 1
            name = f"{stem}{self.counts[stem]}"
            if name not in self.used and safe_name(name):
                self.used.add(name)
                return name


def generate_source(
    circuit: Circuit, arrays: bool = False, *, forward_only: bool = False, dict_call: bool = False,
    list_call: bool = False, lean: bool = False, any_library: bool = False, rolled: bool = True, plan: ShapePlan | None = None,
    wrt: tuple[str, ...] | None = None, float_seed: bool = False, numbers_as_arrays: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The module source of ``forward_backward`` and the objects it needs bound.

    The bound objects are the gates without templates (``_g<node>``); the source of
    a circuit of built-in gates needs none and runs on its own. ``forward_only`` makes
    ``forward`` instead, the output only (for callers that need no gradient); ``any_library``
    makes an array variant for arrays of any library: every gate called through its
    methods (which compute in the arrays' own namespace) and the engine's shape rules
    bound (:mod:`gatekit.broadcast`), with no numpy in the text; ``dict_call``
    makes ``gradient(values)`` for floats, dicts in and out, and ``list_call``
    ``gradient_list(xs)``, a sequence in and a list out (:mod:`gatekit.call_source`); ``plan``
    makes the array variant for one kind of inputs (:mod:`gatekit.shape_plan`). ``wrt``
    (validated input names, :mod:`gatekit.wanted`) gives those inputs' gradients only, in
    its order, and computes no gradient that reaches none of them. ``float_seed`` (with a
    ``plan`` whose recording gave a float64 number as the output) leaves the seed the
    Python float it is passed as, where it is otherwise made a numpy scalar of the
    output's dtype: the same value, and every gradient of the numbers it reaches stays a
    Python float (numpy scalar arithmetic costs ~3x a float's; the 337 weights' L2 terms
    of the moons MLP are such numbers). ``numbers_as_arrays`` (with a resolved ``plan``
    whose arrays are all float64) has the array gates read numbers as 0-d arrays made
    once: the inputs read twice or more, and the templates' float literals
    (:func:`~gatekit.source_rewrite.lifted_numbers`).
    """
    nodes = circuit.nodes
    out = circuit.output
    # Only what the output reads is computed: a loop from the output down, not recursion.
    live = [False] * len(nodes)
    live[out] = True
    for i in range(out, -1, -1):
        if live[i]:
            for a in nodes[i].args:
                live[a] = True
    # A gradient is needed where the node is live and a wanted input (any input, when
    # wrt is None: then not a constant) feeds it: a loop forward over the tape.
    fed = wanted_flags(circuit, wrt)
    needs_grad = [live[i] and fed[i] for i in range(len(nodes))]
    wanted = list(circuit.input_ids.values()) if wrt is None else [circuit.input_ids[name] for name in wrt]

    names = _Names()
    var: dict[int, str] = {}
    for name, i in circuit.input_ids.items():
        var[i] = names.take(name, f"x{i}")
    for i, value in circuit.constants:
        var[i] = _literal(value)
    for i, node in enumerate(nodes):
        if node.kind == "gate" and live[i]:
            label = node.label if node.label is not None else ("f" if i == out else None)
            var[i] = names.take(label, "t") if safe_name(label) else names.numbered(str(node.name).replace("-", "_"))
    grad: dict[int, str] = {}
    for i in range(len(nodes)):
        if needs_grad[i]:
            grad[i] = names.take(f"d_{var[i]}", f"d{i}")

    bound: dict[str, Any] = {}
    forward_lines: list[str] = []
    backward_lines: list[str] = []
    lean = lean and arrays and not forward_only and bool(circuit.input_ids)
    dies = last_reads(circuit, live, needs_grad, arrays) if lean else {}
    # The float dict variant writes runs of identical blocks as loops (gatekit.source_loops).
    # (Not for a wrt: a loop hands on every input's gradient in one slice.)
    runs = find_runs(circuit, live, needs_grad) if (dict_call or list_call) and not arrays and rolled and wrt is None else []
    in_loop = {i for run in runs for i in run.loop_nodes}
    # Numbers among float64 arrays as 0-d arrays made once (gatekit.source_rewrite.numbers_as_arrays).
    lifted: dict[int, str] = {}
    if numbers_as_arrays and plan is not None and plan.sites is not None:
        lifted = lifted_numbers(circuit, plan, live, needs_grad, var)
        forward_lines += [f"{name} = np.array({var[a]})" for a, name in sorted(lifted.items())]

    def arg_names(i: int, args: tuple[int, ...]) -> list[str]:
        """The names gate ``i``'s templates read its arguments by (a number's 0-d array, where made)."""
        if not numbers_as_arrays or plan is None or i in plan.float_nodes:
            return [var[a] for a in args]
        return [lifted.get(a, var[a]) for a in args]

    def filled(i: int, text: str) -> str:
        """A template's text for gate ``i``: its float literals bound as 0-d arrays where numbers are."""
        if not numbers_as_arrays or plan is None or plan.sites is None or i in plan.float_nodes:
            return text
        return literals_as_arrays(text, bound)
    for i, node in enumerate(nodes):
        if node.kind != "gate" or not live[i]:
            continue
        if i in in_loop:
            forward_lines += [line for run in runs if run.blocks[1][0] == i for line in forward_loop(run, var)]
            continue
        gate = circuit.gates[i]
        args = arg_names(i, node.args)
        template = None if any_library else plan.template(i, gate) if plan and arrays else template_for(gate, arrays)
        if template is not None and template.forward is not None:
            forward_lines.append(f"{var[i]} = {filled(i, template.forward_text(args))}")
        else:
            bound[f"_g{i}"] = plan.bind(i, gate) if plan else gate
            forward_lines.append(f"{var[i]} = _g{i}.forward({', '.join(args)})")
        if lean:
            # Every value in the inputs' shape, so no gradient needs summing to a shape
            # (a gate that changes shapes sends the call to the general variant).
            forward_lines.append(f"if {var[i]}.shape != _S:")
            forward_lines.append("    return None")
            if dies.get(i):
                forward_lines.append(f"del {', '.join(var[a] for a in dies[i])}")
    assigned: set[int] = set()
    sites: list[int] = []  # the shares brought to their inputs' shapes, in order (for a plan)
    # The name holding each gradient so far. In the dict variant (nobody reads it) a share
    # that is already a name (``d_exp1 = d_add3``) is not copied: the name stands for it.
    holder: dict[int, str] = {i: name for i, name in grad.items()}
    alias = (dict_call or list_call) and not arrays
    # The float dict variant is always seeded with 1.0: put it in as a literal and fold it
    # (``-g * out * out`` becomes ``-f * f``: one multiplication fewer). Not on arrays: a
    # template that hands the seed on bare (``np.where(x > y, g, 0.0)``) would give a
    # float64 array for float32 inputs.
    fold = alias and out in holder
    if fold:
        holder[out] = SEED
    for i in range(len(nodes) - 1, -1 if not forward_only else len(nodes) - 1, -1):
        node = nodes[i]
        if node.kind != "gate" or not needs_grad[i]:
            continue
        if i in in_loop:
            for run in runs:
                if run.blocks[-2][-1] == i:
                    loop = backward_loop(run, var, holder, assigned, needs_grad)
                    if loop is None:  # a share the loop cannot place: straight-line code instead
                        return generate_source(circuit, arrays, forward_only=forward_only, dict_call=dict_call,
                                               list_call=list_call, lean=lean, any_library=any_library, rolled=False, plan=plan,
                                               wrt=wrt)
                    backward_lines += loop
            continue
        gate = circuit.gates[i]
        args = arg_names(i, node.args)
        template = None if any_library else plan.template(i, gate) if plan and arrays else template_for(gate, arrays)
        if template is not None and template.backward is not None:
            shares = [filled(i, template.backward_text(k, args, holder[i], var[i])) for k in range(len(args))]
            if fold and i == out:
                shares = [fold_unit_seed(share) for share in shares]
        else:
            bound[f"_g{i}"] = plan.bind(i, gate) if plan else gate
            temps = [f"_s{i}_{k}" for k in range(len(args))]
            backward_lines.append(f"{', '.join(temps)}, = _g{i}.backward({holder[i]}, {var[i]}, {', '.join(args)})")
            shares = temps
        for a, share in zip(node.args, shares):
            if not needs_grad[a]:
                continue  # a constant: nobody reads its gradient
            if plan is not None and arrays and not lean:
                share = plan.site(len(sites), share, var[a])
                sites.append(a)
            elif arrays and not lean:
                share = f"unbroadcast({share}, {var[a]})"
            if a in assigned:
                if holder[a] != grad[a]:  # an alias: the sum gets a name of its own
                    backward_lines.append(f"{grad[a]} = {holder[a]} + {share}")
                    holder[a] = grad[a]
                else:
                    backward_lines.append(f"{grad[a]} = {grad[a]} + {share}" if arrays else f"{grad[a]} += {share}")
            elif alias and share.isidentifier():
                holder[a] = share
                assigned.add(a)
            else:
                backward_lines.append(f"{grad[a]} = {share}")
                assigned.add(a)
        if arrays and i != out:
            # Used up: an array the size of the batch need not live to the end (on floats
            # it costs a line and buys nothing).
            backward_lines.append(f"del {', '.join([grad[i]] + (shares if shares and shares[0].startswith('_s') else []))}")
        if dies.get(-1 - i):
            backward_lines.append(f"del {', '.join(var[a] for a in dies[-1 - i])}")

    params = [var[i] for i in circuit.input_ids.values()]
    seed = grad.get(out, "d_out")
    if out not in grad:  # an output no input reaches: every gradient is zero
        seed = names.take("d_out", "d_out")
    results = []
    for i in wanted:
        if i in assigned or (i == out and i in grad):
            results.append(holder[i])
        else:
            results.append(f"_zero({var[i]})" if any_library else f"np.zeros(np.shape({var[i]}))" if arrays else "0.0")
    head = ["import math", ""] if not arrays else ["import math", "", "import numpy as np", "", _ARRAY_HELPER.strip(), "", ""]
    if plan is not None and plan.sites is None:
        bound["_record"] = plan.record
    if any_library:  # the engine's shape rules, in any library, bound rather than written out
        head = ["import math", ""]
        bound.update(unbroadcast=any_unbroadcast, _seed=seed_gradient, _zero=zero_gradient)
    seed_line: list[str] = []  # a scalar seed broadcasts: unbroadcast brings each gradient to shape
    if any_library and out in grad and not forward_only:
        seed_line = [f"{seed} = _seed({var[out]}, {seed})"]
    elif float_seed and plan is not None and out in grad and not forward_only:
        seed_line = []
    elif arrays and out in grad and not forward_only:
        # A number seed takes the output's float dtype (numpy's promotion), so float32 stays float32.
        # Outside the lean variant it takes the output's shape too: a number's gradient through a
        # part of the circuit before the batch joins in is then summed over the batch.
        seed_line = [f"{seed} = np.asarray({seed}, np.result_type({var[out]}, {seed}))[()]" if lean else
                     f"{seed} = np.full(np.shape({var[out]}), {seed}, np.result_type({var[out]}, {seed}))[()]"]
    body = forward_lines + seed_line + backward_lines + [f"return {var[out]}, ({', '.join(results)}{',' if len(results) == 1 else ''})"]
    if plan is not None and plan.sites is not None:  # each value freed after its last read
        values = {var[i] for i in range(len(nodes)) if nodes[i].kind == "gate" and live[i]} - {var[out]}
        body = delete_after_last_read(body, values)
    signature = ", ".join(params + [f"{seed}=1.0"])
    if dict_call or list_call:  # gradient(values) / gradient_list(xs) for floats: gatekit.call_source
        lines = head + float_call(circuit, var, params, results, forward_lines + backward_lines, runs, bound,
                                  by_dict=dict_call, wrt=wrt)
    elif lean:
        classes = [f"{p}.__class__" for p in params]
        shapes = [f"{p}.shape" for p in params[1:]]
        guard = [f"if not ({' is '.join(classes[k:k + 16])} is np.ndarray):" for k in range(0, len(classes), 16)]
        guard = [line for check in guard for line in (check, "    return None")] + [f"_S = {params[0]}.shape"]
        guard += [line for k in range(0, len(shapes), 16)
                  for line in (f"if not ({' == '.join(shapes[k:k + 16])} == _S):", "    return None")]
        # A gradient only the seed reaches is a scalar: the general variant broadcasts it.
        tail = [f"_r = ({', '.join(results)}{',' if len(results) == 1 else ''})",
                "if any(np.shape(_x) != _S for _x in _r):", "    return None", f"return {var[out]}, _r"]
        # Every input of one floating dtype: then results may be written into dead arrays.
        dtypes = [f"{p}.dtype" for p in params]
        guard += [f"_D = {params[0]}.dtype", "if _D.kind != 'f':", "    return None"]
        guard += [line for k in range(1, len(dtypes), 16)
                  for line in (f"if not ({' == '.join(dtypes[k:k + 16])} == _D):", "    return None")]
        kept = {r for r in results if r.isidentifier()} | {var[out]}
        steps = reuse_buffers(forward_lines + seed_line + backward_lines, params, kept,
                              seed=(seed, var[out]) if seed_line else None)
        lines = head + [f"def forward_backward({signature}):"] + ["    " + line for line in guard + steps + tail]
    elif forward_only:
        lines = head + [f"def forward({', '.join(params)}):"] + ["    " + line for line in forward_lines]
        lines += [f"    return {var[out]}"]
    else:
        lines = head + [f"def forward_backward({signature}):"] + ["    " + line for line in body]
    return "\n".join(lines) + "\n", bound

