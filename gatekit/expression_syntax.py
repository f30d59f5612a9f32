"""The Python syntax of an expression: which operator each ast node is, and what is refused.

:mod:`gatekit.expression` walks the ast; this is the table it reads: the operator
symbol of each ``ast`` operator class (the symbols no gate binds included, so the
error can name them), and for each piece of Python an expression may not hold, what
to call it in the error and, where there is one, what to write instead.
"""

from __future__ import annotations

import ast

__all__ = ["BINARY_OPERATORS", "REJECTED_SYNTAX", "UNARY_OPERATORS"]

#: The symbol of each ast operator class, the ones no gate may bind too (``%``, ``//``): the error names them.
BINARY_OPERATORS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
    ast.Mod: "%", ast.MatMult: "@", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
    ast.LShift: "<<", ast.RShift: ">>",
}  # fmt: skip
UNARY_OPERATORS = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}


#: What a rejected piece of syntax is, for the error message (by ast class name).
REJECTED_SYNTAX: dict[str, tuple[str, str | None]] = {
    "Attribute": ("attribute access (a.b) is", None),
    "Subscript": ("subscripts (a[i]) are", None),
    "Slice": ("slices are", None),
    "Lambda": ("lambdas are", None),
    "Compare": ("comparisons (<, ==, ...) are", "use max, min or relu"),
    "BoolOp": ("boolean operators (and, or) are", None),
    "IfExp": ("conditional expressions (a if c else b) are", "use max, min or relu"),
    "NamedExpr": ("assignment expressions (:=) are", "write a stage, name = value"),
    "JoinedStr": ("f-strings are", None),
    "FormattedValue": ("f-strings are", None),
    "Starred": ("starred arguments (*args) are", None),
    "keyword": ("keyword arguments are", "gates take positional arguments, as in max(x, y)"),
    "ListComp": ("comprehensions are", None),
    "SetComp": ("comprehensions are", None),
    "DictComp": ("comprehensions are", None),
    "GeneratorExp": ("generator expressions are", None),
    "List": ("lists are", None),
    "Tuple": ("tuples are", "a circuit has one output"),
    "Set": ("sets are", None),
    "Dict": ("dicts are", None),
    "Await": ("'await' is", None),
    "Yield": ("'yield' is", None),
    "YieldFrom": ("'yield from' is", None),
    "Import": ("imports are", None),
    "ImportFrom": ("imports are", None),
    "FunctionDef": ("function definitions are", None),
    "AsyncFunctionDef": ("function definitions are", None),
    "ClassDef": ("class definitions are", None),
    "Return": ("'return' is", None),
    "Delete": ("'del' is", None),
    "For": ("loops are", None),
    "AsyncFor": ("loops are", None),
    "While": ("loops are", None),
    "If": ("if statements are", "use max, min or relu"),
    "With": ("'with' is", None),
    "AsyncWith": ("'with' is", None),
    "Match": ("'match' is", None),
    "Raise": ("'raise' is", None),
    "Try": ("'try' is", None),
    "TryStar": ("'try' is", None),
    "Assert": ("'assert' is", None),
    "Global": ("'global' is", None),
    "Nonlocal": ("'nonlocal' is", None),
    "Pass": ("'pass' is", None),
    "Break": ("'break' is", None),
    "Continue": ("'continue' is", None),
    "AnnAssign": ("annotations (name: type = value) are", "write name = value"),
    "TypeAlias": ("type aliases are", None),
}
