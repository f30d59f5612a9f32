"""Long operator chains rewritten before parsing, so Python's parser does not recurse through them.

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

import io
import keyword
import token
import tokenize
from dataclasses import dataclass, field

__all__ = ["CHAIN_THRESHOLD", "ChainOp", "Flattened", "flatten_chains"]

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
