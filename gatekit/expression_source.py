"""An expression's text as Python's parser sees it, and the way back to the user's text.

:class:`ExpressionSource` strips indentation (it means nothing in the language, and
stripping it lets people indent a multi-line expression in a triple-quoted string),
flattens long operator chains, runs ``ast.parse``, turns every parser failure into an
:class:`~gatekit.ExpressionError`, and maps every position back to a 1-based line and
column of the text the user wrote.

Long operator chains are flattened first (see :mod:`gatekit.expression_chains`, which
says why), so the parser never recurses as deep as the chain is long.
"""

from __future__ import annotations

import ast
import contextlib
import re
import warnings
from collections.abc import Iterator

from .errors import ExpressionError
# Re-exported: these names were imported from here before the chains had a module of their own.
from .expression_chains import CHAIN_THRESHOLD, ChainOp, Flattened, flatten_chains

__all__ = ["MAX_EXPRESSION_CHARS", "CHAIN_THRESHOLD", "ChainOp", "Flattened", "flatten_chains", "ExpressionSource", "ALLOWED", "TOO_LARGE"]

ALLOWED = "allowed: names, numbers, operators (+ - * / **), gate calls like max(x, y), stages like q = x + y"
TOO_LARGE = "a number too large for a float (the largest is about 1.8e308)"

#: The longest expression text parse() reads: over twice a 10^6-term sum (``x + x + ...``,
#: 4 * 10^6 characters) and far more than anyone types. Parsing time and memory grow
#: with the text, so this bounds both; larger circuits come from Composer or a file.
MAX_EXPRESSION_CHARS = 10_000_000

#: How deep Python's parser nests brackets ("too many nested parentheses" past it).
MAX_BRACKET_DEPTH = 200
_BRACKET = re.compile(r"[()\[\]{}]")
_OPEN = "([{"


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
