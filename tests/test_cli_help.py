"""Every command's help shows its square brackets: rich reads ``[dask]`` as markup and drops it.

The help texts are read from the click command tree (commands, options, arguments), so a
new command or option is covered without being listed here; each is rendered by the real
``--help``, the way a user sees it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from cli_helpers import invoke
from gatekit.cli import app

#: A bracketed word as a user should read it: ``gatekit[dask]``, ``[x, y]``.
_BRACKETED = re.compile(r"\S*\[[^\]\n]*\]\S*")


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group under the root, with the words that reach it (a loop, not recursion)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    pending: list[tuple[tuple[str, ...], Any]] = [((), typer.main.get_command(app))]
    while pending:
        path, command = pending.pop()
        found.append((path, command))
        # typer vendors its own click: a group is known by its commands, not by a class.
        pending.extend((path + (name,), sub) for name, sub in getattr(command, "commands", {}).items())
    return sorted(found, key=lambda item: item[0])


def _help_texts(command: Any) -> list[str]:
    texts: list[Any] = [command.help, command.epilog]
    texts += [getattr(param, "help", None) for param in command.params]
    return [text for text in texts if text]


def _shown(text: str) -> str:
    """What the user should read: rich's escape ``\\[`` is shown as ``[``; whitespace as one space."""
    return " ".join(text.replace("\\[", "[").split())


def _rendered(words: tuple[str, ...]) -> str:
    result = invoke(*words, "--help", env={"COLUMNS": "100", "TERM": "dumb"})
    assert result.exit_code == 0, (words, result.stdout, result.stderr)
    return " ".join(result.stdout.replace("\u2502", " ").split())  # panels' borders out, lines joined


COMMANDS = _commands()


@pytest.mark.parametrize("words, command", COMMANDS, ids=[" ".join(w) or "gatekit" for w, _ in COMMANDS])
def test_square_brackets_in_help_are_shown_not_swallowed(words, command):
    rendered = _rendered(words)
    for text in _help_texts(command):
        for bracketed in _BRACKETED.findall(_shown(text)):
            assert bracketed in rendered, (words, bracketed, rendered)


def test_run_help_names_the_dask_extra():
    assert "gatekit[dask]" in _rendered(("run",))


def test_the_help_texts_hold_brackets_at_all():
    # The parametrized test finds nothing to check if no help text has a bracket: make sure some do.
    assert sum(bool(_BRACKETED.search(_shown(t))) for _, c in COMMANDS for t in _help_texts(c)) >= 3


def test_without_rich_the_brackets_are_shown_without_their_escape():
    # TYPER_USE_RICH=0: typer shows help as written, so gatekit writes no escape into it.
    import os
    import subprocess
    import sys

    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "100"}
    shown = subprocess.run([sys.executable, "-m", "gatekit", "run", "--help"], capture_output=True, text=True, env=env,
                           check=True).stdout
    assert "gatekit[dask]" in " ".join(shown.split()) and "\\[" not in shown
