"""The tape walk: the forward loop and the backward loop that run every circuit.

A circuit's tape is its gate nodes in topological order, each a *step*
``(node, gate.forward, gate.backward, first arg, second arg, args)``: -1 for an absent
argument, so one- and two-input gates (nearly all) are called without building an
argument list, and the methods bound once, not looked up per call. Forward
walks it in order and stores each node's value; backward walks it in reverse, the
way micrograd's ``backward`` does::

    grad[output] = seed
    for node in reversed(tape):
        for arg, share in zip(node.args, node.gate.backward(grad[node], value[node], *args)):
            grad[arg] += reduce_to_shape(share, value[arg])      # fan-out adds up

That loop is :func:`_backward_checked`. Everything else here is what makes it fast,
each with one line saying what it buys. Loops, never recursion: depth is the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .broadcast import (BadGradient, reduce_gradient, reduce_pair_gradient, seed_gradient, seed_view, shapes_clash,
                        zero_gradient)
from .containment import describe, is_user_interrupt
from .errors import GateContractError, GatekitError, UsageError
from .gate_outputs import first_junk

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["Step", "make_step", "forward", "backward", "gradient_floats", "Shares"]

#: One tape entry: (node id, forward, backward, first argument or -1, second or -1, all arguments).
Step = tuple[int, Any, Any, int, int, tuple[int, ...]]
#: Each wire's share of a gradient: ``{(node, k): what node's gate sent to its k-th argument}``.
Shares = dict[tuple[int, int], Any]

#: Values whose shape is () without asking: the checked loop skips their shape comparison.
_SCALAR_TYPES = frozenset((float, np.float64))


def make_step(i: int, gate: Any, args: tuple[int, ...]) -> Step:
    """The tape entry of gate node ``i``."""
    a = args[0] if len(args) in (1, 2) else -1
    b = args[1] if len(args) == 2 else -1
    return (i, gate.forward, gate.backward, a, b, args)


def _call_forward(forward: Any, v: list[Any], a: int, b: int, args: tuple[int, ...]) -> Any:
    """The one place a gate's forward is called (inlined below for speed; keep them alike)."""
    if b >= 0:
        return forward(v[a], v[b])
    if a >= 0:
        return forward(v[a])
    return forward(*[v[k] for k in args])


def forward(circuit: Circuit, inputs: dict[str, Any]) -> list[Any]:
    """Every node's value, given every input's (resolved) value."""
    v: list[Any] = [None] * len(circuit.gates)
    floats = True
    for name, i in circuit.input_ids.items():
        x = v[i] = inputs[name]
        floats = floats and x.__class__ is float
    for i, value in circuit.constants:
        v[i] = value
    i = -1
    try:
        if floats and circuit.keeps_floats:
            # What it buys: np.errstate costs ~3 us, more than a whole small circuit; gates
            # that keep floats floats never touch numpy, so there is nothing to silence.
            for i, fwd, _, a, b, args in circuit.steps:
                v[i] = fwd(v[a], v[b]) if b >= 0 else fwd(v[a]) if a >= 0 else _call_forward(fwd, v, a, b, args)
        else:
            with np.errstate(all="ignore"):  # once per pass: out-of-domain gives inf/nan, silently
                for i, fwd, _, a, b, args in circuit.steps:
                    v[i] = _call_forward(fwd, v, a, b, args)
    except GatekitError:
        raise
    except BaseException as exc:  # a plugin's bug: name the gate and plugin, keep the cause
        if is_user_interrupt(exc):  # the rule is gatekit/containment.py's
            raise
        junk = first_junk(v, [k for k in circuit._gate_ids if k < i], floats)
        if junk is not None:  # an earlier gate's junk tripped this one: blame that gate
            raise junk_error(circuit, *junk) from exc
        if (isinstance(exc, ValueError) and shapes_clash([v[k] for k in circuit.nodes[i].args])
                and shapes_clash([v[k] for k in circuit.input_ids.values()])):
            raise shape_error(circuit, i, v) from None  # the caller's arrays, not the gate
        raise gate_failure(circuit, i, "forward", exc) from exc
    # Every gate's output checked once per kind of input (floats, arrays); afterwards one
    # truth test (and for arrays one class test) per pass.
    unchecked = circuit._unchecked_kinds
    if unchecked and (True in unchecked or v[circuit.output].__class__ not in _SCALAR_TYPES):
        check_outputs(circuit, v, floats)
    return v


def gradient_floats(circuit: Circuit, values: Any) -> tuple[float, dict[str, float]] | None:
    """``Circuit.gradient`` for its common call, a dict of one float per input; else None.

    What it buys: half the cost of a small circuit (the lesson's neuron: 5.2 us to 2.9 us),
    by going from the caller's dict to the result's in one pass, with no resolver, no
    per-pass type tests and no conversions. None (the general path then answers, and
    reports any problem) for anything else: another kind of value, a missing or unknown
    name, a gate not known to keep floats floats, the first float call (whose gate
    outputs the general path checks), or a gate that raised or gave a non-float.
    """
    ids = circuit.input_ids
    if values.__class__ is not dict or len(values) != len(ids) or not circuit.keeps_floats or True in circuit._unchecked_kinds:
        return None
    v: list[Any] = [None] * len(circuit.gates)
    try:
        for name, i in ids.items():
            x = v[i] = values[name]
            if x.__class__ is not float:
                return None
        for i, value in circuit.constants:
            v[i] = value
        for i, fwd, _, a, b, args in circuit.steps:  # forward()'s float loop
            v[i] = fwd(v[a], v[b]) if b >= 0 else fwd(v[a]) if a >= 0 else _call_forward(fwd, v, a, b, args)
    except BaseException as exc:  # the general path reruns it and names the gate (a Ctrl-C goes on)
        if is_user_interrupt(exc):
            raise
        return None
    out = circuit.output
    g: list[Any] = [None] * len(v)
    g[out] = 1.0
    if v[out].__class__ is not float or not _backward_floats(circuit.reversed_steps, v, g):
        return None
    grads = {}
    for name, i in ids.items():
        gi = g[i]
        if gi.__class__ is not float:
            if gi is not None:
                return None  # a gate gave something else: the general path makes it a float or names it
            gi = 0.0  # an input the output does not read
        grads[name] = gi
    return v[out], grads


def check_outputs(circuit: Circuit, values: Sequence[Any], floats: bool) -> None:
    """Refuse junk a gate's forward returned (see :mod:`gatekit.gate_outputs`), once per kind."""
    if floats in circuit._unchecked_kinds:
        junk = first_junk(values, circuit._gate_ids, floats)
        if junk is not None:
            raise junk_error(circuit, *junk)
        circuit._unchecked_kinds.discard(floats)


def backward(
    circuit: Circuit,
    values: Sequence[Any],
    seed: Any = 1.0,
    *,
    shares: Shares | None = None,
    keep: str = "read",
    unread: frozenset[int] | None = None,
) -> list[Any]:
    """Every node's gradient (None where skipped or unreached), given the values and the seed.

    ``shares``, if given, is filled with each wire's share of the gradient (after any
    broadcast reduction, before fan-out adds shares up). On arrays, gradients nobody
    reads are skipped: with ``keep="read"`` those of nodes no input reaches (constants);
    with ``keep="inputs"`` also every intermediate gradient, dropped once used, and every
    intermediate value once its own backward has run (``values`` must then be the
    caller's own list, read afterwards only for the inputs and the output);
    ``keep="everything"`` skips nothing. ``unread`` names nodes whose gradients nobody
    reads beyond those (the nodes no wanted input feeds: :mod:`gatekit.wanted`), skipped
    on arrays and numbers alike. Floats compute everything: it costs nothing.
    """
    g: list[Any] = [None] * len(circuit.gates)
    out = circuit.output
    if shares is None and seed.__class__ is float and circuit.keeps_floats and _floats(circuit, values):
        g[out] = seed
        if _backward_floats(circuit.reversed_steps, values, g) and _only_floats(g):
            return g
        g = [None] * len(circuit.gates)  # not all floats after all: start again, checked
    top = values[out]
    if keep == "inputs" and seed.__class__ is float and top.__class__ is np.ndarray and top.ndim:
        # What it buys: no array of ones to write (a pass over the batch). A read-only
        # view of one number in the output's shape; any input gradient left read-only
        # (the seed itself, passed on by ``add``) is copied at the end.
        g[out] = seed_view(top, seed)
        _backward_checked(circuit, values, g, shares, keep, unread)
        for i in circuit.input_ids.values():
            gi = g[i]
            if gi.__class__ is np.ndarray and not gi.flags.writeable:
                g[i] = gi.copy()
        return g
    g[out] = seed_gradient(top, seed)
    _backward_checked(circuit, values, g, shares, keep, unread)
    return g


def _backward_floats(steps: Sequence[Step], v: Sequence[Any], g: list[Any]) -> bool:
    # ``steps`` in reverse order.
    """The backward loop for Python floats: False if a gate raised or broke the contract.

    What it buys: no np.errstate, no shape tests and no contract tests per gate (about
    half the cost of a small circuit). Anything unexpected (the wrong number of
    gradients, an exception) makes it give up, and the checked loop runs from scratch and
    reports the problem properly; the caller tests that what it hands on are floats
    (a gate returning a numpy scalar gives up the same way).
    """
    try:
        for i, _, bwd, a, b, args in steps:
            gi = g[i]
            if gi is None:
                continue  # not on any path to the output
            if b >= 0:
                ga, gb = bwd(gi, v[i], v[a], v[b])
                prev = g[a]
                g[a] = ga if prev is None else prev + ga
                prev = g[b]
                g[b] = gb if prev is None else prev + gb
            elif a >= 0:
                (ga,) = bwd(gi, v[i], v[a])
                prev = g[a]
                g[a] = ga if prev is None else prev + ga
            else:
                return False
    except BaseException as exc:  # anything unexpected: the checked loop reports it (a Ctrl-C goes on)
        if is_user_interrupt(exc):
            raise
        return False
    return True


def _only_floats(g: list[Any]) -> bool:
    """Every gradient reached a Python float."""
    kinds = set(map(type, g))
    kinds.discard(type(None))
    return kinds == _FLOAT_ONLY


_FLOAT_ONLY = {float}


def _floats(circuit: Circuit, values: Sequence[Any]) -> bool:
    """Every input a Python float (then, gates keeping floats floats, every value is one)."""
    for i in circuit.input_ids.values():
        if values[i].__class__ is not float:
            return False
    return True


def _backward_checked(circuit: Circuit, values: Any, g: list[Any], shares: Shares | None, keep: str,
                      unwanted: frozenset[int] | None = None) -> None:
    """The backward loop for anything: checks each gate's gradients and brings them to shape."""
    arrays = keep != "everything" and np.ndim(values[circuit.output]) > 0
    # Shares asked for are every wire's, constants' too (a picture shows them all).
    unread = circuit.constant_nodes if arrays and shares is None else frozenset()
    if unwanted is not None and shares is None:
        unread = unwanted  # a superset of the constants' nodes: no input at all feeds those
    drop = arrays and keep == "inputs"
    inputs = set(circuit.input_ids.values())
    free = set(circuit._gate_ids) - {circuit.output} if drop else frozenset()
    scalar = _SCALAR_TYPES
    i = -1
    try:
        with np.errstate(all="ignore"):  # once per pass
            for i, _, bwd, a, b, args in circuit.reversed_steps:
                gi = g[i]
                if gi is None:
                    continue  # not on any path to the output
                xs = (values[a], values[b]) if b >= 0 else (values[a],) if a >= 0 else tuple(values[k] for k in args)
                out_i = values[i]
                if drop and i in free:
                    # Its readers' backwards have run (they come later on the tape): after
                    # its own, an array the size of the batch need not live to the end.
                    values[i] = None
                grads = bwd(gi, out_i, *xs)  # the one place a gate's backward is called here
                if (grads.__class__ is not tuple and not isinstance(grads, (tuple, list))) or len(grads) != len(xs):
                    raise contract_error(circuit, i, _count_message(grads, len(xs)))
                for k, (arg, x, share) in enumerate(zip(args, xs, grads)):
                    if arg in unread:
                        continue  # no input reaches it: nobody reads its gradient
                    # Scalars (float, float64) have shape (): only other pairs are compared.
                    if not (share.__class__ in scalar and x.__class__ in scalar) and (
                        (() if share.__class__ is float else getattr(share, "shape", None)) != getattr(x, "shape", ())
                    ):
                        if len(xs) == 2:
                            share = reduce_pair_gradient(share, x, xs[1 - k], out_i)
                        else:
                            share = reduce_gradient(share, x, [*xs, out_i])
                    if shares is not None:
                        shares[(i, k)] = share
                    prev = g[arg]
                    g[arg] = share if prev is None else prev + share
                if drop and i not in inputs:
                    g[i] = None  # used up: an array this size need not live to the end
    except GatekitError:
        raise
    except BadGradient as exc:
        raise contract_error(circuit, i, str(exc)) from None
    except BaseException as exc:  # a plugin's bug: name the gate and plugin, keep the cause
        if is_user_interrupt(exc):
            raise
        scalar_inputs = all(values[k].__class__ is float for k in circuit.input_ids.values())
        junk = first_junk(values, [k for k in circuit._gate_ids if values[k] is not None], scalar_inputs)
        if junk is not None:  # a forward's junk tripped this backward: blame that forward
            raise junk_error(circuit, *junk) from exc
        raise gate_failure(circuit, i, "backward", exc) from exc


def fill_unreached(values: Sequence[Any], g: list[Any]) -> list[Any]:
    """Zeros, in shape, for the nodes no path leads from to the output (after ``keep="everything"``)."""
    return [zero_gradient(values[k]) if gk is None else gk for k, gk in enumerate(g)]


# -- errors that name the gate and the plugin it came from ------------------------------------
def _where(circuit: Circuit, i: int) -> str:
    label = circuit.nodes[i].label
    return f"node {i}" + (f" ({label!r})" if label else "")


def contract_error(circuit: Circuit, i: int, what: str) -> GateContractError:
    name = str(circuit.nodes[i].name)
    plugin = circuit.gate_plugins.get(name)
    return GateContractError(f"gate {name!r} (plugin {plugin!r}) at {_where(circuit, i)}: backward {what}", plugin=plugin)


def gate_failure(circuit: Circuit, i: int, method: str, exc: BaseException) -> GateContractError:
    """A gate that raised instead of returning (gates give inf/nan, never raise)."""
    name = str(circuit.nodes[i].name)
    plugin = circuit.gate_plugins.get(name)
    text = describe(exc).partition(": ")[2]
    return GateContractError(
        f"gate {name!r} (plugin {plugin!r}) at {_where(circuit, i)} raised {type(exc).__name__} in {method}"
        + (f": {text}" if text else ""),
        plugin=plugin,
    )


def junk_error(circuit: Circuit, i: int, problem: str) -> GateContractError:
    name = str(circuit.nodes[i].name)
    plugin = circuit.gate_plugins.get(name)
    return GateContractError(
        f"gate {name!r} (plugin {plugin!r}) at {_where(circuit, i)}: forward returned {problem}; a forward "
        "returns a real number or an array of real numbers (in its inputs' broadcast shape)",
        plugin=plugin,
    )


def shape_error(circuit: Circuit, i: int, values: Sequence[Any]) -> UsageError:
    arrays = ", ".join(f"{name} {np.shape(values[k])}" for name, k in circuit.input_ids.items() if np.ndim(values[k]))
    got = " and ".join(str(np.shape(values[k])) for k in circuit.nodes[i].args)
    return UsageError(
        f"the input arrays' shapes do not broadcast together ({arrays}): gate {circuit.nodes[i].name!r} at "
        f"{_where(circuit, i)} got shapes {got}; give arrays of one shape, or shapes that broadcast "
        "(a size-1 axis or a missing leading axis stretches)"
    )


def _count_message(grads: Any, arity: int) -> str:
    if not isinstance(grads, (tuple, list)):
        return f"must return a tuple of {arity} gradient(s), got {type(grads).__name__}"
    return f"returned {len(grads)} gradient(s) for {arity} input(s)"
