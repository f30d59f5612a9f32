"""Extra plugins (the CLI's ``--plugin``): a module name or a ``.py`` file, imported, and the names each answers to.

A typo must not run a stranger's module first: a dotted name whose top is a plain
module is refused before anything is imported, and a file that is missing is the
user's mistake (a :class:`~gatekit.errors.UsageError`), not a plugin's failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import UsageError

__all__ = ["extra_identities", "extra_name", "identities", "import_extra", "is_path"]


def identities(name: str, module: str = "") -> set[str]:
    """What makes two plugins the same: a plugin name or a module, with '-' and '_' alike."""
    keys = {name, name.replace("-", "_")}
    module = module.split(":")[0].strip()
    if module:
        keys |= {module, module.split(".")[0]}
    return keys


def extra_identities(extra: Iterable[Any]) -> dict[str, str]:
    """Each name an extra plugin answers to (its name or module), mapped to how it was given."""
    found: dict[str, str] = {}
    for spec in extra:
        if isinstance(spec, str):
            name = extra_name(spec)
            found.update({key: spec for key in identities(name, "" if is_path(spec) else spec)})
        else:
            try:
                module_name = getattr(spec, "__name__", None)
            except Exception:  # a hostile object: the loader reports it; it replaces nothing
                module_name = None
            if isinstance(module_name, str):
                found.update({key: module_name for key in identities(module_name, module_name)})
    return found


def is_path(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def extra_name(spec: str) -> str:
    """The plugin name of an extra: a file's stem (as when it loads), or the module name."""
    return Path(spec).stem if is_path(spec) else spec


def import_extra(spec: str) -> ModuleType:
    """Import a module by dotted name, or a ``.py`` file by path."""
    if is_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UsageError(f"plugin file {spec!r} does not exist (give a .py file or an importable module name)")
        name = f"gatekit_plugin_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"plugin file {spec!r} cannot be imported as Python")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        # Renamed only now: the file loader refuses a module whose name it was not given.
        module.__name__ = path.stem  # the plugin's name is the file's stem
        return module
    _check_parents(spec)
    return importlib.import_module(spec)


def _check_parents(spec: str) -> None:
    """Refuse ``this.module.x`` when ``this`` is a plain module, before importing anything.

    ``import_module`` imports each parent first, so a typo would run an unrelated
    module (``this`` prints the Zen of Python) before failing.
    """
    top = spec.split(".")[0]
    if "." not in spec or top in sys.modules:
        return  # nothing to run before the module itself (an imported parent has run already)
    try:
        found = importlib.util.find_spec(top)  # a top-level name is found without importing it
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ModuleNotFoundError(f"No module named {top!r}", name=top)
    if found.submodule_search_locations is None:
        raise UsageError(f"plugin module {spec!r} cannot be found: {top!r} is a module, not a package, "
                         "so it holds no submodules (give a .py file or an importable module name)")
