"""Words that start with a dash but are arguments: ``gatekit run '-tanh(x)' x=1``.

The commands that take expressions and numbers accept unknown option-like words as
arguments (``ignore_unknown_options``), so ``-x * 2`` and ``-3`` reach them. But click
reads any word of one dash as a cluster of short options and acts on the letters it
knows: ``-tanh(x)`` holds an ``h``, so it printed the help and exited 0; in ``gatekit
graph '-cos(x)'`` the ``o`` took ``s(x)`` as the output file. gatekit has no clusters
of short options (its only short options are ``-h`` and ``graph``'s ``-o``), so a word
of one dash longer than two characters is an argument, never a cluster: it is hidden
from click's parser behind a mark and given back unchanged once the line is parsed.
``-ofile.svg`` (a short option with its value attached) keeps click's meaning.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hide_dash_words", "restore_dash_words"]

#: A NUL cannot be in a command-line word (argv is C strings), so nothing typed starts with it.
_MARK = "\x00"


def _value_options(command: Any) -> tuple[set[str], set[str]]:
    """The command's option names that take a value, and all of its option names."""
    takes_value: set[str] = set()
    names: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", None) != "option":
            continue
        opts = [*param.opts, *getattr(param, "secondary_opts", [])]
        names.update(opts)
        if not getattr(param, "is_flag", False) and not getattr(param, "count", False):
            takes_value.update(opts)
    return takes_value, names


def hide_dash_words(command: Any, args: list[str]) -> list[str]:
    """``args`` with every one-dash argument word marked, so click's parser passes it on."""
    takes_value, names = _value_options(command)
    short_with_value = {n for n in takes_value if len(n) == 2 and n[1] != "-"}
    out: list[str] = []
    words = iter(args)
    for word in words:
        out.append(word)
        if word == "--":
            out.extend(words)  # click's own end of options: everything after is an argument
            break
        if word in takes_value:  # its value is the next word, whatever it looks like
            value = next(words, None)
            if value is not None:
                out.append(value)
            continue
        if (word.startswith("-") and not word.startswith("--") and len(word) > 2
                and word not in names and word[:2] not in short_with_value):
            out[-1] = _MARK + word
    return out


def _restore(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_MARK):
        return value[len(_MARK):]
    if isinstance(value, (list, tuple)):
        return type(value)(_restore(v) for v in value)
    return value


def restore_dash_words(ctx: Any, rest: list[str]) -> list[str]:
    """Take the marks off again: in the parsed arguments and in the words click left over."""
    for name, value in list(ctx.params.items()):
        ctx.params[name] = _restore(value)
    return [_restore(w) for w in rest]
