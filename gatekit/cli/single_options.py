"""An option that takes one value, given twice, is a usage error, not "the last one wins".

click keeps the last of ``--steps 1 --steps 2`` without a word, so a typo or a pasted
command line silently runs with another value than the one the user read. Every command
of the app is given :class:`OneValueEach` as its class (:func:`refuse_repeated_options`),
which asks click's own parser which options it saw and how often, before the usual parse.
Options that may repeat (``--plugin``, ``--hold``, ``--option``, ``--strategy`` of
``compare``) and flags (``--json``) are not touched.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

from .dash_words import hide_dash_words, restore_dash_words

__all__ = ["OneValueEach", "refuse_repeated_options"]


def _takes_one_value(param: Any) -> bool:
    return (getattr(param, "param_type_name", None) == "option" and not getattr(param, "multiple", False)
            and not getattr(param, "is_flag", False) and not getattr(param, "count", False))


class OneValueEach(TyperCommand):
    """A command whose one-value options may each be given once (and whose one-dash words are arguments)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        dash_words = bool(ctx.ignore_unknown_options)  # commands that take expressions and numbers
        if dash_words:
            args = hide_dash_words(self, args)  # '-tanh(x)' is an argument, not options -t -a -n -h
        if not ctx.resilient_parsing:  # shell completion parses half-typed lines: leave them be
            try:
                _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            except Exception:  # a malformed line: the real parse below says what is wrong
                order = []
            seen: set[int] = set()
            for param in order:
                if _takes_one_value(param):
                    if id(param) in seen:
                        names = "/".join(param.opts)
                        ctx.fail(f"{names} is given more than once; it takes one value, so give it once")
                    seen.add(id(param))
        rest = super().parse_args(ctx, args)
        return restore_dash_words(ctx, rest) if dash_words else rest


def refuse_repeated_options(app: typer.Typer) -> None:
    """Make every command of ``app`` (and of its sub-apps) a :class:`OneValueEach`."""
    todo = [app]
    while todo:
        current = todo.pop()
        for command in current.registered_commands:
            if command.cls in (None, TyperCommand):  # typer's default (None in older typers)
                command.cls = OneValueEach
        todo.extend(group.typer_instance for group in current.registered_groups if group.typer_instance)
