"""``gatekit plugin new NAME``: a ready plugin distribution, written from templates.

The templates (``gatekit/scaffold_templates/``, shipped as package data) make a
distribution that installs and passes its own tests as written: a pyproject with the
entry point and hatchling as build backend, one gate, one strategy, tests through
gatekit's pytest plugin, and a README. ``NAME`` is the distribution's name and the
plugin's (``my-gates``); the package is the same with underscores (``my_gates``).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; gatekit runs on 3.10 too
    from importlib.resources.abc import Traversable

__all__ = ["new_plugin", "DISTRIBUTION_NAME"]

#: What a new plugin may be called: a valid distribution name that is also a module name once '-' is '_'.
DISTRIBUTION_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")

GATE, GATE_CLASS = "softsign", "Softsign"
STRATEGY, STRATEGY_CLASS = "sign-step", "SignStep"


def _templates(folder: Traversable, prefix: str = "") -> list[tuple[str, str]]:
    """Every template under ``folder`` as (relative path without .tmpl, text), files before folders."""
    found = []
    for item in sorted(folder.iterdir(), key=lambda t: (t.is_dir(), t.name)):
        if item.is_dir():
            found += _templates(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".tmpl"):
            found.append((prefix + item.name[: -len(".tmpl")], item.read_text(encoding="utf-8")))
    return found


def new_plugin(name: str, directory: str | Path | None = None) -> list[Path]:
    """Write a new plugin distribution called ``name`` into ``directory`` (default ``./name``).

    Returns the files written. Refuses a bad name, and a directory that exists and is not
    empty (nothing is ever overwritten).
    """
    if not isinstance(name, str) or not DISTRIBUTION_NAME.match(name):
        raise UsageError(f"plugin name {name!r} is not valid: lowercase letters and digits, words joined by "
                         "'-' or '_', a letter first (e.g. my-gates)")
    package = name.replace("-", "_")
    if package in ("gatekit", "gatekit_gates", "gatekit_strategies", "tests"):
        raise UsageError(f"plugin name {name!r} would shadow the module {package!r}; choose another (e.g. my-gates)")
    target = Path(name if directory is None else directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{str(target)!r} already exists and is not an empty folder; nothing was written "
                         "(give another NAME or --dir)")
    values = {"dist": name, "package": package, "gate": GATE, "gate_class": GATE_CLASS, "strategy": STRATEGY,
              "strategy_class": STRATEGY_CLASS, "strategy_name_py": STRATEGY.replace("-", "_")}
    written = []
    for relative, text in _templates(files("gatekit") / "scaffold_templates"):
        relative = relative.replace("package/", f"{package}/", 1) if relative.startswith("package/") else relative
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
        written.append(path)
    return written
