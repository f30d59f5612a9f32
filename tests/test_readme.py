"""The README's examples run: its Python sessions as doctests, its circuit file as a file."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import gatekit

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_examples_run_as_written():
    results = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 20  # the tour, the API and the strategies sections
    assert results.failed == 0


def test_readme_circuit_file_example_loads_and_runs(tmp_path):
    block = re.search(r"```json\n(.*?)```", README.read_text(), re.S).group(1)
    path = tmp_path / "xyz.json"
    path.write_text(block)
    circuit = gatekit.load(path)
    assert circuit.defaults == {"x": -2.0, "y": 5.0}
    output, grads = circuit.gradient(z=-4)
    assert output == -12.0
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert json.loads(block)["output"] == "f"
