"""gatekit as a user gets it: a wheel built from this repository, installed into a clean venv.

The wheel is built by this environment's pip with hatchling from here (``--no-build-isolation``,
offline) and installed with ``--no-deps --no-index`` into a venv made ``--without-pip``. The
venv sees this environment's *dependencies* (numpy, typer, ...) through a ``.pth`` file that
appends their directory to ``sys.path``; it does not run that directory's ``.pth`` files, so
the editable gatekit of the checkout stays invisible and every import of gatekit (and of
the built-in plugins) comes from the installed wheel. Then the installed console script
must run the tour and ``gatekit check``, and ``python -m gatekit`` must work.

Skipped, with the reason, only where pip or hatchling is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import gatekit
from gatekit.pytest_plugin import isolated_environ

ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    # No plugin installed where the suite runs loads there (the venv sees this environment's packages).
    env = {k: v for k, v in isolated_environ().items() if k != "PYTHONPATH"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's bin directory, the wheel) with gatekit installed from the wheel."""
    if importlib.util.find_spec("pip") is None or importlib.util.find_spec("hatchling") is None:
        pytest.skip("building the wheel offline needs pip and hatchling in this environment")
    base = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--disable-pip-version-check", "-q", "-w", str(base / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stderr
    [wheel] = (base / "dist").glob("gatekit-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # Every directory this interpreter imports from (its site-packages and whatever their .pth
    # files added, e.g. an outer venv's), except the checkout that the editable install adds.
    checkout = {ROOT.resolve(), (ROOT / "plugins").resolve()}
    outer = [p for p in sys.path if p and Path(p).is_dir() and Path(p).resolve() not in checkout
             and "site-packages" in p]
    lines = "".join(f"import sys; sys.path.append({p!r})\n" for p in outer)  # not addsitedir: no editable gatekit
    (Path(purelib) / "_outer_dependencies.pth").write_text(lines, encoding="utf-8")
    result = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                   "--disable-pip-version-check", "--no-input", "-q", str(wheel)])
    assert result.returncode == 0, result.stderr
    return bindir, wheel


def test_the_wheel_carries_the_licence_the_version_and_the_metadata(installed):
    _, wheel = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"gatekit-{gatekit.__version__}.dist-info/METADATA").decode()
    assert f"gatekit-{gatekit.__version__}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata and f"Version: {gatekit.__version__}" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert {"gatekit/py.typed", "gatekit/__main__.py", "gatekit_gates/__init__.py",
            "gatekit_strategies/__init__.py"} <= set(names)


def test_gatekit_and_its_plugins_are_imported_from_the_wheel_not_the_checkout(installed):
    bindir, _ = installed
    code = "import gatekit, gatekit_gates; print(gatekit.__file__); print(gatekit_gates.__file__)"
    where = _run([str(bindir / "python"), "-c", code], cwd=bindir.parent, check=True).stdout.split()
    assert all(Path(path).resolve().is_relative_to(bindir.parent.resolve()) for path in where), where


def test_the_installed_command_runs_the_tour_and_the_gradient_check(installed):
    bindir, _ = installed
    tour = _run([str(bindir / "gatekit"), "tour", "--json"], cwd=bindir.parent)
    assert tour.returncode == 0, tour.stderr
    data = json.loads(tour.stdout)
    assert data["backward"]["output"] == -12.0
    check = _run([str(bindir / "gatekit"), "check", "--json"], cwd=bindir.parent)
    assert check.returncode == 0, check.stderr
    rows = json.loads(check.stdout)
    assert len(rows) >= 15 and all(row["ok"] for row in rows)


def test_python_dash_m_gatekit_lists_the_version_of_gatekit_and_of_each_plugin(installed):
    bindir, _ = installed
    result = _run([str(bindir / "python"), "-m", "gatekit", "--version"], cwd=bindir.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"gatekit {gatekit.__version__}"
    assert f"  gatekit_gates {gatekit.__version__} (built-in)" in lines
