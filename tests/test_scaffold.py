"""``gatekit plugin new NAME``: the distribution it writes installs and passes its own tests.

The files are written in-process; then the distribution is pip-installed into a throw-away
venv, offline, exactly as tests/test_examples_integration.py installs the template, and its
tests run there with the venv's python (through gatekit's pytest plugin).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cli_helpers import assert_error, invoke
from gatekit import UsageError
from gatekit.pytest_plugin import isolated_environ
from gatekit.scaffold import new_plugin
from test_examples_integration import install_in_venv

FILES = ["README.md", "pyproject.toml", "my_gates/__init__.py", "my_gates/gates.py", "my_gates/py.typed",
         "my_gates/strategy.py", "tests/test_plugin.py", "tests/test_values.py"]


def test_it_writes_a_distribution_with_the_entry_point_and_a_build_backend(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    written = new_plugin("my-gates", tmp_path / "my-gates")
    assert sorted(str(p.relative_to(tmp_path / "my-gates")) for p in written) == sorted(FILES)
    pyproject = tomllib.loads((tmp_path / "my-gates" / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["build-system"] == {"requires": ["hatchling>=1.18"], "build-backend": "hatchling.build"}
    assert pyproject["project"]["name"] == "my-gates"
    assert pyproject["project"]["entry-points"]["gatekit"] == {"my-gates": "my_gates"}
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["my_gates"]
    tests = (tmp_path / "my-gates" / "tests" / "test_plugin.py").read_text(encoding="utf-8")
    assert 'plugin_tests("my_gates")' in tests


def test_the_command_writes_it_and_says_what_next(tmp_path):
    result = invoke("plugin", "new", "my-gates", "--dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {len(FILES)} files to {tmp_path / 'out'}/:" in result.stdout
    assert "pip install -e '.[test]' && pytest" in result.stdout
    assert (tmp_path / "out" / "my_gates" / "gates.py").is_file()


@pytest.mark.parametrize("name", ["My-Gates", "2gates", "my gates", "my--gates", "", "gatekit"])
def test_a_bad_name_is_one_error(tmp_path, name):
    result = invoke("plugin", "new", name, "--dir", str(tmp_path / "out"))
    assert_error(result, 2, repr(name))
    assert not (tmp_path / "out").exists()


def test_it_never_overwrites(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UsageError, match="already exists and is not an empty folder; nothing was written"):
        new_plugin("my-gates", tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    new_plugin("my-gates", tmp_path / "empty")  # a new folder is fine
    (tmp_path / "e2").mkdir()
    new_plugin("my-gates", tmp_path / "e2")  # and so is an empty one


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("scaffold")
    new_plugin("my-gates", base / "my-gates")
    return install_in_venv(base / "my-gates", base / "venv"), base / "my-gates"


def test_it_installs_and_passes_its_own_tests(installed):
    python, source = installed
    env = isolated_environ()
    result = subprocess.run([str(python), "-m", "pytest", str(source / "tests"), "-p", "no:cacheprovider", "-v"],
                            capture_output=True, text=True, env=env, cwd=python.parent.parent, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^=+ 9 passed", result.stdout, re.M), result.stdout
    # plugin_tests found the installed plugin by its module: its real name, gate and strategy.
    for test in ("test_gate_gradient[softsign]", "test_strategy_climbs_and_descends[sign-step]",
                 "test_strategy_repeats_with_a_seed[sign-step]", "test_gate_is_deterministic[softsign]"):
        assert test in result.stdout, result.stdout
    where = subprocess.run([str(python), "-c", "import my_gates; print(my_gates.__file__)"], capture_output=True,
                           text=True, env=env, cwd=python.parent.parent, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(python.parent.parent.resolve())


def test_the_installed_plugin_is_found_by_gatekit(installed):
    python, _ = installed
    launcher = "import sys; from gatekit.cli import main; sys.argv[0] = 'gatekit'; main()"
    result = subprocess.run([str(python), "-c", launcher, "check", "softsign", "--json"], capture_output=True,
                            text=True, env=isolated_environ(), cwd=python.parent.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"plugin": "my-gates"' in result.stdout


def _subset(small: object, big: object) -> bool:
    """Whether every key and value of ``small`` is in ``big`` (lists compared as they are)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and _subset(v, big[k]) for k, v in small.items())
    return small == big


def test_the_readmes_pyproject_is_the_template_and_the_scaffolds(tmp_path):
    tomllib = pytest.importorskip("tomllib")
    from test_meta import _readme_section

    [block] = re.findall(r"```toml\n(.*?)```", _readme_section("Write a gate plugin"), re.S)
    readme = tomllib.loads(block)
    new_plugin("my-gates", tmp_path / "my-gates")
    scaffold = tomllib.loads((tmp_path / "my-gates" / "pyproject.toml").read_text(encoding="utf-8"))
    assert _subset(readme, scaffold), (readme, scaffold)  # the scaffold writes what the README shows
    template = tomllib.loads((Path(__file__).parent.parent / "examples" / "gatekit-smooth" / "pyproject.toml")
                             .read_text(encoding="utf-8"))
    assert readme["build-system"] == template["build-system"] == scaffold["build-system"]
    assert readme["project"]["dependencies"] == template["project"]["dependencies"]
    assert set(readme) <= set(template) and set(readme["project"]) <= set(template["project"])
    assert list(template["project"]["entry-points"]) == ["gatekit"]


def test_the_templates_ship_in_gatekits_wheel(tmp_path):
    """Package data, not files beside the source: an installed (non-editable) gatekit writes the scaffold too."""
    root = Path(__file__).resolve().parent.parent
    python = install_in_venv(root, tmp_path / "venv")
    launcher = "import sys, gatekit; from gatekit.cli import main; print(gatekit.__file__, file=sys.stderr); main()"
    result = subprocess.run([str(python), "-c", launcher, "plugin", "new", "shipped", "--dir", str(tmp_path / "out")],
                            capture_output=True, text=True, env=isolated_environ(), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Path(result.stderr.strip()).resolve().is_relative_to((tmp_path / "venv").resolve())  # the wheel's gatekit
    assert (tmp_path / "out" / "shipped" / "gates.py").is_file() and "wrote 8 files" in result.stdout
