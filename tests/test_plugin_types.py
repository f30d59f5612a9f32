"""Plugin code as authors write it passes ``mypy --strict`` and pyright (strict), with no suppression.

Checked: the template (``examples/gatekit-smooth``), what ``gatekit plugin new`` writes
(package and tests), and the README's gate and strategy as a reader would save them.
A file that does break the Gate protocol is checked beside them and must be flagged by
both, so a checker that checks nothing cannot pass. pyright is basedpyright's bundled
copy (``pip install basedpyright``: no Node download), in pyright's own strict mode.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gatekit.scaffold import new_plugin
from test_meta import _python_blocks, _readme_section

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "examples" / "gatekit-smooth" / "gatekit_smooth"

BROKEN = '''
from typing import Any

import gatekit


class Broken(gatekit.Gate):
    name, arity, doc = "broken", 1, "broken(x) = x"

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, grad: Any, out: Any, x: Any) -> int:  # not a tuple of gradients
        return 1
'''


def _tool(module: str) -> None:
    if shutil.which(module, path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{module} is not installed here (it is in gatekit's test extra: pip install -e '.[test]')")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Each thing to check, by what it is, as files in one folder (the broken one apart)."""
    base = tmp_path_factory.mktemp("typed")
    readme = base / "readme"
    readme.mkdir()
    blocks = [b for b in _python_blocks(_readme_section("Write a gate plugin")) if not b.startswith(">>>")]
    gate = next(b for b in blocks if "class Square(gatekit.Gate)" in b)
    hook = next(b for b in blocks if b.startswith("@gatekit.hookimpl\ndef gatekit_register_gates"))
    strategy = next(b for b in blocks if "class SignStep(gatekit.Strategy)" in b)
    (readme / "my_gates.py").write_text(gate + "\n\n" + hook, encoding="utf-8")
    (readme / "my_strategies.py").write_text(strategy, encoding="utf-8")
    new_plugin("my-gates", base / "scaffold")
    broken = base / "broken"
    broken.mkdir()
    (broken / "broken_gate.py").write_text(BROKEN, encoding="utf-8")
    return {"readme": readme, "template": TEMPLATE, "scaffold package": base / "scaffold" / "my_gates",
            "scaffold tests": base / "scaffold" / "tests", "broken": broken}


def _mypy(paths: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    cache = ROOT / ".venv" / ".mypy_cache_plugins" if (ROOT / ".venv").is_dir() else cwd / ".mypy_cache"
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache),
                           "--no-error-summary", *map(str, paths)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_mypy_strict_accepts_plugin_code_and_flags_a_broken_gate(sources, tmp_path):
    _tool("mypy")
    good = [p for name, p in sources.items() if name != "broken"]
    # One run per source: mypy refuses two modules of one name (my_gates) in one run.
    for path in good:
        result = _mypy([path], tmp_path)
        assert result.returncode == 0, f"mypy --strict on {path}:\n{result.stdout}{result.stderr}"
    result = _mypy([sources["broken"]], tmp_path)
    assert result.returncode == 1 and 'Signature of "backward" incompatible with supertype' in result.stdout, result.stdout


def test_pyright_strict_accepts_plugin_code_and_flags_a_broken_gate(sources, tmp_path):
    _tool("basedpyright")
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict"}), encoding="utf-8")
    pyright = Path(sys.executable).with_name("basedpyright")
    result = subprocess.run([str(pyright), "-p", str(config), "--pythonpath", sys.executable, "--outputjson",
                             *map(str, sources.values())], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    report = json.loads(result.stdout)
    assert report["summary"]["filesAnalyzed"] >= 2 + 4 + 2 + 2 + 1, result.stdout  # every file, not none
    errors: dict[str, list[str]] = {name: [] for name in sources}
    for d in report["generalDiagnostics"]:
        if d["severity"] == "error":
            [name] = [name for name, path in sources.items() if Path(d["file"]).is_relative_to(path)]
            errors[name].append(f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}")
    broken = errors.pop("broken")
    assert any('"backward" overrides class "Gate" in an incompatible manner' in e for e in broken), broken
    assert errors == {name: [] for name in errors}, "pyright (strict):\n" + json.dumps(errors, indent=1)
