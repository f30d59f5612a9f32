"""Meta-tests, in the datasette manner: the hooks, their tests and their docs stay in step.

- Every hook spec has a test here named ``test_hook_<spec>`` that defines a plugin
  implementing that hook and proves, through :func:`gatekit.load_registry`, that the hook
  ran and what it registered arrived with its plugin's name.
- Every hook spec is documented under "## Hooks" in README.md with its signature.
- The README's own examples work: its gate (at most 15 lines) loads as a plugin file
  and passes the gradient check; its strategy runs through ``gatekit.optimize``.
- Every name in ``gatekit.__all__`` exists.

Nothing here can pass vacuously: the hook specs are found two independent ways (the spec
markers in ``gatekit.hookspecs`` and the plugin manager's hook relay), which must agree
and be non-empty, and a spec without a test (or a test without a spec) fails.
"""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

import gatekit
import gatekit.hookspecs
from gatekit.plugins import plugin_manager

README = Path(__file__).resolve().parent.parent / "README.md"


def _specs_by_marker() -> dict[str, inspect.Signature]:
    """Hook specs as pluggy marks them: functions carrying the ``gatekit_spec`` attribute."""
    return {
        name: inspect.signature(obj)
        for name, obj in vars(gatekit.hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, "gatekit_spec")
    }


HOOK_SPECS = _specs_by_marker()


def _hook_tests() -> set[str]:
    """The hooks this module has a ``test_hook_<spec>`` for (read when asked, after import)."""
    return {name[len("test_hook_"):] for name, obj in globals().items() if name.startswith("test_hook_") and callable(obj)}


def _readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def _plugin(name: str, **hooks) -> types.ModuleType:
    """A plugin module holding the given hook implementations (marked as gatekit does)."""
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, gatekit.hookimpl(function))
    return module


# -- the hook specs themselves -----------------------------------------------------------


def test_specs_are_found_two_ways_and_agree():
    relay = {name for name in vars(plugin_manager().hook) if not name.startswith("_")}
    assert HOOK_SPECS, "no hook specs found in gatekit.hookspecs"
    assert set(HOOK_SPECS) == relay
    assert all(name.startswith("gatekit_") for name in HOOK_SPECS)


@pytest.mark.parametrize("hook", sorted(HOOK_SPECS))
def test_every_hook_spec_has_a_test(hook):
    assert hook in _hook_tests(), f"hook spec {hook} has no test_hook_{hook} in {__name__}"
    source = inspect.getsource(globals()[f"test_hook_{hook}"])
    assert f"def {hook}(" in source, f"test_hook_{hook} defines no implementation of {hook}"


def test_every_hook_test_names_a_hook_spec():
    assert _hook_tests() - set(HOOK_SPECS) == set()


@pytest.mark.parametrize("hook", sorted(HOOK_SPECS))
def test_every_hook_spec_is_documented(hook):
    section = _readme_section("Hooks")
    signature = f"{hook}{HOOK_SPECS[hook]}".replace("'", "")  # annotations are strings (PEP 563)
    assert f"`{signature}`" in section, f"README.md '## Hooks' does not document `{signature}`"


def test_readme_documents_no_hook_that_does_not_exist():
    section = _readme_section("Hooks")
    documented = set(re.findall(r"\b(gatekit_\w+)\(", section))
    assert documented, "the Hooks section names no hook"
    assert documented - set(HOOK_SPECS) == set()


# -- one test per hook ---------------------------------------------------------------------


class _Triple(gatekit.Gate):
    name, arity = "triple", 1
    doc = "triple(x) = 3 * x"

    def forward(self, x):
        return 3 * x

    def backward(self, grad, out, x):
        return (3 * grad,)


def test_hook_gatekit_register_gates():
    calls = []

    def gatekit_register_gates(register):
        calls.append(register)
        register(_Triple())

    registry = gatekit.load_registry([_plugin("triples", gatekit_register_gates=gatekit_register_gates)],
                                     env={}, entry_points=())
    assert len(calls) == 1 and callable(calls[0])
    assert registry.load_errors == []
    entry = registry.entry("gate", "triple")
    assert entry.plugin.name == "triples"
    assert registry.provided_by("triples")["gate"] == ["triple"]
    c = gatekit.Composer(registry)
    (x,) = c.inputs("x")
    assert c.build(c.triple(x)).gradient(x=2.0) == (6.0, {"x": 3.0})


class _Halve(gatekit.Strategy):
    name = "halve"
    doc = "move every free input halfway to zero"

    def step(self, problem, state):
        return problem.current / 2


def test_hook_gatekit_register_strategies():
    calls = []

    def gatekit_register_strategies(register):
        calls.append(register)
        register(_Halve())

    plugin = _plugin("halving", gatekit_register_strategies=gatekit_register_strategies)
    registry = gatekit.load_registry([plugin], env={}, entry_points=())
    assert len(calls) == 1 and callable(calls[0])
    assert registry.load_errors == []
    assert registry.entry("strategy", "halve").plugin.name == "halving"
    assert registry.provided_by("halving")["strategy"] == ["halve"]
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    result = gatekit.optimize(c.build(x * y), {"x": 8.0, "y": -4.0}, "halve", steps=2, registry=registry)
    assert result.final == {"x": 2.0, "y": -1.0}
    assert result.final_output == -2.0


# -- the README's example plugin, as a reader would save it ---------------------------------


def _python_blocks(section: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_gate_fits_in_15_lines_and_passes_its_gradient_check(tmp_path):
    blocks = _python_blocks(_readme_section("Write a gate plugin"))
    gate_block, register_block = blocks[0], blocks[1]
    assert "class " in gate_block and len(gate_block.strip().splitlines()) <= 15
    assert "gatekit_register_gates" in register_block
    path = tmp_path / "my_gates.py"
    path.write_text(gate_block + "\n\n" + register_block, encoding="utf-8")
    registry = gatekit.load_registry([str(path)], env={}, entry_points=())
    assert registry.load_errors == []
    [name] = registry.provided_by("my_gates")["gate"]
    gatekit.assert_gate_gradients(registry.gate(name))


def test_readme_strategy_runs_through_optimize(tmp_path):
    [block] = [b for b in _python_blocks(_readme_section("Write a gate plugin"))
               if "gatekit.Strategy" in b and not b.startswith(">>>")]  # the file, not the doctest
    path = tmp_path / "my_strategies.py"
    path.write_text(block, encoding="utf-8")
    registry = gatekit.load_registry([str(path)], env={}, entry_points=())
    assert registry.load_errors == []
    [name] = registry.provided_by("my_strategies")["strategy"]
    c = gatekit.Composer(registry)
    x, y = c.inputs("x", "y")
    result = gatekit.optimize(c.build(x * y), {"x": 1.0, "y": -3.0}, name, steps=1, registry=registry)
    # The gradient of x * y at (1, -3) is (-3, 1): its signs move x down and y up by 0.01.
    assert result.final == {"x": 0.99, "y": -2.99}
    assert result.final_output == pytest.approx(0.99 * -2.99, abs=1e-12)
    assert (result.forward_evals, result.backward_evals) == (2, 1)


# -- the public API ------------------------------------------------------------------------


def test_every_public_name_exists():
    assert len(gatekit.__all__) == len(set(gatekit.__all__)), "gatekit.__all__ lists a name twice"
    missing = [name for name in gatekit.__all__ if not hasattr(gatekit, name)]
    assert missing == []


ROOT = README.parent
#: What documents the API: the README, docs/, and the examples users copy.
DOCUMENTS = [README, *sorted((ROOT / "docs").rglob("*.md")),
             *sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".py", ".md", ".ipynb"))]


def _documented_names() -> set[str]:
    """Every ``gatekit.X`` the documents use, and every X of a ``from gatekit import ...``."""
    found: set[str] = set()
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r"\bgatekit\.([A-Za-z_]\w*)", text))
        for group, line in re.findall(r"from gatekit import (?:\(([^)]*)\)|([^\n(]+))", text):
            found.update(n.strip().split(" as ")[0] for n in (group or line).replace("\\n", " ").split(",") if n.strip())
    return found


def test_all_is_exactly_the_documented_api():
    import pkgutil

    documented = _documented_names()
    submodules = {module.name for module in pkgutil.iter_modules(gatekit.__path__)}
    assert {"Composer", "optimize", "UsageError", "__version__"} <= documented  # the reader sees them
    undocumented = [name for name in gatekit.__all__ if name not in documented]
    assert undocumented == [], f"in gatekit.__all__ but not in the README, docs/ or examples/: {undocumented}"
    # The other way: what the documents use from gatekit is public (or a module of its own).
    outside = sorted(documented - set(gatekit.__all__) - submodules - {"__all__"})
    assert outside == [], f"the documents use gatekit.X for names outside gatekit.__all__: {outside}"


def test_a_name_that_left_the_api_still_works_with_a_warning_naming_its_module():
    import importlib

    assert set(gatekit.MOVED).isdisjoint(gatekit.__all__)
    for name, module in gatekit.MOVED.items():
        own = getattr(importlib.import_module(module), name)  # importable from its own module, silently
        with pytest.deprecated_call(match=rf"gatekit\.{name} is deprecated; use {re.escape(module)}\.{name}"):
            assert getattr(gatekit, name) is own
    with pytest.deprecated_call(match="gatekit.circuit.Node"):
        from gatekit import Node  # noqa: F401
    with pytest.raises(AttributeError, match="no attribute 'Nodes'"):
        gatekit.Nodes  # noqa: B018
