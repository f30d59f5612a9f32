"""Loading plugins (gatekit/plugins.py): isolation, environment switches, entry points.

Third-party plugins come from tests/fixtures/plugins, loaded three ways: as ``.py``
paths (the CLI's ``--plugin``), as ``importlib.metadata.EntryPoint`` objects handed to
``load_registry(entry_points=...)``, and through real discovery of a ``*.dist-info``
folder put on ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import gatekit
from gatekit import UsageError, default_registry, load_registry
from gatekit.errors import GateValidationError, NameConflictError, PluginLoadError
from gatekit.plugins import reset_default_registry
from gatekit.registry import PluginInfo
from gatekit.plugins import DEFAULT_PLUGINS

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"
BUILTIN_GATE_COUNT = 19


def fixture(name: str) -> str:
    return str(FIXTURES / f"{name}.py")


def errors_of(registry: gatekit.Registry, plugin: str) -> list[gatekit.registry.LoadError]:
    return [e for e in registry.load_errors if e.plugin == plugin]


def third_party(registry: gatekit.Registry) -> list[str]:
    return [p.name for p in registry.plugins if not p.builtin]


@pytest.fixture
def importable(monkeypatch):
    """tests/fixtures/plugins on sys.path; the modules imported from it are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None)
        if module_file and Path(module_file).parent == FIXTURES:
            sys.modules.pop(name, None)


def ep(name: str, module: str) -> EntryPoint:
    return EntryPoint(name=name, value=module, group="gatekit")


# -- the built-ins ---------------------------------------------------------------------------


def test_the_builtin_plugins_load_without_errors():
    registry = load_registry(env={}, entry_points=())
    assert registry.load_errors == []
    assert [p.name for p in registry.plugins] == list(DEFAULT_PLUGINS)
    assert all(p.builtin and p.distribution == "gatekit" for p in registry.plugins)
    assert len(registry.gate_names()) == BUILTIN_GATE_COUNT
    assert registry.provided_by("gatekit_gates")["gate"] == registry.gate_names()


def test_every_load_has_its_own_plugin_manager():
    first = load_registry([fixture("overrides_mul")], env={}, entry_points=())
    second = load_registry(env={}, entry_points=())
    assert first.plugin_manager is not second.plugin_manager
    assert first.plugin_manager.get_plugin("overrides_mul") is not None
    assert second.plugin_manager.get_plugin("overrides_mul") is None
    assert second.entry("gate", "mul").plugin.name == "gatekit_gates"  # nothing leaked


def test_a_good_plugin_loads_beside_the_builtins():
    registry = load_registry([fixture("good_plugin")], env={}, entry_points=())
    assert errors_of(registry, "good_plugin") == []
    entry = registry.entry("gate", "cube")
    assert entry.plugin == PluginInfo("good_plugin")
    assert registry.provided_by("good_plugin") == {"gate": ["cube"], "strategy": []}
    assert len(registry.gate_names()) == BUILTIN_GATE_COUNT + 1
    assert third_party(registry) == ["good_plugin"]


# -- isolation: one broken plugin never takes the rest down ----------------------------------------


def test_a_plugin_that_raises_on_import():
    registry = load_registry([fixture("raises_on_import"), fixture("good_plugin")], env={}, entry_points=())
    [error] = errors_of(registry, "raises_on_import")
    assert error.stage == "import"
    assert error.message == "RuntimeError: raises_on_import fails on purpose while being imported"
    assert "cube" in registry and len(registry.gate_names()) == BUILTIN_GATE_COUNT + 1
    assert "raises_on_import" not in third_party(registry)


def test_an_entry_point_that_raises_on_import(importable):
    registry = load_registry(env={}, entry_points=[ep("broken", "raises_on_import"), ep("good", "good_plugin")])
    [error] = errors_of(registry, "broken")
    assert error.stage == "import" and "RuntimeError" in error.message
    assert registry.entry("gate", "cube").plugin.name == "good"


def test_an_entry_point_naming_a_missing_module(importable):
    registry = load_registry(env={}, entry_points=[ep("ghost", "gatekit_test_no_such_module")])
    [error] = errors_of(registry, "ghost")
    assert error.stage == "import" and "ModuleNotFoundError" in error.message


def test_a_plugin_whose_hook_raises_registers_nothing():
    registry = load_registry([fixture("hook_raises"), fixture("good_plugin")], env={}, entry_points=())
    [error] = errors_of(registry, "hook_raises")
    assert error.stage == "hook"
    assert error.message == "gatekit_register_gates raised ValueError: hook_raises fails on purpose inside its hook"
    assert "halfway" not in registry  # registered before the raise, dropped with it
    assert "cube" in registry
    assert "hook_raises" in third_party(registry)  # it loaded; its hook failed


def test_a_plugin_that_registers_junk():
    registry = load_registry([fixture("registers_junk"), fixture("good_plugin")], env={}, entry_points=())
    junk_string, junk_class = errors_of(registry, "registers_junk")
    assert junk_string.stage == junk_class.stage == "register"
    assert "'not a gate' is not a gate" in junk_string.message
    assert "got the class Junk, not an instance (register Junk())" in junk_class.message
    assert "junk" not in registry and "cube" in registry


def test_a_plugin_that_exits_on_import_is_contained(tmp_path):
    plugin = tmp_path / "exits.py"
    plugin.write_text("import sys\nsys.exit(3)\n")
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "exits")
    assert error.message == "SystemExit: 3"


def test_a_gate_whose_attributes_raise_is_a_load_error(tmp_path):
    plugin = tmp_path / "moody.py"
    plugin.write_text(textwrap.dedent("""
        import gatekit

        class Moody:
            arity, doc = 1, "moody(x) = x"
            @property
            def name(self):
                raise RuntimeError("no name today")
            def forward(self, x): return x
            def backward(self, grad, out, x): return (grad,)

        @gatekit.hookimpl
        def gatekit_register_gates(register):
            register(Moody())
    """))
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "moody")
    assert error.stage == "register" and "name is missing" in error.message


# -- names taken twice ---------------------------------------------------------------------------------


def test_taking_a_builtin_name_without_override_names_both_plugins():
    registry = load_registry([fixture("takes_builtin_name")], env={}, entry_points=())
    [error] = errors_of(registry, "takes_builtin_name")
    assert error.stage == "register"
    assert "'takes_builtin_name'" in error.message and "'gatekit_gates'" in error.message
    assert "override=True" in error.message
    assert registry.entry("gate", "mul").plugin.name == "gatekit_gates"


def test_two_third_party_plugins_with_one_gate_name(tmp_path):
    source = (FIXTURES / "good_plugin.py").read_text()
    (tmp_path / "other_cubes.py").write_text(source)
    registry = load_registry([fixture("good_plugin"), str(tmp_path / "other_cubes.py")], env={}, entry_points=())
    [error] = errors_of(registry, "other_cubes")
    assert "gate 'cube' from plugin 'other_cubes' conflicts with the one from plugin 'good_plugin'" in error.message
    assert registry.entry("gate", "cube").plugin.name == "good_plugin"


def test_an_override_on_purpose():
    registry = load_registry([fixture("overrides_mul")], env={}, entry_points=())
    assert registry.load_errors == []
    entry = registry.entry("gate", "mul")
    assert entry.plugin.name == "overrides_mul" and entry.overrides.name == "gatekit_gates"
    assert type(entry.obj).__name__ == "OverridingMul"
    assert registry.operator("*", 2) is entry.obj
    out = entry.obj.forward(1.0, -3.0)
    assert (out, entry.obj.backward(1.0, out, 1.0, -3.0)) == (-3.0, (-3.0, 1.0))


def test_the_same_module_under_two_plugin_names(importable):
    registry = load_registry(env={}, entry_points=[ep("one", "good_plugin"), ep("two", "good_plugin")])
    [error] = errors_of(registry, "two")
    assert error.stage == "import"
    assert registry.entry("gate", "cube").plugin.name == "one"


# -- hooks that would silently do nothing ---------------------------------------------------------------


def test_an_unmarked_hook_function(tmp_path):
    plugin = tmp_path / "unmarked.py"
    plugin.write_text("def gatekit_register_gates(register):\n    raise AssertionError('never called')\n")
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "unmarked")
    assert error.stage == "hook"
    assert "gatekit_register_gates is not marked with @gatekit.hookimpl" in error.message


def test_a_hook_marked_for_another_project_counts_as_unmarked(tmp_path):
    plugin = tmp_path / "other_project.py"
    plugin.write_text(
        "import pluggy\nhookimpl = pluggy.HookimplMarker('llm')\n"
        "@hookimpl\ndef gatekit_register_gates(register):\n    pass\n"
    )
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "other_project")
    assert "not marked with @gatekit.hookimpl" in error.message


def test_a_misspelt_hook_name(tmp_path):
    plugin = tmp_path / "misspelt.py"
    plugin.write_text("import gatekit\n@gatekit.hookimpl\ndef gatekit_register_gate(register):\n    pass\n")
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "misspelt")
    assert error.stage == "hook"
    assert error.message == "gatekit_register_gate is not a gatekit hook; did you mean 'gatekit_register_gates' or 'gatekit_register_strategies'?"


def test_a_hook_with_the_wrong_argument_name(tmp_path):
    plugin = tmp_path / "wrong_argument.py"
    plugin.write_text("import gatekit\n@gatekit.hookimpl\ndef gatekit_register_gates(add):\n    pass\n")
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "wrong_argument")
    assert error.stage == "import" and "add" in error.message


def test_a_hook_wrapper_is_refused(tmp_path):
    plugin = tmp_path / "wrapper.py"
    plugin.write_text(
        "import gatekit\n@gatekit.hookimpl(wrapper=True)\n"
        "def gatekit_register_gates(register):\n    return (yield)\n"
    )
    registry = load_registry([str(plugin)], env={}, entry_points=())
    [error] = errors_of(registry, "wrapper")
    assert error.stage == "hook" and "hook wrapper" in error.message


# -- GATEKIT_DISABLE_PLUGINS -------------------------------------------------------------------------


def test_a_blocked_plugin_is_never_loaded():
    registry = load_registry([fixture("good_plugin")], env={"GATEKIT_DISABLE_PLUGINS": "good_plugin"}, entry_points=())
    assert "cube" not in registry and third_party(registry) == [] and registry.load_errors == []


def test_a_blocked_entry_point_is_never_imported(importable):
    env = {"GATEKIT_DISABLE_PLUGINS": " broken , other "}
    registry = load_registry(env=env, entry_points=[ep("broken", "raises_on_import"), ep("good", "good_plugin")])
    assert registry.load_errors == []  # raises_on_import was never imported
    assert "raises_on_import" not in sys.modules
    assert third_party(registry) == ["good"]


def test_blocking_the_builtin_gates():
    registry = load_registry(env={"GATEKIT_DISABLE_PLUGINS": "gatekit_gates"}, entry_points=())
    assert registry.gate_names() == []
    assert "gatekit_gates" not in [p.name for p in registry.plugins]
    with pytest.raises(gatekit.UnknownNameError):
        registry.gate("mul")


def test_blocking_the_builtin_gates_frees_their_names():
    # With the built-ins off, a plugin may take "mul" without saying override.
    env = {"GATEKIT_DISABLE_PLUGINS": "gatekit_gates"}
    registry = load_registry([fixture("takes_builtin_name")], env=env, entry_points=())
    assert registry.load_errors == [] and registry.entry("gate", "mul").plugin.name == "takes_builtin_name"


# -- GATEKIT_LOAD_PLUGINS ------------------------------------------------------------------------------


ENTRY_POINTS = [("good", "good_plugin"), ("badgrad", "wrong_backward"), ("broken", "raises_on_import")]


@pytest.mark.parametrize(
    ("allow", "loaded", "failed"),
    [
        (None, ["good", "badgrad"], ["broken"]),  # unset: all
        ("", [], []),  # empty: none
        ("good", ["good"], []),
        ("good,broken", ["good"], ["broken"]),
        (" badgrad , good ", ["good", "badgrad"], []),
    ],
)
def test_the_allow_list(importable, allow, loaded, failed):
    env = {} if allow is None else {"GATEKIT_LOAD_PLUGINS": allow}
    registry = load_registry(env=env, entry_points=[ep(n, m) for n, m in ENTRY_POINTS])
    assert third_party(registry) == loaded
    assert sorted(e.plugin for e in registry.load_errors) == failed
    assert len([n for n in registry.gate_names() if registry.entry("gate", n).plugin.builtin]) == BUILTIN_GATE_COUNT


def test_the_allow_list_does_not_touch_the_builtins_or_extras():
    registry = load_registry([fixture("good_plugin")], env={"GATEKIT_LOAD_PLUGINS": ""}, entry_points=())
    assert "cube" in registry and "mul" in registry


def test_a_name_in_the_allow_list_that_is_not_installed(importable):
    registry = load_registry(env={"GATEKIT_LOAD_PLUGINS": "good,goood"}, entry_points=[ep("good", "good_plugin")])
    [error] = registry.load_errors
    assert error.plugin == "goood"
    assert "named in GATEKIT_LOAD_PLUGINS but not installed (installed third-party plugins: good)" in error.message
    assert third_party(registry) == ["good"]


# -- GATEKIT_STRICT_PLUGINS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "error_type", "fragment"),
    [
        ("raises_on_import", PluginLoadError, "plugin 'raises_on_import' failed (import): RuntimeError"),
        ("hook_raises", PluginLoadError, "gatekit_register_gates raised ValueError"),
        ("registers_junk", GateValidationError, "plugin 'registers_junk' registered an invalid gate"),
        ("takes_builtin_name", NameConflictError, "conflicts with the one from plugin 'gatekit_gates'"),
    ],
)
def test_strict_mode_raises_instead(plugin, error_type, fragment):
    with pytest.raises(error_type) as raised:
        load_registry([fixture(plugin)], env={"GATEKIT_STRICT_PLUGINS": "1"}, entry_points=())
    assert fragment in str(raised.value)
    assert raised.value.plugin == plugin


def test_strict_mode_keeps_the_cause():
    with pytest.raises(PluginLoadError) as raised:
        load_registry([fixture("hook_raises")], strict=True, env={}, entry_points=())
    assert isinstance(raised.value.__cause__, ValueError)


@pytest.mark.parametrize("value", ["0", "", "no", "false"])
def test_strict_mode_off(value):
    registry = load_registry([fixture("raises_on_import")], env={"GATEKIT_STRICT_PLUGINS": value}, entry_points=())
    assert len(registry.load_errors) == 1


def test_strict_argument_wins_over_the_environment():
    registry = load_registry([fixture("raises_on_import")], strict=False,
                             env={"GATEKIT_STRICT_PLUGINS": "1"}, entry_points=())  # fmt: skip
    assert len(registry.load_errors) == 1


def test_strict_mode_with_good_plugins_loads_them():
    registry = load_registry([fixture("good_plugin"), fixture("overrides_mul")], strict=True, env={}, entry_points=())
    assert "cube" in registry and registry.entry("gate", "mul").plugin.name == "overrides_mul"


# -- the process environment and the default registry ---------------------------------------------------------


def test_the_switches_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEKIT_DISABLE_PLUGINS", "gatekit_gates")
    assert load_registry(entry_points=()).gate_names() == []
    monkeypatch.setenv("GATEKIT_STRICT_PLUGINS", "yes")
    with pytest.raises(PluginLoadError):
        load_registry([fixture("raises_on_import")], entry_points=())


def test_the_default_registry_is_loaded_once_and_can_be_reset():
    first = default_registry()
    assert default_registry() is first
    replacement = load_registry([fixture("good_plugin")], env={}, entry_points=())
    reset_default_registry(replacement)
    assert default_registry() is replacement and "cube" in default_registry()
    reset_default_registry()
    assert "cube" not in default_registry()


# -- extras named at run time --------------------------------------------------------------------------------


def test_a_plugin_file_that_does_not_exist_is_a_usage_error():
    with pytest.raises(UsageError, match="plugin file 'no/such/plugin.py' does not exist"):
        load_registry(["no/such/plugin.py"], env={}, entry_points=())


def test_a_plugin_module_that_does_not_exist_is_a_usage_error():
    with pytest.raises(UsageError, match="plugin module 'gatekit_test_nope' cannot be found"):
        load_registry(["gatekit_test_nope"], env={}, entry_points=())


def test_a_plugin_module_whose_own_import_is_missing_is_a_load_error(tmp_path, monkeypatch):
    (tmp_path / "gatekit_test_needs_dep.py").write_text("import gatekit_test_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(["gatekit_test_needs_dep"], env={}, entry_points=())
    [error] = errors_of(registry, "gatekit_test_needs_dep")
    assert "gatekit_test_missing_dependency" in error.message


def test_an_extra_by_module_name_and_as_a_module_object(importable):
    import good_plugin

    by_name = load_registry(["good_plugin"], env={}, entry_points=())
    by_object = load_registry([good_plugin], env={}, entry_points=())
    for registry in (by_name, by_object):
        assert registry.entry("gate", "cube").plugin == PluginInfo("good_plugin")


# -- real entry-point discovery through importlib.metadata ----------------------------------------------------


def make_distribution(root: Path, name: str, version: str, entry_points: dict[str, str], modules: dict[str, str]):
    """A minimal installed distribution: ``<name>-<version>.dist-info`` and its modules."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep_name} = {target}\n" for ep_name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[console_scripts]\nnot-a-plugin = os:getcwd\n\n[gatekit]\n{lines}")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


SQUARE_PLUGIN = """
    import gatekit

    class Square(gatekit.Gate):
        name, arity, doc = "square", 1, "square(x) = x * x"
        def forward(self, x): return x * x
        def backward(self, grad, out, x): return (2.0 * grad * x,)

    @gatekit.hookimpl
    def gatekit_register_gates(register):
        register(Square())
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fresh site directory on sys.path; its modules are forgotten afterwards."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("gatekit_test_"):
            sys.modules.pop(name, None)


def test_entry_points_are_discovered_with_their_provenance(site):
    make_distribution(site, "gatekit-square", "1.2.3", {"square": "gatekit_test_square"},
                      {"gatekit_test_square": SQUARE_PLUGIN})  # fmt: skip
    registry = load_registry(env={"GATEKIT_LOAD_PLUGINS": "square"})
    assert registry.load_errors == []
    entry = registry.entry("gate", "square")
    assert entry.plugin == PluginInfo("square", "gatekit-square", "1.2.3", builtin=False)
    assert third_party(registry) == ["square"]
    assert registry.plugin("square").version == "1.2.3"
    assert gatekit.check_gate(entry.obj).ok


def test_discovery_without_an_allow_list_finds_every_installed_plugin(site):
    make_distribution(site, "gatekit-square", "1.2.3", {"square": "gatekit_test_square"},
                      {"gatekit_test_square": SQUARE_PLUGIN})  # fmt: skip
    make_distribution(site, "gatekit-broken", "0.1", {"broken": "gatekit_test_broken"},
                      {"gatekit_test_broken": "raise ImportError('broken on purpose')\n"})  # fmt: skip
    registry = load_registry(env={})
    assert "square" in registry and "square" in third_party(registry)
    [error] = errors_of(registry, "broken")
    assert error.stage == "import" and error.message == "ImportError: broken on purpose"


def test_discovery_respects_the_block_list(site):
    make_distribution(site, "gatekit-square", "1.2.3", {"square": "gatekit_test_square"},
                      {"gatekit_test_square": SQUARE_PLUGIN})  # fmt: skip
    registry = load_registry(env={"GATEKIT_DISABLE_PLUGINS": "square"})
    assert "square" not in registry and "gatekit_test_square" not in sys.modules


def test_two_distributions_claiming_one_plugin_name(site):
    make_distribution(site, "gatekit-square", "1.2.3", {"square": "gatekit_test_square"},
                      {"gatekit_test_square": SQUARE_PLUGIN})  # fmt: skip
    make_distribution(site, "gatekit-square-fork", "9.0", {"square": "gatekit_test_square_fork"},
                      {"gatekit_test_square_fork": SQUARE_PLUGIN})  # fmt: skip
    registry = load_registry(env={"GATEKIT_LOAD_PLUGINS": "square"})
    [error] = errors_of(registry, "square")
    assert "'gatekit-square' 1.2.3" in error.message and "'gatekit-square-fork' 9.0" in error.message
    assert third_party(registry) == ["square"]  # the first one loaded
    assert registry.entry("gate", "square").plugin.distribution in ("gatekit-square", "gatekit-square-fork")


# -- the hooks themselves ---------------------------------------------------------------------------------------


def test_the_hook_specs():
    from gatekit.plugins import HOOKS, plugin_manager

    pm = plugin_manager()
    specs = {name: getattr(pm.hook, name).spec for name in dir(pm.hook) if name.startswith("gatekit_")}
    assert sorted(specs) == sorted(HOOKS) == ["gatekit_register_gates", "gatekit_register_strategies"]
    for spec in specs.values():
        assert spec.argnames == ("register",)
        assert spec.function.__doc__ and "register(" in spec.function.__doc__ and "override=True" in spec.function.__doc__
    assert gatekit.hookimpl.project_name == "gatekit"


def test_a_strategies_hook_that_raises_is_isolated_too(tmp_path):
    plugin = tmp_path / "bad_strategies.py"
    plugin.write_text(
        "import gatekit\n@gatekit.hookimpl\ndef gatekit_register_strategies(register):\n"
        "    raise KeyError('lr')\n"
    )
    registry = load_registry([str(plugin), fixture("good_plugin")], env={}, entry_points=())
    [error] = errors_of(registry, "bad_strategies")
    assert error.stage == "hook" and error.message == "gatekit_register_strategies raised KeyError: 'lr'"
    assert "cube" in registry


ASKS_FOR_THE_DEFAULT_REGISTRY = """
    import gatekit

    @gatekit.hookimpl
    def gatekit_register_gates(register):
        c = gatekit.Composer()  # the default registry: the one being loaded right now
        (x,) = c.inputs("x")
        register(c.build(x * x).as_gate("square2"))
"""


def test_a_hook_that_asks_for_the_default_registry_while_it_loads_gets_a_clear_error(site, monkeypatch):
    make_distribution(site, "gatekit-eager", "0.1", {"eager": "gatekit_test_eager"},
                      {"gatekit_test_eager": ASKS_FOR_THE_DEFAULT_REGISTRY})  # fmt: skip
    monkeypatch.setenv("GATEKIT_LOAD_PLUGINS", "eager")
    gatekit.plugins.reset_default_registry()
    registry = gatekit.default_registry()  # would hang on its own lock, or recurse, without the guard
    [error] = errors_of(registry, "eager")
    assert error.stage == "hook" and "still loading" in error.message and "load_registry" in error.message
    assert "square2" not in registry and "mul" in registry
    assert gatekit.default_registry() is registry
