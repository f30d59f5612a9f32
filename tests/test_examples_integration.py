"""The template plugin, installed by pip into a fresh virtual environment, through the real command.

One environment per test session: a venv made with ``--without-pip`` (instant) that
sees this environment's packages (gatekit, numpy, typer, ...) through a ``.pth`` file,
into which this environment's pip installs ``examples/gatekit-smooth`` with
``--no-deps``: a real wheel build with hatchling and a real install, entry point and all.
hatchling comes from this environment when it has it (``--no-build-isolation``, offline),
otherwise from pip's usual build isolation (the package index or pip's cache).

Then ``gatekit`` (the console script's entry point, run by the venv's python) must show
the template's gates with their plugin and version, evaluate them, pass ``gatekit check``,
use them in expressions and run its strategy in ``gatekit optimize``, and hide all of it
under ``GATEKIT_DISABLE_PLUGINS``. The template's own tests must pass there too.

Skipped, with the reason, only where pip cannot run or cannot get hatchling.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "gatekit-smooth"
PLUGIN = "gatekit-smooth"  # the entry point's name: the plugin's name everywhere
GATES = ["cos", "sin", "softplus", "swish"]
STRATEGY = "pattern-search"

#: Runs the ``gatekit`` console script as pip would: through gatekit's own entry point.
LAUNCHER = (
    "import sys; from importlib.metadata import entry_points; "
    "[script] = entry_points(group='console_scripts', name='gatekit'); "
    "sys.argv[0] = 'gatekit'; sys.exit(script.load()())"
)
#: What pip says when it cannot reach an index (or find hatchling in its cache).
OFFLINE = re.compile(
    r"No matching distribution found for hatchling|Could not find a version that satisfies|"
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|ProxyError",
)


def _version(pyproject: Path) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
    assert match, f"no version in {pyproject}"
    return match.group(1)


@dataclass
class Venv:
    root: Path
    python: Path
    source: Path  # the copy of the template that was installed

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEKIT_") and k != "PYTHONPATH"}
        env.update(extra)
        return env

    def gatekit(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), "-c", LAUNCHER, *args], capture_output=True, text=True,
                              env=self.env(**env), cwd=self.root, timeout=120)

    def json(self, *args: str, **env: str):
        result = self.gatekit(*args, "--json", **env)
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        return json.loads(result.stdout)


def _make_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True,
                   timeout=120)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # addsitedir, not a bare path: it also runs the .pth files there (gatekit's editable install).
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in outer)
    (Path(purelib) / "_outer_environment.pth").write_text(lines, encoding="utf-8")
    return python


def install_in_venv(source: Path, root: Path) -> Path:
    """A throw-away venv at ``root`` (seeing this environment) with ``source`` pip-installed; its python.

    Skips the test where pip cannot run or cannot get hatchling.
    """
    if importlib.util.find_spec("pip") is None:
        pytest.skip(f"pip is not installed for {sys.executable}, so {source.name} cannot be installed")
    python = _make_venv(root)
    have_hatchling = importlib.util.find_spec("hatchling") is not None
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
               "--disable-pip-version-check", "--no-input", str(source)]
    if have_hatchling:
        command.insert(-1, "--no-build-isolation")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        if not have_hatchling and OFFLINE.search(result.stdout + result.stderr):
            pytest.skip("pip cannot get hatchling (the build backend): no package index is reachable, "
                        "and this environment has no hatchling to build without isolation")
        pytest.fail(f"pip install of {source.name} failed:\n{result.stdout}\n{result.stderr}")
    return python


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Venv:
    base = tmp_path_factory.mktemp("example-venv")
    source = base / "gatekit-smooth"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.egg-info"))
    python = install_in_venv(source, base / "venv")
    return Venv(base / "venv", python, source)


def test_the_template_is_installed_in_the_venv_not_imported_from_the_source(venv):
    where = subprocess.run([str(venv.python), "-c", "import gatekit_smooth; print(gatekit_smooth.__file__)"],
                           capture_output=True, text=True, env=venv.env(), cwd=venv.root, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.root.resolve())


def test_its_gates_appear_with_their_plugin_and_version(venv):
    version = _version(EXAMPLE / "pyproject.toml")
    listed = {row["name"]: row for row in venv.json("gates")}
    assert {name: listed[name]["plugin"] for name in GATES} == {name: PLUGIN for name in GATES}
    assert listed["sin"]["arity"] == 1 and listed["swish"]["doc"] == "swish(x) = x * sigmoid(x)"

    [row] = [row for row in venv.json("plugins") if row["name"] == PLUGIN]
    assert (row["distribution"], row["version"], row["builtin"]) == (PLUGIN, version, False)
    assert (row["gates"], row["strategies"], row["errors"]) == (GATES, [STRATEGY], [])

    shown = venv.json("gates", "show", "softplus")
    assert (shown["name"], shown["plugin"], shown["version"]) == ("softplus", PLUGIN, version)


def test_its_gates_evaluate(venv):
    result = venv.json("eval", "sin", "0.5")
    assert result["gate"] == "sin" and result["inputs"] == [0.5]
    assert math.isclose(result["output"], math.sin(0.5), abs_tol=1e-12)
    assert len(result["grads"]) == 1 and math.isclose(result["grads"][0], math.cos(0.5), abs_tol=1e-12)


def test_its_gates_pass_gatekit_check(venv):
    result = venv.gatekit("check", *GATES, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["gate"], row["plugin"], row["ok"]) for row in rows] == [(gate, PLUGIN, True) for gate in GATES]


def test_its_gates_work_in_expressions(venv):
    result = venv.json("run", "sin(x) * y", "x=1", "y=2")
    assert math.isclose(result["output"], 2 * math.sin(1.0), abs_tol=1e-12)
    assert math.isclose(result["inputs"]["x"]["grad"], 2 * math.cos(1.0), abs_tol=1e-12)
    assert math.isclose(result["inputs"]["y"]["grad"], math.sin(1.0), abs_tol=1e-12)
    assert [stage["gate"] for stage in result["stages"] if stage["gate"]] == ["sin", "mul"]


def test_its_strategy_runs_in_optimize(venv):
    # cos(x) * y - y * y is largest, 1/4, at x = 0 and y = 1/2.
    result = venv.json("optimize", "cos(x) * y - y * y", "x=1", "y=0", "--strategy", STRATEGY, "--steps", "200")
    assert (result["strategy"], result["stop_reason"]) == (STRATEGY, "converged")
    assert math.isclose(result["best_output"], 0.25, abs_tol=1e-9)
    assert result["evaluations"]["backward"] == 0 and result["evaluations"]["forward"] > 1


def test_disabling_the_plugin_hides_it(venv):
    hidden = {"GATEKIT_DISABLE_PLUGINS": PLUGIN}
    names = {row["name"] for row in venv.json("gates", **hidden)}
    assert "mul" in names and names.isdisjoint(GATES)
    assert PLUGIN not in {row["name"] for row in venv.json("plugins", **hidden)}

    result = venv.gatekit("eval", "sin", "0.5", **hidden)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()] and "unknown gate 'sin'" in result.stderr

    result = venv.gatekit("optimize", "x * y", "x=1", "y=-3", "--strategy", STRATEGY, **hidden)
    assert result.returncode == 2 and f"unknown strategy {STRATEGY!r}" in result.stderr


def test_the_disable_plugin_flag_hides_it_and_version_lists_it(venv):
    listed = venv.gatekit("--version")
    assert listed.returncode == 0, listed.stderr
    assert f"  {PLUGIN} {_version(EXAMPLE / 'pyproject.toml')} (from {PLUGIN})" in listed.stdout.splitlines()
    names = {row["name"] for row in venv.json("--disable-plugin", PLUGIN, "gates")}
    assert "mul" in names and names.isdisjoint(GATES)
    hidden = venv.gatekit("--disable-plugin", PLUGIN, "--version")
    assert hidden.returncode == 0 and PLUGIN not in hidden.stdout


def test_the_templates_own_tests_pass_against_the_installed_plugin(venv):
    result = subprocess.run(
        [str(venv.python), "-m", "pytest", str(venv.source / "tests"), "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, env=venv.env(), cwd=venv.root, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\d+ passed", result.stdout.splitlines()[-1]), result.stdout


AMBIENT_BROKEN = {
    "gatekit_test_ambient_raises": "raise RuntimeError('an installed plugin that fails to import')\n",
    "gatekit_test_ambient_takes_mul": (
        "import gatekit\n\n"
        "class Mul(gatekit.Gate):\n"
        "    name, arity, doc = 'mul', 2, 'mul(x, y) = x * y + 1 (an installed clash)'\n"
        "    def forward(self, x, y): return x * y + 1\n"
        "    def backward(self, grad, out, x, y): return grad * y, grad * x\n\n"
        "@gatekit.hookimpl\n"
        "def gatekit_register_gates(register):\n"
        "    register(Mul(), override=True)\n"
    ),
}


#: What a plugin installed where the suite runs can reach, and so what the rerun below repeats.
#: In this process it reaches tests only through plugin discovery, which conftest.py isolates
#: per test at one seam (gatekit.pytest_plugin.isolate): the modules about plugins and the CLI's
#: own modules (the CLI loads plugins) test that seam with the template really installed.
#: A child process (the console script, a nested pytest, a notebook kernel, dask worker
#: processes) discovers plugins on its own and is isolated only by the environment its test
#: hands it, so every module that starts one is rerun. Everything else (the engine, the
#: builders, in-process CLI calls from other modules) meets only registries built from
#: explicit entry points or the isolated default, and ran once already.
PLUGIN_AND_CLI_MODULES = re.compile(r"test_cli.*|test_.*plugins?")
STARTS_A_PROCESS = re.compile(r"\b(?:subprocess|pytester|nbclient|multiprocessing|processes=True)\b")
#: Modules that build environments of their own: they are not about plugins installed here.
OWN_ENVIRONMENTS = ("test_examples_integration", "test_scaffold", "test_plugin_types")


def modules_the_template_can_reach(tests: Path = ROOT / "tests") -> list[Path]:
    """The test modules the rerun repeats: chosen by name and by what they start, so a new
    module that starts a process is rerun without a list to edit."""
    return [path for path in sorted(tests.glob("test_*.py"))
            if path.stem not in OWN_ENVIRONMENTS
            and (PLUGIN_AND_CLI_MODULES.fullmatch(path.stem) or STARTS_A_PROCESS.search(path.read_text(encoding="utf-8")))]


def test_the_rerun_repeats_the_plugin_cli_and_subprocess_modules_and_not_the_engines():
    chosen = {path.stem for path in modules_the_template_can_reach()}
    assert {"test_plugins", "test_pytest_plugin", "test_broken_plugins", "test_cli", "test_cli_conventions",
            "test_hardening_containment", "test_wheel_install", "test_notebook", "test_dask"} <= chosen, chosen
    assert chosen.isdisjoint({"test_lesson", "test_tape", "test_codegen", "test_draw", "test_expression",
                              "test_examples_integration", "test_scaffold", "test_plugin_types"}), chosen


def test_gatekits_own_suite_passes_with_the_template_installed(venv):
    """gatekit's suite is isolated from installed plugins: run it where gatekit-smooth is installed.

    Beside it, for this test only, two worse neighbours in a site folder of their own: one
    that fails to import and one that overrides ``mul``. Only the modules such
    plugins can reach are rerun (see PLUGIN_AND_CLI_MODULES); the others ran once
    already, and nothing installed can reach them.
    """
    assert PLUGIN in {row["name"] for row in venv.json("plugins")}  # the template is really there
    neighbours = venv.root / "neighbours"
    neighbours.mkdir(exist_ok=True)
    for module, source in AMBIENT_BROKEN.items():
        (neighbours / f"{module}.py").write_text(source, encoding="utf-8")
        info = neighbours / f"{module}-0.1.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[gatekit]\n{module} = {module}\n", encoding="utf-8")
    env = venv.env(PYTHONPATH=str(neighbours))
    listed = subprocess.run([str(venv.python), "-c", LAUNCHER, "eval", "mul", "2", "3", "--json"], capture_output=True,
                            text=True, env=env, cwd=venv.root, timeout=120)
    assert json.loads(listed.stdout)["output"] == 7.0 and "an installed plugin that fails" in listed.stderr
    script = venv.python.with_name("gatekit")  # the console script, as pip would write it for gatekit
    if not script.exists() and os.name != "nt":
        script.write_text(f"#!{venv.python}\nfrom gatekit.cli import main\nmain()\n", encoding="utf-8")
        script.chmod(0o755)
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_XDIST")}  # a suite of its own, not a worker's
    modules = [str(path) for path in modules_the_template_can_reach()]
    result = subprocess.run(
        [str(venv.python), "-m", "pytest", *modules, "-q", "-x", "-p", "no:cacheprovider"],
        capture_output=True, text=True, env=env, cwd=venv.root, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr
    assert re.search(r"^\d+ passed", result.stdout.splitlines()[-1]), result.stdout[-2000:]
