"""Writing circuit files: a circuit as plain data, as JSON text, and saved to a file."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .bounded_files import check_path_or_file, write_atomically
from .circuit import CONST, GATE, INPUT, Circuit
from .circuit_file_format import FORMAT, VERSION, PathOrFile, default_label, file_error


def circuit_to_dict(circuit: Circuit) -> dict[str, Any]:
    """The circuit as plain data in the file format (constants inline as numbers)."""
    inputs = []
    for name in circuit.inputs:
        entry: dict[str, Any] = {"name": name}
        if name in circuit.defaults:
            entry["default"] = _number_out(circuit.defaults[name], f"input {name!r}'s default")
        inputs.append(entry)
    ids = _node_ids(circuit)
    nodes = []
    for i, node in enumerate(circuit.nodes):
        if node.kind != GATE:
            continue
        args = [_reference(circuit, a, ids, f"node {ids[i]!r}") for a in node.args]
        entry = {"id": ids[i], "gate": node.name, "args": args}
        if default_label(ids[i]) != node.label:
            entry["label"] = node.label
        nodes.append(entry)
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "inputs": inputs, "nodes": nodes}
    data["output"] = _reference(circuit, circuit.output, ids, "the output")
    return data


def _node_ids(circuit: Circuit) -> dict[int, str]:
    """A unique id per gate node: its label where it can be, ``#i`` when it has none."""
    taken = set(circuit.inputs)
    seen: dict[str, int] = {}
    ids = {}
    for i, node in enumerate(circuit.nodes):
        if node.kind != GATE:
            continue
        label = node.label
        if label is None:
            candidate = f"#{i}"
        else:
            seen[label] = seen.get(label, 0) + 1
            candidate = label if seen[label] == 1 else f"{label}#{seen[label]}"
        while candidate in taken:
            candidate += "'"
        taken.add(candidate)
        ids[i] = candidate
    return ids


def _reference(circuit: Circuit, k: int, ids: dict[int, str], what: str) -> str | float:
    node = circuit.nodes[k]
    if node.kind == INPUT:
        return node.name  # type: ignore[return-value]
    if node.kind == CONST:
        return _number_out(node.value, f"a constant of {what}")
    return ids[k]


def _number_out(value: Any, what: str) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
        if math.isfinite(number):
            return number
        raise file_error(f"{what} is {number!r}, which JSON cannot hold; only finite numbers can be saved")
    raise file_error(f"{what} is {type(value).__name__}, not a number; only single numbers can be saved")


def dumps(circuit: Circuit) -> str:
    """The circuit as JSON text: one input or node per line, for reading and diffs."""
    data = circuit_to_dict(circuit)

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def block(key: str) -> str:
        rows = data[key]
        if not rows:
            return f'  "{key}": []'
        return f'  "{key}": [\n' + ",\n".join("    " + one(row) for row in rows) + "\n  ]"

    lines = [f'  "format": {one(FORMAT)}', f'  "version": {VERSION}', block("inputs"), block("nodes"),
             f'  "output": {one(data["output"])}']
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save(circuit: Circuit, path_or_file: PathOrFile) -> None:
    """Write ``circuit`` to a path (UTF-8) or to an open file.

    Everything is checked before anything is written (a default JSON cannot hold,
    text UTF-8 cannot encode), and a path is written atomically: a temporary file in
    the same folder, flushed to disk, then renamed over the old one. A failure at any
    point (a full disk, a Ctrl-C) leaves the old file as it was.
    """
    check_path_or_file(path_or_file, "save", file_error)
    text = dumps(circuit)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise file_error(f"the circuit holds {bad!r}, which UTF-8 cannot encode; nothing was written") from None
    if hasattr(path_or_file, "write"):
        handle: Any = path_or_file
        try:
            handle.write(text)
        except TypeError:  # a binary file
            handle.write(data)
        return
    try:
        write_atomically(path_or_file, data)  # type: ignore[arg-type]
    except OSError as exc:
        raise file_error(f"cannot write the circuit file (it is unchanged): {exc.strerror or exc}",
                     source=str(path_or_file)) from None
