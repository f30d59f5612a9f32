"""The generated calls for Python floats: ``gradient(values)`` and ``gradient_list(xs)``.

Both wrap the same straight-line body (forward then backward, from
:mod:`gatekit.circuit_source`) in the checks that make calling it safe: the
arguments are of the kind the body was written for (every input a Python float,
every name present), and anything else (another kind of value, a missing name,
Python raising where the interpreter gives inf or nan) goes to the checked path
bound as ``_careful``. ``gradient`` takes and gives dicts; ``gradient_list`` takes a
list or tuple in the order of ``circuit.inputs`` and gives the gradients as a list:
for 20,001 inputs, no dict either way saves a third of the arithmetic's time.
Only validated parts reach the text: variable names that passed the name rule, and
input names quoted by ``repr`` only where they are such a name, else bound.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from .source_rewrite import hoist_math

if TYPE_CHECKING:
    from .circuit import Circuit
    from .source_loops import Run

__all__ = ["float_call"]

#: More inputs than this: one C call reads and tests them all, not a line per input.
MANY_INPUTS = 32


def float_call(circuit: Circuit, var: dict[int, str], params: list[str], results: list[str], body_lines: list[str],
               runs: list[Run], bound: dict[str, Any], *, by_dict: bool, wrt: tuple[str, ...] | None = None) -> list[str]:
    """The lines of ``gradient(_values=None, *, wrt=_wrt, **_kwargs)`` (``by_dict``) or of ``gradient_list(_xs, *, wrt=_wrt)``.

    ``results`` are the gradients of the inputs ``wrt`` names (every input for None), in
    its order. The function serves that ``wrt`` only: called with another (``wrt`` is
    compared by identity with the one it was made for, bound as ``_wrt``), it hands the
    call on to ``_careful``, as it does any call it cannot serve.
    """
    out = circuit.output
    keys = []
    for k, (name, i) in enumerate(circuit.input_ids.items()):
        if name == var[i]:  # a safe identifier, unchanged: its repr is just quoted
            keys.append(repr(name))
        else:
            bound[f"_key{k}"] = name
            keys.append(f"_key{k}")
    n = len(keys)
    bound["_wrt"] = wrt
    position = {name: k for k, name in enumerate(circuit.input_ids)}
    result_keys = keys if wrt is None else [keys[position[name]] for name in wrt]
    inner = [hoist_math(line, bound) for line in body_lines]
    many = n > MANY_INPUTS or bool(runs)
    # The inputs a loop reads from a slice of _xs, and whose gradients it gives as a list.
    looped = {run.slot_inputs(j, s) for run in runs for s in range(len(run.slots)) for j in range(1, len(run.blocks) - 1)}
    listed = f"[{', '.join(results)}]"
    if runs:
        inner += [f"_r = [0.0] * {n}"]
        inner += [f"_r[{k}] = {r}" for k, r in enumerate(results) if k not in looped and r != "0.0"]
        inner += [f"_r[{base + step}:{base + (len(run.blocks) - 1) * step}:{step}] = {run.tag}dS{s}[1:]"
                  for run in runs for s, (base, step) in enumerate(run.slots)]
        listed = "_r"
    if not by_dict:
        inner += [f"return {var[out]}, {listed}"]
    elif not many:
        inner += [f"return {var[out]}, {{{', '.join(f'{key}: {r}' for key, r in zip(result_keys, results))}}}"]
    else:
        # The dict of gradients: a copy of one with the same keys (a memory copy), then
        # each value replaced. A literal of 20,000 pairs is built in chunks of 16 (2.6 ms
        # for W2); dict(zip(...)) grows its table as it goes (1.2 ms); this, 0.7 ms.
        bound["_names"] = names = tuple(circuit.input_ids) if wrt is None else wrt
        bound["_zeros"] = dict.fromkeys(names, 0.0)
        inner += ["_d = _zeros.copy()", f"_d.update(zip(_names, {listed}))", f"return {var[out]}, _d"]
    if by_dict:
        body = [f"if wrt is _wrt and _values.__class__ is dict and len(_values) == {n} and not _kwargs:", "    try:"]
        if not many:
            body += [f"        {var[i]} = _values[{key}]" for i, key in zip(circuit.input_ids.values(), keys)]
        else:
            # When the dict holds the names in the circuit's order (a dict made from its
            # inputs does), its values are read in order: no lookup per name.
            bound["_inputs"] = operator.itemgetter(*circuit.input_ids)
            bound["_in_order"] = list(circuit.input_ids)
            body += ["        _xs = tuple(_values.values()) if list(_values) == _in_order else _inputs(_values)"]
        body += ["    except KeyError:", "        return _careful(_values, wrt)"]
        fallback = "return _careful(_values, wrt, **_kwargs)"
        signature = "def gradient(_values=None, *, wrt=_wrt, **_kwargs):"
    else:
        body = [f"if wrt is _wrt and (_xs.__class__ is list or _xs.__class__ is tuple) and len(_xs) == {n}:"]
        if not many:
            body += [f"    {', '.join(params)}, = _xs"]
        fallback = "return _careful(_xs, wrt)"
        signature = "def gradient_list(_xs, *, wrt=_wrt):"
    if not many:
        classes = [f"{p}.__class__" for p in params]
        # Chains of 16 (``a.__class__ is b.__class__ is ... is float``): few branches.
        checks = [" is ".join(classes[k:k + 16]) + " is float" for k in range(0, len(classes), 16)] or ["True"]
        body += [f"    if {' and '.join(f'({check})' for check in checks)}:", "        try:"]
    else:
        # Many inputs: one C call tests their types, where a line per input costs more
        # than the arithmetic of a short chain link.
        bound["_floats_only"] = (float,) * n  # compared by identity, element by element
        body += ["    if tuple(map(type, _xs)) == _floats_only:", "        try:"]
        if runs:
            inner = [f"{p} = _xs[{k}]" for k, p in enumerate(params) if k not in looped] + inner
        else:
            inner = [f"{', '.join(params)}, = _xs"] + inner
    body += ["            " + line for line in inner]
    body += ["        except Exception:", "            pass", fallback]
    return [signature] + ["    " + line for line in body]
