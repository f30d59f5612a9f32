"""Compiled circuits: a circuit's tape turned into straight-line Python, forward and backward.

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
with gradients summed back to each input's shape where it was broadcast). Where Python
raises and numpy would give inf or nan (``1.0 / 0.0``), the compiled call falls back to
the interpreter for that call, so both tiers always give the same answers.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .templates import template_for

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["CompiledCircuit", "generate_source", "safe_name"]

#: Names the generated code itself uses (modules, helpers), never given to a variable.
_RESERVED = frozenset({"math", "np", "unbroadcast", "forward_backward"}) | frozenset(dir(builtins))

_ARRAY_HELPER = '''
def unbroadcast(g, x):
    """g summed down to the shape of x, where x was broadcast against bigger arrays."""
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
    circuit: Circuit, arrays: bool = False, *, forward_only: bool = False, dict_call: bool = False
) -> tuple[str, dict[str, Any]]:
    """The module source of ``forward_backward`` and the objects it needs bound.

    The bound objects are the gates without templates (``_g<node>``); the source of
    a circuit of built-in gates needs none and runs on its own. ``forward_only`` makes
    ``forward`` instead, the output only (for callers that need no gradient); ``dict_call``
    makes ``gradient(values)`` for floats, dicts in and out (the fastest call).
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
    needs_grad = [live[i] and i not in circuit.constant_nodes for i in range(len(nodes))]

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
    for i, node in enumerate(nodes):
        if node.kind != "gate" or not live[i]:
            continue
        gate = circuit.gates[i]
        args = [var[a] for a in node.args]
        template = template_for(gate, arrays)
        if template is not None and template.forward is not None:
            forward_lines.append(f"{var[i]} = {template.forward_text(args)}")
        else:
            bound[f"_g{i}"] = gate
            forward_lines.append(f"{var[i]} = _g{i}.forward({', '.join(args)})")
    assigned: set[int] = set()
    for i in range(len(nodes) - 1, -1 if not forward_only else len(nodes) - 1, -1):
        node = nodes[i]
        if node.kind != "gate" or not needs_grad[i]:
            continue
        gate = circuit.gates[i]
        args = [var[a] for a in node.args]
        template = template_for(gate, arrays)
        if template is not None and template.backward is not None:
            shares = [template.backward_text(k, args, grad[i], var[i]) for k in range(len(args))]
        else:
            bound[f"_g{i}"] = gate
            temps = [f"_s{i}_{k}" for k in range(len(args))]
            backward_lines.append(f"{', '.join(temps)}, = _g{i}.backward({grad[i]}, {var[i]}, {', '.join(args)})")
            shares = temps
        for a, share in zip(node.args, shares):
            if not needs_grad[a]:
                continue  # a constant: nobody reads its gradient
            if arrays:
                share = f"unbroadcast({share}, {var[a]})"
            if a in assigned:
                backward_lines.append(f"{grad[a]} = {grad[a]} + {share}" if arrays else f"{grad[a]} += {share}")
            else:
                backward_lines.append(f"{grad[a]} = {share}")
                assigned.add(a)
        if arrays and i != out:
            # Used up: an array the size of the batch need not live to the end (on floats
            # it costs a line and buys nothing).
            backward_lines.append(f"del {', '.join([grad[i]] + (shares if shares and shares[0].startswith('_s') else []))}")

    params = [var[i] for i in circuit.input_ids.values()]
    seed = grad.get(out, "d_out")
    if out not in grad:  # an output no input reaches: every gradient is zero
        seed = names.take("d_out", "d_out")
    results = []
    for i in circuit.input_ids.values():
        if i in assigned or (i == out and i in grad):
            results.append(grad[i])
        else:
            results.append(f"np.zeros(np.shape({var[i]}))" if arrays else "0.0")
    head = ["import math", ""] if not arrays else ["import math", "", "import numpy as np", "", _ARRAY_HELPER.strip(), "", ""]
    seed_line: list[str] = []  # a scalar seed broadcasts: unbroadcast brings each gradient to shape
    body = forward_lines + seed_line + backward_lines + [f"return {var[out]}, ({', '.join(results)}{',' if len(results) == 1 else ''})"]
    signature = ", ".join(params + [f"{seed}=1.0"])
    if dict_call:
        # Values in, gradients out, as dicts; None unless every input is a float. Keys are
        # the input names where they passed the name rule, else bound (never typed text).
        keys = []
        for k, (name, i) in enumerate(circuit.input_ids.items()):
            if name == var[i]:  # a safe identifier, unchanged: its repr is just quoted
                keys.append(repr(name))
            else:
                bound[f"_key{k}"] = name
                keys.append(f"_key{k}")
        unpack = [f"{var[i]} = _values[{key}]" for i, key in zip(circuit.input_ids.values(), keys)]
        params_only = [f"{var[i]}.__class__" for i in circuit.input_ids.values()]
        check_lines = []
        for k in range(0, len(params_only), 16):  # a chain of 16 per test: few branches to compile
            check_lines += [f"if not {' is '.join(params_only[k:k + 16])} is float:", "    return None"]
        result = ", ".join(f"{key}: {r}" for key, r in zip(keys, results))
        body = unpack + check_lines + [f"{seed} = 1.0"] * (out in grad) + forward_lines + backward_lines
        body += [f"return {var[out]}, {{{result}}}"]
        lines = head + ["def gradient(_values):"] + ["    " + line for line in body]
    elif forward_only:
        lines = head + [f"def forward({', '.join(params)}):"] + ["    " + line for line in forward_lines]
        lines += [f"    return {var[out]}"]
    else:
        lines = head + [f"def forward_backward({signature}):"] + ["    " + line for line in body]
    return "\n".join(lines) + "\n", bound


class CompiledCircuit:
    """A circuit as generated Python: the same numbers as the interpreter, faster.

    Built by :meth:`Circuit.compile() <gatekit.circuit.Circuit.compile>`; each variant
    (floats, arrays) is generated on first use. ``gradient`` and ``__call__`` take the
    same arguments as the circuit's.
    """

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        self._functions: dict[tuple[bool, str], Callable[..., Any]] = {}
        self._names = tuple(circuit.input_ids)
        self._floats_gradient: Callable[..., Any] | None = None  # the float variant, once made
        self._dict_gradient: Callable[..., Any] | None = None  # the same, dicts in and out
        self._floats_pure = False  # no gate called through its methods: floats in, floats out

    def source(self, arrays: bool = False) -> str:
        """The generated module (the function ``forward_backward``), as a person would write it."""
        return generate_source(self.circuit, arrays)[0]

    def _function(self, arrays: bool, name: str = "forward_backward") -> Callable[..., Any]:
        fn = self._functions.get((arrays, name))
        if fn is None:
            # Each function is made when first needed: compiling costs more than generating.
            text, bound = generate_source(self.circuit, arrays, forward_only=name == "forward",
                                          dict_call=name == "gradient")
            namespace: dict[str, Any] = {"__builtins__": builtins, **bound}
            # Made of validated parts only (see the module docstring); never of user text.
            exec(compile(text, f"<gatekit compiled circuit ({'arrays' if arrays else 'floats'})>", "exec"), namespace)
            fn = self._functions[(arrays, name)] = namespace[name]
            if not arrays and name in ("forward_backward", "gradient"):
                self._floats_pure = not [key for key in bound if not key.startswith("_key")]
        return fn

    def gradient(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(output, {input name: gradient})``, as :meth:`Circuit.gradient` gives them."""
        circuit = self.circuit
        names = self._names
        if values.__class__ is dict and not kwargs and len(values) == len(names):
            fast = self._dict_gradient
            if fast is None:
                fast = self._dict_gradient = self._function(False, "gradient")
            # Floats in, floats out: nothing to check afterwards (once the interpreter has
            # checked every gate's output for floats, below).
            if self._floats_pure and True not in circuit._unchecked_kinds:
                try:
                    result = fast(values)
                    if result is not None:
                        self._install(fast)
                        return result
                except Exception:  # noqa: BLE001 - a missing name, or Python raised: the careful path
                    pass
        if values.__class__ is dict and not kwargs and values.keys() == circuit.input_ids.keys():
            inputs: Mapping[str, Any] = values
            xs = list(map(values.__getitem__, names))
            floats = set(map(type, xs)) == _FLOAT
            if not floats:  # arrays, ints, or something to refuse: the one resolver decides
                inputs = circuit.resolve_inputs(values)
                xs = list(map(inputs.__getitem__, names))
        else:
            inputs = circuit.resolve_inputs(values, **kwargs)
            xs = list(map(inputs.__getitem__, names))
            floats = set(map(type, xs)) == _FLOAT
        if floats in circuit._unchecked_kinds:  # the first call of a kind: the interpreter checks outputs
            return circuit.gradient(inputs)
        try:
            if floats:
                fn = self._floats_gradient
                if fn is None:
                    fn = self._floats_gradient = self._function(False)
                out, grads = fn(*xs)
                # Built-in templates keep floats floats; a gate called by method may not.
                if self._floats_pure or (out.__class__ is float and set(map(type, grads)) <= _FLOAT):
                    return out, dict(zip(names, grads))
            else:
                with np.errstate(all="ignore"):
                    out, grads = self._function(True)(*xs)
                return _plain(out), {name: _plain(g) for name, g in zip(circuit.input_ids, grads)}
        except Exception:  # noqa: BLE001 - Python raised where numpy gives inf/nan, or a gate misbehaved
            pass
        # The interpreter gives IEEE answers (and names a misbehaving gate).
        return circuit.gradient(inputs)

    def _install(self, fast: Callable[[dict[str, Any]], Any]) -> None:
        """From now on ``gradient`` tries the dict-in dict-out function first, with nothing between.

        What it buys: with 8 gates the checks above cost as much as the arithmetic. Any
        call it cannot serve (other arguments, arrays, a Python exception) takes the
        careful path, which behaves as before.
        """
        careful = CompiledCircuit.gradient.__get__(self)
        n = len(self._names)

        def gradient(values: Any = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
            if values.__class__ is dict and len(values) == n and not kwargs:
                try:
                    result = fast(values)
                except Exception:  # noqa: BLE001 - the careful path explains or recovers
                    result = None
                if result is not None:
                    return result  # type: ignore[no-any-return]
            return careful(values, **kwargs)

        gradient.__doc__ = CompiledCircuit.gradient.__doc__
        self.__dict__["gradient"] = gradient

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
                    return _plain(self._function(True, "forward")(*xs))
        except Exception:  # noqa: BLE001 - as in gradient()
            pass
        return circuit(inputs)


_FLOAT = {float}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    return value

