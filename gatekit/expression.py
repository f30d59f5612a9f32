"""Expressions: a circuit from a line of text, parsed with Python's ``ast``, never evaluated.

::

    parse("(x + y) * z")
    parse("q = x + y; f = q * z")          # named stages: q and f label their nodes
    parse('''
        c = a + b
        c += c + 1                         # rebinding: later uses see the latest c
        relu(c) ** 2 / 2.0
    ''')

What is allowed (everything else is an :class:`~gatekit.ExpressionError` with its
line and column):

- names, and numbers (``2``, ``0.5``, ``1e-3``); a sign in front of a number is part
  of the number (``-3`` is the constant -3, not ``neg(3)``), as in Python code built
  with :class:`~gatekit.Composer`;
- the operators ``+ - * / **`` and unary ``-``, each meaning whatever gate the
  registry binds to it (a plugin that overrides ``mul`` changes ``*``); unary ``+``
  is the identity. Other Python operators (``%``, ``//``, ``^``, ...) are errors;
- calls of any registered gate by name, with positional arguments: ``max(x, y)``;
- stages: ``name = expression`` and ``name op= expression`` (``c += 1``), separated
  by ``;`` or new lines. Comments (``#``) and indentation are ignored.

Names. A name read before any assignment is an input; inputs are ordered by first
appearance (or given with ``inputs=``, which also makes any other free name an
error). An input cannot be assigned later: ``y = x + 1; x = 2`` is an error, not a
silent second meaning of ``x``. A stage may rebind its own name (``c = c + 1``);
later uses see the latest value. Gates and values live apart: ``exp`` in
``exp(x)`` is the gate, a bare ``exp`` would be an input.

The output is the last statement: a bare expression, or the last stage. A bare
expression anywhere else is an error (it would be computed and thrown away). Each
stage labels the gate node it creates (``trace.value("q")``); a stage that only
renames a value (``r = q``) adds no node and no label. Stages that do not reach the
output are left out of the circuit, every input stays. A circuit with no inputs
(``2 ** 10``) is allowed: it has a value and no gradients.

Size. Long chains parse (``x + x + ... + x`` with 10,000 terms or more: see
:mod:`gatekit.expression_chains`); one long flat chain and nothing else (a 10^6-term
sum: about two seconds, ~200 bytes a term) takes the fast way of
:mod:`gatekit.expression_flat`. Nesting deeper than Python's parser takes (over 200
parentheses, thousands of unary minus or ``**``) is an error that suggests named stages,
found by a linear scan before any tokenising.

Circuits come out with the inputs first and every constant just before its first
use, which is the order :func:`gatekit.load` builds, so expression -> file ->
circuit gives an identical circuit.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Optional, Union

from .circuit import INPUT, Circuit, Node
from .compose import Composer, Wire
from .errors import CircuitError, ExpressionError, UnknownNameError, did_you_mean
from .plugins import default_registry
from .expression_flat import parse_flat_chain
from .expression_syntax import BINARY_OPERATORS, REJECTED_SYNTAX, UNARY_OPERATORS
from .expression_source import ALLOWED, MAX_EXPRESSION_CHARS, TOO_LARGE, ChainOp, ExpressionSource
from .gate import OPERATOR_SYMBOLS

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["parse"]

Value = Wire | float


class _Between(NamedTuple):
    """The operator between two nodes (ast keeps no position for operators)."""

    before: ast.AST
    after: ast.AST


#: Where an error is: a node, a chain operator, an operator between nodes, or (line, column).
Where = Union[ast.AST, ChainOp, _Between, tuple[Optional[int], Optional[int]]]


def parse(text: str, registry: Registry | None = None, *, inputs: Sequence[str] | None = None) -> Circuit:
    """The circuit an expression describes (see the module docstring for the language).

    ``inputs``, when given, declares the inputs and their order; any other name read
    before assignment is then an error with the closest names suggested.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"the expression is {len(text)} characters long, more than the {MAX_EXPRESSION_CHARS} gatekit parses; "
            "build circuits this large with gatekit.Composer or a circuit file"
        )
    if registry is None:
        registry = default_registry()
    flat = parse_flat_chain(text, registry, inputs)  # one long chain: no tokenizer, no ast
    if flat is not None:
        return _canonical(flat)
    source = ExpressionSource(text)
    return _Builder(source, registry, inputs).build(source.statements())


class _Builder:
    """Walks the statements with an explicit stack and wires each piece through a Composer."""

    def __init__(self, source: ExpressionSource, registry: Registry, inputs: Sequence[str] | None):
        self.source, self.registry = source, registry
        self.composer = Composer(registry)
        self.values: dict[str, Value] = {}
        #: input name -> where it was first read (None when declared with ``inputs=``)
        self.input_at: dict[str, tuple[int | None, int | None] | None] = {}
        self.declared = inputs is not None
        if inputs is not None:
            if isinstance(inputs, str):
                inputs = inputs.replace(",", " ").split()
            for name in inputs:
                try:
                    self.values[name] = self.composer.input(name)
                except CircuitError as exc:
                    raise ExpressionError(f"in inputs=: {exc}") from None
                self.input_at[name] = None

    def fail(self, message: str, where: Where | None = None) -> NoReturn:
        """Raise an ExpressionError at ``where``, located only now (errors are rare)."""
        if isinstance(where, ast.AST):
            where = self.source.node_position(where)
        elif isinstance(where, ChainOp):
            where = self.source.chain_position(where)
        elif isinstance(where, _Between):
            where = self.source.operator_position(where.before, where.after)
        line, column = where if where is not None else (None, None)
        raise ExpressionError(message, line, column)

    def reject(self, node: ast.AST) -> NoReturn:
        kind = type(node).__name__
        hint = None
        if isinstance(node, ast.Constant):
            what = "strings are" if isinstance(node.value, (str, bytes)) else f"the constant {node.value!r} is"
        else:
            what, hint = REJECTED_SYNTAX.get(kind, (f"Python's {kind} is", None))
        self.fail(f"{what} not allowed in an expression; {hint or ALLOWED}", node)

    # -- statements ------------------------------------------------------------------------
    def build(self, statements: list[ast.stmt]) -> Circuit:
        output: Value | None = None
        last = len(statements) - 1
        for k, stmt in enumerate(statements):
            if isinstance(stmt, ast.Expr):
                if k != last:
                    self.fail("only the last statement may be a bare expression (the output); "
                              "name this one as a stage (name = ...) or remove it", stmt)
                output = self.value(stmt.value)
            elif isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1:
                    self.fail("chained assignment (a = b = ...) is not allowed; one name per stage", stmt.targets[1])
                name = self.target(stmt.targets[0])
                value = self.value(stmt.value)
                self.target(stmt.targets[0])  # again: `c = c + 1` has just made c an input
                output = self.bind(name, value)
            elif isinstance(stmt, ast.AugAssign):
                output = self.update(stmt)
            else:
                self.reject(stmt)
        if isinstance(output, float):
            output = self.composer.const(output)
        assert output is not None
        return _canonical(self.composer.build(output, keep_inputs=True))  # every name the text read stays an input

    def target(self, node: ast.expr) -> str:
        if not isinstance(node, ast.Name):
            self.fail("a stage assigns one plain name (name = ...); unpacking, attributes and "
                      "subscripts are not allowed", node)
        if node.id in self.input_at:
            first = self.input_at[node.id]
            why = "declared in inputs=" if first is None else f"first read at line {first[0]}, column {first[1]}"
            self.fail(f"cannot assign {node.id!r}: it is an input ({why}); an input keeps one meaning, "
                      "so give this stage another name", node)
        return node.id

    def bind(self, name: str, value: Value) -> Value:
        if isinstance(value, Wire):
            self.composer.name_stage(value, name)  # a new gate node: the stage names it
        self.values[name] = value
        return value

    def update(self, stmt: ast.AugAssign) -> Value:
        name = self.target(stmt.target)
        symbol = BINARY_OPERATORS.get(type(stmt.op))
        if name not in self.values:
            self.fail(f"{name!r} has no value yet, so '{name} {symbol}= ...' cannot update it; "
                      f"assign it first ({name} = ...)", stmt.target)
        current = self.values[name]
        rhs = self.value(stmt.value)
        return self.bind(name, self.operator(symbol, (current, rhs), _Between(stmt.target, stmt.value)))

    # -- expressions, with an explicit stack (depth is the user's) --------------------------
    def value(self, root: ast.expr) -> Value:
        tasks: list[tuple[Any, ...]] = [(self.visit, root)]
        stack: list[Value] = []
        while tasks:
            task = tasks.pop()
            task[0](stack, tasks, *task[1:])
        assert len(stack) == 1
        return stack[0]

    def visit(self, stack: list[Value], tasks: list[tuple[Any, ...]], node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            stack.append(self.read(node))
        elif isinstance(node, ast.Constant):
            stack.append(self.number(node))
        elif isinstance(node, ast.BinOp):
            symbol = BINARY_OPERATORS.get(type(node.op))
            where = _Between(node.left, node.right)
            tasks += [(self.apply, symbol, 2, where), (self.visit, node.right), (self.visit, node.left)]
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self.fail("'not' is not allowed in an expression; use max, min or relu", node)
            tasks += [(self.apply, UNARY_OPERATORS[type(node.op)], 1, node), (self.visit, node.operand)]
        elif isinstance(node, ast.Call):
            self.call(tasks, node)
        else:
            self.reject(node)

    def call(self, tasks: list[tuple[Any, ...]], node: ast.Call) -> None:
        for bad in [*node.keywords, *(a for a in node.args if isinstance(a, ast.Starred))][:1]:
            if isinstance(bad, ast.keyword) and bad.arg is None:
                self.fail("**kwargs are not allowed; gates take positional arguments, as in max(x, y)", bad)
            self.reject(bad)
        if not isinstance(node.func, ast.Name):
            self.fail("only registered gates can be called, by name, as in max(x, y)", node.func)
        chain = self.source.flat.chains.get(node.func.id)
        if chain is not None:  # a flattened operator chain: fold left to right, as Python would
            for op, term in zip(reversed(chain), reversed(node.args[1:])):
                tasks += [(self.apply, op.symbol, 2, op), (self.visit, term)]
            tasks.append((self.visit, node.args[0]))
            return
        try:
            gate = self.registry.gate(node.func.id)
        except UnknownNameError as exc:
            value_here = node.func.id in self.values
            hint = f" ({node.func.id!r} is a value here; only gates can be called)" if value_here else ""
            self.fail(str(exc) + hint, node.func)
        if len(node.args) != gate.arity:
            self.fail(f"gate {gate.name!r} takes {gate.arity} argument(s), got {len(node.args)}: {gate.doc}", node)
        tasks.append((self.apply_gate, gate.name, len(node.args)))
        tasks += [(self.visit, a) for a in reversed(node.args)]

    def read(self, node: ast.Name) -> Value:
        name = node.id
        if name in self.values:
            return self.values[name]
        if self.declared:
            known = list(self.values)
            hint = did_you_mean(name, known)
            message = f"unknown name {name!r}: not a declared input and not assigned before this use"
            if hint:
                message += "; " + hint
            elif known:
                message += "; known names: " + ", ".join(known)
            self.fail(message, node)
        self.values[name] = wire = self.composer.input(name)
        self.input_at[name] = self.source.node_position(node)
        return wire

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.reject(node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.fail(TOO_LARGE, node)
        return number

    def apply(self, stack: list[Value], tasks: list, symbol: str | None, arity: int, where: Where) -> None:
        args = _pop(stack, arity)
        stack.append(self.operator(symbol, args, where))

    def operator(self, symbol: str | None, args: tuple[Value, ...], where: Where) -> Value:
        if len(args) == 1 and isinstance(args[0], float) and symbol in ("-", "+"):
            return -args[0] if symbol == "-" else args[0]  # the sign of a literal
        if symbol == "+" and len(args) == 1:
            return args[0]  # unary plus: the identity (no gate can bind it)
        if symbol is None or self.registry.operator(symbol, len(args)) is None:
            self.fail(self._unbound(symbol, len(args)), where)
        return self.composer.operator(symbol, *args)

    def _unbound(self, symbol: str | None, arity: int) -> str:
        kind = "unary" if arity == 1 else "binary"
        if symbol not in OPERATOR_SYMBOLS.get(arity, ()):
            message = f"the {kind} operator {symbol!r} is not supported"
            if symbol == "^":
                message += " (for a power, write x ** 2)"
            return message + "; expressions use + - * / ** and unary -, each bound to a registered gate"
        bound = sorted({s if n == 2 else f"unary {s}" for s, n in self.registry.symbols})
        message = f"no registered gate binds the {kind} operator {symbol!r}"
        return message + ("; bound operators: " + ", ".join(bound) if bound else "")

    def apply_gate(self, stack: list[Value], tasks: list, name: str, arity: int) -> None:
        stack.append(self.composer.gate(name, *_pop(stack, arity)))


def _pop(stack: list[Value], count: int) -> tuple[Value, ...]:
    """The top ``count`` values, in order, removed from the stack."""
    start = len(stack) - count
    values = tuple(stack[start:])
    del stack[start:]
    return values


def _canonical(circuit: Circuit) -> Circuit:
    """The same circuit with inputs first and each constant just before its first use.

    Inputs and constants take no arguments, so moving them earlier keeps the order
    topological. This is the order :func:`gatekit.load` builds, which is what makes
    expression -> file -> circuit identical. Read from the circuit's columns: a Node
    per node would cost more than the whole parse of a long sum.
    """
    inputs = len(circuit.input_ids)
    if not circuit.constants and all(i < inputs for i in circuit.input_ids.values()):
        return circuit  # inputs first and no constants: already in order (a long sum)
    gates, node_args = circuit.gates, circuit._args
    order = list(circuit.input_ids.values())
    placed = set(order)
    constants = {i for i, _ in circuit.constants}
    for i, gate in enumerate(gates):
        if gate is not None:
            for a in node_args[i]:
                if a in constants and a not in placed:
                    order.append(a)
                    placed.add(a)
            order.append(i)
            placed.add(i)
    order += [i for i in range(len(gates)) if i not in placed]  # an output constant
    if order == list(range(len(gates))):
        return circuit
    new_id = {old: new for new, old in enumerate(order)}
    moved = [circuit.nodes[i] for i in order]
    moved = [Node(n.kind, n.name, tuple(new_id[a] for a in n.args), n.value, n.label) if n.args else n for n in moved]
    # Only the order changes: the nodes were checked and their gates resolved once, by the Composer.
    input_ids = {str(n.name): k for k, n in enumerate(moved) if n.kind == INPUT}
    return Circuit._built(moved, [gates[i] for i in order], new_id[circuit.output], circuit.registry,
                          input_ids, dict(circuit.gate_plugins), circuit.defaults)
