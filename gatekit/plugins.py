"""Loading plugins: the built-in ones, third-party ones, and files named at run time.

Order of loading:

1. blocked names (``GATEKIT_DISABLE_PLUGINS``), then the hook specs;
2. third-party plugins from the ``gatekit`` entry-point group, each in isolation
   (``GATEKIT_LOAD_PLUGINS`` narrows them to a list; empty means none);
3. the default plugins shipped with gatekit, by import path;
4. extra modules or ``.py`` files (the CLI's ``--plugin``).

Registration then runs in the order defaults, entry points, extras, so that a
third-party gate that takes a built-in's name must say ``override=True``.

A plugin that raises on import, in its hook, or registers something invalid is
recorded as a :class:`~gatekit.registry.LoadError` and every other plugin still
loads; ``GATEKIT_STRICT_PLUGINS=1`` (or ``strict=True``) raises instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import GatekitError, PluginError, PluginLoadError, UsageError
from .registry import LoadError, PluginInfo, Registry

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "load_registry",
    "default_registry",
    "reset_default_registry",
    "plugin_manager",
]

#: The plugins that ship with gatekit: the one place the core names a plugin module.
DEFAULT_PLUGINS = ("gatekit_gates", "gatekit_strategies")
ENTRY_POINT_GROUP = "gatekit"
HOOKS = ("gatekit_register_gates", "gatekit_register_strategies")
KIND_OF_HOOK = {"gatekit_register_gates": "gate", "gatekit_register_strategies": "strategy"}


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("gatekit")
    pm.add_hookspecs(hookspecs)
    return pm


def _gatekit_version() -> str | None:
    try:
        return importlib.metadata.version("gatekit")
    except importlib.metadata.PackageNotFoundError:
        return None


class _Loader:
    """One load: collects plugins in order, then runs their hooks one by one."""

    def __init__(self, env: Mapping[str, str], strict: bool | None):
        self.env = env
        self.strict = _truthy(env.get("GATEKIT_STRICT_PLUGINS")) if strict is None else strict
        self.pm = plugin_manager()
        self.registry = Registry()
        self.order: list[tuple[PluginInfo, Any]] = []
        for name in _names(env.get("GATEKIT_DISABLE_PLUGINS")) or []:
            self.pm.set_blocked(name)

    def fail(self, plugin: str, stage: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, GatekitError) else f"{type(exc).__name__}: {exc}"
        self.registry.load_errors.append(LoadError(plugin, message, stage))
        if self.strict:
            if isinstance(exc, PluginError):
                raise exc
            raise PluginLoadError(f"plugin {plugin!r} failed ({stage}): {message}", plugin=plugin) from exc

    def add(self, info: PluginInfo, module: Any) -> None:
        if self.pm.is_blocked(info.name):
            return
        try:
            self.pm.register(module, name=info.name)
        except Exception as exc:  # pluggy rejects malformed hook implementations
            self.fail(info.name, "import", exc)
            return
        self.order.append((info, module))

    # -- sources ----------------------------------------------------------------------
    def entry_points(self, entry_points: Iterable[Any] | None) -> list[tuple[PluginInfo, Any]]:
        allowed = _names(self.env.get("GATEKIT_LOAD_PLUGINS"))
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        found = []
        seen = set()
        for ep in entry_points:
            if ep.name in seen or self.pm.is_blocked(ep.name):
                continue
            if allowed is not None and ep.name not in allowed:
                continue
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, getattr(dist, "name", None), getattr(dist, "version", None))
            try:
                module = ep.load()
            except Exception as exc:
                self.fail(ep.name, "import", exc)
                continue
            found.append((info, module))
        return found

    def defaults(self) -> list[tuple[PluginInfo, Any]]:
        found = []
        version = _gatekit_version()
        for name in DEFAULT_PLUGINS:
            if self.pm.is_blocked(name):
                continue
            info = PluginInfo(name, "gatekit", version, builtin=True)
            try:
                found.append((info, importlib.import_module(name)))
            except Exception as exc:
                self.fail(name, "import", exc)
        return found

    def extras(self, extras: Iterable[str | ModuleType | Any]) -> list[tuple[PluginInfo, Any]]:
        found = []
        for spec in extras:
            if not isinstance(spec, str):
                name = getattr(spec, "__name__", None) or type(spec).__name__
                found.append((PluginInfo(name), spec))
                continue
            try:
                module = _import_extra(spec)
            except UsageError:
                raise  # a path that does not exist is the user's typo, not a plugin's failure
            except Exception as exc:
                self.fail(spec, "import", exc)
                continue
            found.append((PluginInfo(module.__name__), module))
        return found

    # -- hooks ------------------------------------------------------------------------
    def run_hooks(self) -> None:
        impls: dict[tuple[str, str], Any] = {}
        for hook in HOOKS:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                impls[(impl.plugin_name, hook)] = impl.function
        for info, module in self.order:
            self.registry.plugins.append(info)
            for hook in HOOKS:
                function = impls.get((info.name, hook))
                if function is not None:
                    self.run_hook(info, KIND_OF_HOOK[hook], function)
                elif callable(getattr(module, hook, None)):
                    # pluggy ignores unmarked functions; say so rather than load nothing.
                    self.fail(
                        info.name,
                        "hook",
                        PluginLoadError(f"{hook} is not marked with @gatekit.hookimpl, so it never runs", info.name),
                    )

    def run_hook(self, info: PluginInfo, kind: str, impl: Any) -> None:
        staged: list[tuple[Any, bool]] = []

        def register(obj: Any, override: bool = False) -> None:
            staged.append((obj, bool(override)))

        try:
            impl(register=register)
        except Exception as exc:
            # A hook that fails half-way registers nothing: no half-loaded plugin.
            self.fail(info.name, "hook", exc)
            return
        for obj, override in staged:
            try:
                self.registry.add(kind, obj, info, override=override)
            except PluginError as exc:
                self.fail(info.name, "register", exc)


def _import_extra(spec: str) -> ModuleType:
    """Import a module by dotted name, or a ``.py`` file by path."""
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UsageError(f"plugin file {spec!r} does not exist (give a .py file or an importable module name)")
        name = f"gatekit_plugin_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"plugin file {spec!r} cannot be imported as Python")
        module = importlib.util.module_from_spec(loader_spec)
        module.__name__ = path.stem
        sys.modules[name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    return importlib.import_module(spec)


def load_registry(
    extra: Iterable[str | ModuleType | Any] = (),
    *,
    env: Mapping[str, str] | None = None,
    strict: bool | None = None,
    entry_points: Iterable[Any] | None = None,
    defaults: bool = True,
) -> Registry:
    """A fresh :class:`Registry` filled by every plugin that loads.

    ``extra`` adds modules, module names or ``.py`` paths as plugins (after the
    defaults). ``env`` replaces ``os.environ`` for the ``GATEKIT_*`` switches;
    ``entry_points`` replaces discovery (for tests that want a fixed set).
    """
    loader = _Loader(os.environ if env is None else env, strict)
    sources = []
    third_party = loader.entry_points(entry_points)
    if defaults:
        sources += loader.defaults()
    sources += third_party
    sources += loader.extras(extra)
    for info, module in sources:
        loader.add(info, module)
    loader.run_hooks()
    loader.registry.plugin_manager = loader.pm  # type: ignore[attr-defined]
    return loader.registry


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The registry used when none is given: loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_registry()
        return _default


def reset_default_registry(registry: Registry | None = None) -> None:
    """Forget (or replace) the process-wide registry; the next use reloads it."""
    global _default
    with _default_lock:
        _default = registry
