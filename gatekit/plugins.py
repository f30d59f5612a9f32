"""Loading plugins: the built-in ones, third-party ones, and files named at run time.

Order of loading:

1. blocked names (``GATEKIT_DISABLE_PLUGINS``), then the hook specs;
2. third-party plugins from the ``gatekit`` entry-point group, each in isolation
   (``GATEKIT_LOAD_PLUGINS`` narrows them to a list; empty means none);
3. the default plugins shipped with gatekit, by import path;
4. extra modules or ``.py`` files (the CLI's ``--plugin``; imported by :mod:`gatekit.extra_plugins`).

Registration then runs in the order defaults, entry points, extras, so that a
third-party gate that takes a built-in's name must say ``override=True``.

A plugin that raises on import, in its hook, or registers something invalid is
recorded as a :class:`~gatekit.registry.LoadError` and every other plugin still
loads; ``GATEKIT_STRICT_PLUGINS=1`` (or ``strict=True``) raises instead. What would
otherwise load nothing without a word is a load error too: a hook function not
marked with ``@gatekit.hookimpl``, a marked function whose name is no gatekit hook,
a name in ``GATEKIT_LOAD_PLUGINS`` that is not installed, and a plugin name that two
distributions claim.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from ._version import __version__
from .containment import captured_output, describe, is_user_interrupt
from .errors import GatekitError, PluginError, PluginLoadError, UsageError, did_you_mean
from .extra_plugins import extra_identities, extra_name, identities, import_extra, is_path
from .registry import LoadError, PluginInfo, PluginMessage, Registry

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "load_registry",
    "default_registry",
    "reset_default_registry",
    "plugin_manager",
    "installed_entry_points",
]

#: The plugins that ship with gatekit: the one place the core names a plugin module.
DEFAULT_PLUGINS = ("gatekit_gates", "gatekit_strategies")
ENTRY_POINT_GROUP = "gatekit"
HOOKS = ("gatekit_register_gates", "gatekit_register_strategies")
KIND_OF_HOOK = {"gatekit_register_gates": "gate", "gatekit_register_strategies": "strategy"}


def installed_entry_points() -> list[Any]:
    """Every entry point of the ``gatekit`` group that is installed: the one place discovery happens.

    Tests replace it (see :mod:`gatekit.pytest_plugin`) so that what a user has
    installed never leaks into a test run.
    """
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


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
    return __version__  # the built-ins ship in gatekit's distribution: its version, even uninstalled


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

    def fail(self, plugin: str, stage: str, exc: BaseException, cause: BaseException | None = None) -> None:
        """Record a load error; in strict mode raise it (as a PluginError naming the plugin)."""
        message = str(exc) if isinstance(exc, GatekitError) else _exc_text(exc)
        self.registry.load_errors.append(LoadError(plugin, message, stage))
        if self.strict:
            if isinstance(exc, PluginError) and repr(plugin) in message:
                raise exc from cause
            # The CLI shows only the message: it must name the plugin ("gatekit_register_gates raised ..." does not).
            raise PluginLoadError(
                f"plugin {plugin!r} failed ({stage}): {message}", plugin=plugin
            ) from (exc if cause is None else cause)

    def capturing(self, plugin: str, stage: str) -> contextlib.AbstractContextManager[None]:
        """What plugin code prints or warns meanwhile becomes the plugin's messages (one line each)."""
        return captured_output(lambda line: self.registry.messages.append(PluginMessage(plugin, line, stage)))

    def add(self, info: PluginInfo, module: Any) -> None:
        if self.pm.is_blocked(info.name):
            return
        if self.pm.is_registered(module):
            loaded_as = self.pm.get_name(module)
            if loaded_as != info.name:
                self.fail(info.name, "import", PluginLoadError(
                    f"plugin {info.name!r} is the module already loaded as plugin {loaded_as!r}; it loads once, "
                    f"as {loaded_as!r}", info.name))
            return  # the same plugin given twice: once is enough
        holder = self.pm.get_plugin(info.name)
        if holder is not None:
            where = getattr(module, "__file__", None) or f"an object of type {type(module).__name__}"
            self.fail(info.name, "import", PluginLoadError(
                f"two plugins are named {info.name!r}; the one from {where} was not loaded (rename one of them)",
                info.name))
            return
        try:
            self.pm.register(module, name=info.name)
        except BaseException as exc:  # pluggy rejects malformed hook implementations
            if is_user_interrupt(exc):
                raise
            self.fail(info.name, "import", exc)
            return
        self.order.append((info, module))
        # pluggy accepts a marked function for a hook nobody specified (a typo such as
        # gatekit_register_gate) and never calls it: report it instead of loading nothing.
        for caller in self.pm.get_hookcallers(module) or []:
            if caller.name not in HOOKS:
                hint = "; " + did_you_mean(caller.name, HOOKS, f"gatekit's hooks are {', '.join(HOOKS)}")
                self.fail(info.name, "hook", PluginLoadError(f"{caller.name} is not a gatekit hook{hint}", info.name))

    # -- sources ----------------------------------------------------------------------
    def entry_points(self, entry_points: Iterable[Any] | None,
                     replaced: Mapping[str, str] | None = None) -> list[tuple[PluginInfo, Any]]:
        allowed = _names(self.env.get("GATEKIT_LOAD_PLUGINS"))
        replaced = replaced or {}
        if entry_points is None:
            entry_points = installed_entry_points()
        found = []
        seen: dict[str, PluginInfo] = {}
        available = set()
        for ep in entry_points:
            available.add(ep.name)
            if self.pm.is_blocked(ep.name):
                continue
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, getattr(dist, "name", None), getattr(dist, "version", None))
            spec = None if not replaced else next(
                (replaced[key] for key in identities(ep.name, str(getattr(ep, "value", ""))) if key in replaced), None)
            if spec is not None:
                # The dev loop: the author's working copy, given with --plugin, wins for this run.
                self.registry.notices.append(
                    f"plugin {spec!r} replaces the installed plugin {ep.name!r} ({_origin(info)}) for this run")
                continue
            if ep.name in seen:
                # Two distributions claim one plugin name: load the first, never silently.
                self.fail(ep.name, "import", PluginLoadError(
                    f"plugin name {ep.name!r} is also provided by {_origin(seen[ep.name])}; "
                    f"{_origin(info)} was not loaded (uninstall one of them)", ep.name))
                continue
            seen[ep.name] = info
            try:
                with self.capturing(ep.name, "import"):
                    module = ep.load()
            except BaseException as exc:  # one broken plugin never takes the rest down
                if is_user_interrupt(exc):
                    raise
                self.fail(ep.name, "import", exc)
                continue
            found.append((info, module))
        for name in allowed or []:
            if name not in available and name not in DEFAULT_PLUGINS:
                shown = ", ".join(sorted(available)) or "none"
                self.fail(name, "import", PluginLoadError(
                    f"plugin {name!r} is named in GATEKIT_LOAD_PLUGINS but not installed "
                    f"(installed third-party plugins: {shown})", name))
        return found

    def defaults(self) -> list[tuple[PluginInfo, Any]]:
        found = []
        version = _gatekit_version()
        for name in DEFAULT_PLUGINS:
            if self.pm.is_blocked(name):
                continue
            info = PluginInfo(name, "gatekit", version, builtin=True)
            try:
                with self.capturing(name, "import"):
                    found.append((info, importlib.import_module(name)))
            except BaseException as exc:
                if is_user_interrupt(exc):
                    raise
                self.fail(name, "import", exc)
        return found

    def extras(self, extras: Iterable[str | ModuleType | Any]) -> list[tuple[PluginInfo, Any]]:
        found = []
        seen: set[str] = set()
        for spec in extras:
            if isinstance(spec, str):
                key = os.path.realpath(Path(spec).expanduser()) if is_path(spec) else spec
                if key in seen:
                    continue  # the same file or module named twice: imported once
                seen.add(key)
            if not isinstance(spec, str):
                name = getattr(spec, "__name__", None) or type(spec).__name__
                found.append((PluginInfo(name), spec))
                continue
            try:
                with self.capturing(extra_name(spec), "import"):
                    module = import_extra(spec)
            except UsageError:
                raise  # a path that does not exist is the user's typo, not a plugin's failure
            except ModuleNotFoundError as exc:
                if exc.name is not None and (spec == exc.name or spec.startswith(exc.name + ".")):
                    # The named module itself is missing (a typo), not one the plugin imports.
                    raise UsageError(
                        f"plugin module {spec!r} cannot be found (give a .py file or an importable module name)"
                    ) from None
                self.fail(extra_name(spec), "import", exc)
                continue
            except BaseException as exc:
                if is_user_interrupt(exc):
                    raise
                self.fail(extra_name(spec), "import", exc)
                continue
            found.append((PluginInfo(module.__name__), module))
        return found

    # -- hooks ------------------------------------------------------------------------
    def run_hooks(self) -> None:
        impls: dict[tuple[str, str], Any] = {}
        for hook in HOOKS:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.hookwrapper or getattr(impl, "wrapper", False):
                    impls[(impl.plugin_name, hook)] = None  # reported here, not again as unmarked
                    # Called directly, a wrapper only makes a generator: it would register nothing.
                    self.fail(impl.plugin_name, "hook", PluginLoadError(
                        f"{hook} is marked as a hook wrapper; gatekit calls each plugin's hook on its own, "
                        "so use a plain @gatekit.hookimpl", impl.plugin_name))
                    continue
                impls[(impl.plugin_name, hook)] = impl.function
        for info, module in self.order:
            self.registry.plugins.append(info)
            for hook in HOOKS:
                key = (info.name, hook)
                function = impls.get(key)
                if function is not None:
                    self.run_hook(info, hook, function)
                elif key not in impls and callable(_plugin_attribute(module, hook)):
                    # pluggy ignores unmarked functions; say so rather than load nothing.
                    self.fail(
                        info.name,
                        "hook",
                        PluginLoadError(f"{hook} is not marked with @gatekit.hookimpl, so it never runs", info.name),
                    )

    def run_hook(self, info: PluginInfo, hook: str, impl: Any) -> None:
        kind = KIND_OF_HOOK[hook]
        staged: list[tuple[Any, bool]] = []

        def register(obj: Any, override: bool = False) -> None:
            staged.append((obj, bool(override)))

        try:
            with self.capturing(info.name, "hook"):
                impl(register=register)
        except BaseException as exc:
            if is_user_interrupt(exc):
                raise
            # A hook that fails half-way registers nothing: no half-loaded plugin.
            self.fail(info.name, "hook", PluginLoadError(f"{hook} raised {_exc_text(exc)}", info.name), cause=exc)
            return
        for obj, override in staged:
            try:
                self.registry.add(kind, obj, info, override=override)
            except PluginError as exc:
                self.fail(info.name, "register", exc)
            except BaseException as exc:  # e.g. a gate whose attributes raise when read
                if is_user_interrupt(exc):
                    raise
                self.fail(info.name, "register", PluginLoadError(
                    f"registering a {kind} in {hook} raised {_exc_text(exc)}", info.name), cause=exc)


def _plugin_attribute(module: Any, name: str) -> Any:
    """``getattr(module, name, None)``, also when the module's ``__getattr__`` raises."""
    try:
        return getattr(module, name, None)
    except BaseException as exc:
        if is_user_interrupt(exc):
            raise
        return None


def _exc_text(exc: BaseException) -> str:
    return describe(exc)


def _origin(info: PluginInfo) -> str:
    if info.distribution is None:
        return "an unknown distribution"
    return f"distribution {info.distribution!r}" + (f" {info.version}" if info.version else "")


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
    extra = list(extra)
    sources = []
    third_party = loader.entry_points(entry_points, extra_identities(extra))
    if defaults:
        sources += loader.defaults()
    sources += third_party
    sources += loader.extras(extra)
    for info, module in sources:
        loader.add(info, module)
    loader.run_hooks()
    loader.registry.plugin_manager = loader.pm
    return loader.registry


_default: Registry | None = None
_default_lock = threading.RLock()
_loading = threading.local()


def default_registry() -> Registry:
    """The registry used when none is given: loaded once per process.

    A plugin's hook that asks for it while it is being loaded (to build a composite
    gate, say) gets a clear error, recorded as that plugin's load error, rather than
    a registry half filled or a lock that never opens.
    """
    global _default
    with _default_lock:
        if _default is None:
            if getattr(_loading, "active", False):
                raise PluginLoadError(
                    "the default registry was asked for while plugins are still loading into it; inside a "
                    "hook, build circuits against a registry of your own: "
                    "gatekit.Composer(gatekit.load_registry(env={}, entry_points=()))"
                )
            _loading.active = True
            try:
                _default = load_registry()
            finally:
                _loading.active = False
        return _default


def reset_default_registry(registry: Registry | None = None) -> None:
    """Forget (or replace) the process-wide registry; the next use reloads it."""
    global _default
    with _default_lock:
        _default = registry
