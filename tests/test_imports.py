"""The import graph of gatekit/: read from the source, it has no circle.

Every import counts, at the top of a module or inside a function (a lazy import that
breaks a circle is still a circle), except those under ``if TYPE_CHECKING:``, which
never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gatekit"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path) -> set[str]:
    """The gatekit modules ``path`` imports (absolute names), TYPE_CHECKING blocks left out."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:  # a loop, not recursion
        node = stack.pop()
        if _type_checking_only(node):
            stack.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gatekit"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("gatekit"):
                for alias in node.names:  # `from . import tape` imports the module gatekit.tape
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if candidate in ALL else target)
        stack.extend(ast.iter_child_nodes(node))
    found.discard(here)
    return {m for m in found if m in ALL}


ALL = {module_name(p) for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, if any (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        path = [root]
        iters = [iter(sorted(graph[root]))]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_reader_sees_imports():
    graph = import_graph()
    assert "gatekit.tape" in graph["gatekit.circuit"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_gatekit_has_no_import_circle():
    graph = import_graph()
    # The package's __init__ imports everything, and nothing inside should need it.
    graph = {m: deps - {"gatekit"} for m, deps in graph.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


ENGINE = ("circuit", "tape", "codegen", "templates", "trace", "broadcast", "composite", "values", "gate",
          "registry", "strategy", "problem", "errors")


def test_the_engine_never_reaches_up_to_the_plugin_loader():
    graph = import_graph()
    for module in ENGINE:
        seen, todo = set(), [f"gatekit.{module}"]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        assert "gatekit.plugins" not in seen, f"gatekit.{module} reaches gatekit.plugins"
        assert not {m for m in seen if m.split(".")[1:2] in (["compose"], ["expression"], ["circuit_file"])}, module


def test_a_circuit_built_by_hand_names_its_registry():
    import pytest

    from gatekit import Circuit, Node, UsageError

    with pytest.raises(UsageError, match="needs the registry"):
        Circuit([Node("input", name="x")], 0)


def private_imports(path: Path) -> list[str]:
    """``from gatekit.m import _name`` in ``path``: one module reaching into another's private names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("gatekit")):
            found += [f"{node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.endswith("__")
                      and f"{module_name(path).rsplit('.', 1)[0]}.{a.name}" not in ALL
                      and f"gatekit.{a.name}" not in ALL]
    return found


def test_no_module_imports_another_modules_private_names():
    bad = {module_name(p): names for p in sorted(PACKAGE.rglob("*.py")) if (names := private_imports(p))}
    assert bad == {}, bad
