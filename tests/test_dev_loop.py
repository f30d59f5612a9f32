"""The dev loop: ``--plugin my_gates.py`` beside an installed copy of the same plugin.

The file given on the command line replaces the installed plugin of the same name or
module for that run, with one line on stderr saying so, instead of a conflict per gate.
"""

from __future__ import annotations

import json

import pytest

import gatekit
from cli_helpers import FIXTURES, invoke
from test_broken_plugins import site  # noqa: F401  (the fixture: fake distributions on sys.path)


def _install(site, entry_point: str, module: str) -> None:  # noqa: F811
    info = site / "gatekit_cube-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gatekit-cube\nVersion: 0.3.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[gatekit]\n{entry_point} = {module}\n", encoding="utf-8")


@pytest.mark.parametrize("entry_point", ["good_plugin", "good-plugin", "cube-gates"])
def test_the_working_copy_replaces_the_installed_plugin(site, entry_point):  # noqa: F811
    _install(site, entry_point, "good_plugin")
    installed = invoke("gates", "--json")
    assert {row["name"]: row["plugin"] for row in json.loads(installed.stdout)}["cube"] == entry_point

    result = invoke("--plugin", str(FIXTURES / "good_plugin.py"), "gates", "--json")
    assert result.exit_code == 0, result.stderr
    assert {row["name"]: row["plugin"] for row in json.loads(result.stdout)}["cube"] == "good_plugin"
    assert result.stderr.splitlines() == [
        f"Note: plugin {str(FIXTURES / 'good_plugin.py')!r} replaces the installed plugin {entry_point!r} "
        "(distribution 'gatekit-cube' 0.3.0) for this run"
    ]


def test_an_unrelated_installed_plugin_still_loads(site):  # noqa: F811
    _install(site, "cube-gates", "good_plugin")
    registry = gatekit.load_registry([str(FIXTURES / "wrong_backward.py")], env={})
    assert registry.notices == [] and registry.load_errors == []
    assert registry.entry("gate", "cube").plugin.name == "cube-gates"
    assert registry.entry("gate", "badgrad").plugin.name == "wrong_backward"
