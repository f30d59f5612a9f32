"""Literal square brackets in help text, for both ways typer shows help.

With rich (typer's default), help is rich markup: ``[dask]`` would be read as a style
and dropped, so a bracket is written escaped (``\\[dask]``). Without rich
(``TYPER_USE_RICH=0``, or rich missing) help is shown as written, and the escape would be
shown too. typer decides once, when it is imported; this follows its decision.
"""

from __future__ import annotations

import typer.core

__all__ = ["literal"]

#: typer's own switch (True unless TYPER_USE_RICH turns rich off).
_RICH = bool(getattr(typer.core, "HAS_RICH", True))


def literal(text: str) -> str:
    """``text`` with each ``[`` shown as a bracket, not read as markup."""
    return text.replace("[", "\\[") if _RICH else text
