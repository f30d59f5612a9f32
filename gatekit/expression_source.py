"""An expression's text as Python's parser sees it, and the way back to the user's text.

:class:`ExpressionSource` strips indentation (it means nothing in the language, and
stripping it lets people indent a multi-line expression in a triple-quoted string),
flattens long operator chains, runs ``ast.parse``, turns every parser failure into an
:class:`~gatekit.ExpressionError`, and maps every position back to a 1-based line and
column of the text the user wrote.

Why flatten: ``x + x + ... + x`` with 10,000 terms is a left-deep tree 10,000 levels
deep, and CPython cannot hand such a tree to Python code: ``ast.parse`` raises
RecursionError while building it (3.10 and 3.11 crash outright if the recursion limit
is raised, and 3.12+ use a fixed C limit). So before parsing, each long run of
operators of one precedence level is rewritten, with the tokenizer, into a call of a
reserved marker name::

    a*b + c - d*e + ...      ->      _gk_chain_0(a*b, c, d*e, ...)

and the operators are kept aside (:class:`ChainOp`, with their positions). The
expression walker folds the arguments left to right with those operators, which
builds exactly the tree Python would have built, in the same order: the circuit is
identical, only the parser's recursion is gone.

A run is rewritten only when it holds at least ``CHAIN_THRESHOLD`` operators of its
lowest precedence level, and only when every token in it is a name, a number, a
bracketed group or an arithmetic operator and it stands between separators (``,``
``;`` ``=`` line ends, brackets): anything else is left for ``ast`` to parse and for
the whitelist to reject, so rewriting never changes what is allowed.
"""

from __future__ import annotations

import ast
import contextlib
import io
import keyword
import re
import token
import tokenize
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import ExpressionError

__all__ = ["MAX_EXPRESSION_CHARS", "CHAIN_THRESHOLD", "ChainOp", "Flattened", "flatten_chains", "ExpressionSource", "ALLOWED", "TOO_LARGE"]

ALLOWED = "allowed: names, numbers, operators (+ - * / **), gate calls like max(x, y), stages like q = x + y"
TOO_LARGE = "a number too large for a float (the largest is about 1.8e308)"

#: The longest expression text parse() reads: over twice a 10^6-term sum (``x + x + ...``,
#: 4 * 10^6 characters) and far more than anyone types. Parsing time and memory grow
#: with the text, so this bounds both; larger circuits come from Composer or a file.
MAX_EXPRESSION_CHARS = 10_000_000

#: A run with this many operators of one level is flattened (far below any parser limit).
CHAIN_THRESHOLD = 16

#: Python's left-associative binary operators by precedence, loosest first.
#: ``**`` (right-associative, binding tighter than unary minus) is never split.
_LEVEL = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "@": 6}
_ARITHMETIC = set(_LEVEL) | {"**", "~"}
_UNARY = {"+", "-", "~"}
_OPEN, _CLOSE = "([{", ")]}"
_SKIPPED = {token.COMMENT, token.NL}
#: What may separate whole expressions: statement ends, ',', '=' and augmented '='.
_SEPARATORS = {",", ";", "=", "**="} | {symbol + "=" for symbol in _LEVEL}
_ENDS = {token.NEWLINE, token.ENDMARKER, token.INDENT, token.DEDENT}

Position = tuple[int, int]  # (line, 0-based column), as the tokenizer gives them


@dataclass(frozen=True)
class ChainOp:
    """One operator of a flattened chain, where it stands in the text before rewriting."""

    symbol: str
    line: int
    column: int  # 0-based, in characters


@dataclass
class Flattened:
    """The rewritten text, the operators of each marker call, and the column map."""

    text: str
    chains: dict[str, tuple[ChainOp, ...]] = field(default_factory=dict)
    #: line -> [(column before rewriting, characters inserted there)], sorted.
    insertions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def original_column(self, line: int, column: int) -> int:
        """The 0-based column, in the text before rewriting, of a rewritten column."""
        shift = 0
        for at, length in self.insertions.get(line, ()):
            if column < at + shift:
                break
            if column < at + shift + length:
                return at  # inside an inserted marker: point where it was inserted
            shift += length
        return column - shift


class _Group:
    """A bracketed group (or the whole text): its items are tokens and nested groups."""

    __slots__ = ("items", "start", "end")

    def __init__(self, start: Position):
        self.items: list[tokenize.TokenInfo | _Group] = []
        self.start = start
        self.end = start


def _is_operand(item: tokenize.TokenInfo | _Group) -> bool:
    if isinstance(item, _Group):
        return True
    return item.type == token.NUMBER or (item.type == token.NAME and not keyword.iskeyword(item.string))


def _is_arithmetic(item: tokenize.TokenInfo | _Group) -> bool:
    return not isinstance(item, _Group) and item.type == token.OP and item.string in _ARITHMETIC


def _span(item: tokenize.TokenInfo | _Group) -> tuple[Position, Position]:
    return (item.start, item.end)


def _group(text: str) -> _Group | None:
    """The text as nested groups, or None when the tokenizer (or bracket matching) fails."""
    root = _Group((1, 0))
    stack = [root]
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIPPED:
                continue
            if tok.type == token.OP and tok.string in _OPEN:
                group = _Group(tok.start)
                stack[-1].items.append(group)
                stack.append(group)
            elif tok.type == token.OP and tok.string in _CLOSE:
                if len(stack) == 1:
                    return None
                stack.pop().end = tok.end
            else:
                stack[-1].items.append(tok)
    except (tokenize.TokenError, SyntaxError, ValueError, MemoryError, RecursionError):
        return None  # let ast.parse report the problem, with its own message
    return root if len(stack) == 1 else None


def _is_boundary(item: tokenize.TokenInfo | _Group | None) -> bool:
    """Whether a token may stand next to a whole expression (so a run there is one)."""
    if item is None:
        return True  # the edge of a bracketed group or of the text
    if isinstance(item, _Group):
        return False
    return item.type in _ENDS or (item.type == token.OP and item.string in _SEPARATORS)


def _runs(group: _Group) -> list[list[tokenize.TokenInfo | _Group]]:
    """Maximal runs of operands and arithmetic operators that are whole expressions.

    A run next to anything but a separator (``a + b.c``, ``a + b if c else d``) is
    part of something larger the whitelist rejects anyway: it is left to ``ast``, so
    the error points where it should.
    """
    runs: list[list[tokenize.TokenInfo | _Group]] = []
    current: list[tokenize.TokenInfo | _Group] = []
    before: tokenize.TokenInfo | _Group | None = None
    for item in [*group.items, None]:
        if item is not None and (_is_operand(item) or _is_arithmetic(item)):
            current.append(item)
            continue
        if current and _is_boundary(before) and _is_boundary(item):
            runs.append(current)
        current, before = [], item
    return runs


def _binary_ops(run: list[tokenize.TokenInfo | _Group]) -> list[int] | None:
    """Indices of the binary operators of a run; None if the run is not well formed."""
    found = []
    previous_is_operand = False
    for k, item in enumerate(run):
        if _is_operand(item):
            previous_is_operand = True
            continue
        symbol = item.string  # type: ignore[union-attr]
        if previous_is_operand and symbol != "~":
            found.append(k)
        elif symbol not in _UNARY:
            return None  # '*x', '**x' or '~' after an operand: not ours to rewrite
        previous_is_operand = False
    return found if previous_is_operand else None


class _Rewriter:
    def __init__(self, text: str, threshold: int):
        self.text, self.threshold = text, threshold
        self.marker = "_gk_chain_"
        while self.marker in text:  # the marker must not be a name the user wrote
            self.marker += "_"
        self.chains: dict[str, tuple[ChainOp, ...]] = {}
        # (line, column, order, text): +order opens chain number ``order``, -order closes it.
        self.inserts: list[tuple[int, int, int, str]] = []
        self.replaces: list[tuple[int, int, str]] = []

    def run(self, root: _Group) -> None:
        groups = [root]
        while groups:  # every bracket level, with a stack rather than recursion
            group = groups.pop()
            groups.extend(item for item in group.items if isinstance(item, _Group))
            pending = _runs(group)
            while pending:
                pending.extend(self.split(pending.pop()))

    def split(self, run: list[tokenize.TokenInfo | _Group]) -> list[list[tokenize.TokenInfo | _Group]]:
        """Flatten ``run`` at its loosest level if long enough; return its terms to look into."""
        ops = _binary_ops(run)
        if not ops:
            return []
        levels = [_LEVEL.get(run[k].string, 0) for k in ops]  # type: ignore[union-attr]
        lowest = min((level for level in levels if level), default=0)
        if not lowest:
            return []  # only '**': never split
        cuts = [k for k, level in zip(ops, levels) if level == lowest]
        terms, start = [], 0
        for k in cuts:
            terms.append(run[start:k])
            start = k + 1
        terms.append(run[start:])
        if len(cuts) >= self.threshold:
            self.flatten(run, [run[k] for k in cuts])  # type: ignore[misc]
        return [term for term in terms if len(term) > 1]

    def flatten(self, run: list[tokenize.TokenInfo | _Group], cuts: list[tokenize.TokenInfo]) -> None:
        name = f"{self.marker}{len(self.chains)}"
        order = len(self.chains) + 1
        self.chains[name] = tuple(ChainOp(op.string, op.start[0], op.start[1]) for op in cuts)
        (line, column), _ = _span(run[0])
        self.inserts.append((line, column, order, name + "("))
        for op in cuts:
            self.replaces.append((op.start[0], op.start[1], ",".ljust(len(op.string))))
        _, (line, column) = _span(run[-1])
        self.inserts.append((line, column, -order, ")"))

    def apply(self) -> Flattened:
        # One pass per line over its edits, in column order. At one column: closings
        # (all alike, ')'), then an operator's replacement, then openings, outer (the
        # chain found first) before inner.
        by_line: dict[int, list[tuple[int, tuple[int, int], str, int]]] = {}
        for line, column, order, text in self.inserts:
            key = (0, 0) if order < 0 else (2, order)
            by_line.setdefault(line, []).append((column, key, text, 0))
        for line, column, text in self.replaces:
            by_line.setdefault(line, []).append((column, (1, 0), text, len(text)))
        lines = self.text.split("\n")
        insertions: dict[int, list[tuple[int, int]]] = {}
        for line, edits in by_line.items():
            edits.sort()
            old, pieces, done = lines[line - 1], [], 0
            for column, _, text, replaced in edits:
                pieces += [old[done:column], text]
                done = column + replaced
                if not replaced:
                    insertions.setdefault(line, []).append((column, len(text)))
            lines[line - 1] = "".join(pieces) + old[done:]
        return Flattened("\n".join(lines), self.chains, insertions)


def flatten_chains(text: str, threshold: int | None = None) -> Flattened:
    """``text`` with every long operator chain turned into a marker call (see the module doc)."""
    rewriter = _Rewriter(text, CHAIN_THRESHOLD if threshold is None else threshold)
    root = _group(text)
    if root is None:
        return Flattened(text)
    rewriter.run(root)
    if not rewriter.chains:
        return Flattened(text)
    return rewriter.apply()


#: How deep Python's parser nests brackets ("too many nested parentheses" past it).
MAX_BRACKET_DEPTH = 200
_BRACKET = re.compile(r"[()\[\]{}]")


def _refuse_deep_brackets(lines: list[str], indent: list[int]) -> None:
    """Refuse brackets nested past the parser's limit in one linear scan, before tokenising.

    Only when no string or comment could hold a bracket (they are the only places one
    does not count); otherwise the tokenizer and the parser decide, as for any text.
    """
    text = "\n".join(lines)
    if text.count("(") + text.count("[") + text.count("{") <= MAX_BRACKET_DEPTH:
        return
    if "#" in text or "'" in text or '"' in text:
        return
    depth = 0
    for line_number, line in enumerate(lines, 1):
        for match in _BRACKET.finditer(line):
            if match.group() in _OPEN:
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    raise ExpressionError(
                        f"too many nested parentheses for Python's parser (at most {MAX_BRACKET_DEPTH}); "
                        "split the expression into named stages (q = ...; f = q * z)",
                        line_number, match.start() + indent[line_number - 1] + 1,
                    )
            elif depth:
                depth -= 1


@contextlib.contextmanager
def _quiet_parser() -> Iterator[None]:
    """Python's parser warns about source such as ``1if x else y`` (a SyntaxWarning on
    stderr); for an expression that is noise: it is accepted or refused, one or the other."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # invalid escapes, on older Pythons
        yield


class ExpressionSource:
    """The text as parsed (indentation stripped, long chains flattened) and the way back.

    Every position in an error is mapped back to a 1-based line and column of the
    text the user wrote.
    """

    def __init__(self, text: str):
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        stripped = [line.lstrip(" \t\f") for line in lines]
        # Indentation means nothing in this language; stripping it lets people indent
        # a multi-line expression inside a triple-quoted string.
        self.indent = [len(a) - len(b) for a, b in zip(lines, stripped)]
        _refuse_deep_brackets(stripped, self.indent)  # before tokenising what would be refused anyway
        with _quiet_parser():
            self.flat: Flattened = flatten_chains("\n".join(stripped))
        self.lines = self.flat.text.split("\n")

    def statements(self) -> list[ast.stmt]:
        try:
            with _quiet_parser():
                tree = ast.parse(self.flat.text, mode="exec")
        except SyntaxError as exc:
            offset = exc.offset if exc.offset and exc.offset > 0 else None
            line, column = self.user_position(exc.lineno, None if offset is None else offset - 1)
            if "too many nested parentheses" in str(exc.msg):
                raise ExpressionError(
                    "too many nested parentheses for Python's parser (at most 200); "
                    "split the expression into named stages (q = ...; f = q * z)", line, column
                ) from None
            if "integer string conversion" in str(exc.msg):
                raise ExpressionError(TOO_LARGE, line) from None
            detail = "" if exc.msg == "invalid syntax" else f" ({exc.msg})"
            raise ExpressionError(f"invalid syntax{detail}; {ALLOWED}", line, column) from None
        except (RecursionError, MemoryError):
            raise ExpressionError(
                "the expression is nested too deeply for Python's parser (long chains of unary "
                "minus or **, or deeply nested calls); split it into named stages (q = ...; f = q * z)"
            ) from None
        except ValueError as exc:  # e.g. null bytes, on older Pythons
            raise ExpressionError(f"invalid expression text: {exc}") from None
        if not tree.body:
            raise ExpressionError("the expression is empty; " + ALLOWED)
        return tree.body

    # -- positions -------------------------------------------------------------------
    def user_position(self, line: int | None, column: int | None) -> tuple[int | None, int | None]:
        """A position in the parsed text (0-based character column) as the user's 1-based one."""
        if line is None or not 1 <= line <= len(self.indent):
            return line, None if column is None else column + 1
        if column is None:
            return line, None
        return line, self.flat.original_column(line, column) + self.indent[line - 1] + 1

    def chain_position(self, op: ChainOp) -> tuple[int, int]:
        """Chain operators were recorded before flattening: only the indentation to add back."""
        return op.line, op.column + self.indent[op.line - 1] + 1

    def node_position(self, node: ast.AST) -> tuple[int | None, int | None]:
        line = getattr(node, "lineno", None)
        if line is None:
            return None, None
        return self.user_position(line, self._char_column(line, node.col_offset))  # type: ignore[attr-defined]

    def _char_column(self, line: int, byte_offset: int) -> int:
        # ast columns count UTF-8 bytes; people (and the chain map) count characters.
        text = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def operator_position(self, before: ast.AST, after: ast.AST) -> tuple[int | None, int | None]:
        """Where the operator between two nodes starts (ast records no operator position)."""
        line = before.end_lineno  # type: ignore[attr-defined]
        column = self._char_column(line, before.end_col_offset)  # type: ignore[attr-defined]
        end = (after.lineno, self._char_column(after.lineno, after.col_offset))  # type: ignore[attr-defined]
        while (line, column) < end:
            text = self.lines[line - 1]
            if column >= len(text) or text[column] == "#":
                line, column = line + 1, 0
            elif text[column] in " \t\f\\)":
                column += 1
            else:
                return self.user_position(line, column)
        return self.node_position(before)
