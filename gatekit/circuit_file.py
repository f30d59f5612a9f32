"""Circuit files: a circuit as JSON that people can read, write by hand and diff.

::

    {
      "format": "gatekit-circuit",
      "version": 1,
      "inputs": [
        {"name": "x", "default": -2.0},
        {"name": "y", "default": 5.0},
        "z"
      ],
      "nodes": [
        {"id": "q", "gate": "add", "args": ["x", "y"]},
        {"id": "f", "gate": "mul", "args": ["q", "z"]}
      ],
      "output": "f"
    }

- ``format`` and ``version`` (1) are required, so a file is never misread.
- ``inputs`` (default ``[]``): in order; each ``{"name": ..., "default": number}``
  (the default is optional) or just the name as a string. Names are identifiers and
  unique.
- ``nodes`` (default ``[]``): in order; each applies a registered ``gate`` to
  ``args``. An argument is an input name, the ``id`` of an *earlier* node (so a file
  cannot describe a cycle), or a number (a constant). Node ids are unique strings,
  distinct from input names.
- A node's stage label is its ``id``, unless ``label`` says otherwise (a string, or
  ``null`` for none); an id that starts with ``#`` (``"#7"``) is anonymous, shown by
  its position. ``"label"`` exists so a stage name can repeat (``c`` rebound in an
  expression) while ids stay unique.
- ``output``: an input name, a node id or a number; optional, defaulting to the last
  node. An optional top-level ``"description"`` string is a place for notes.
- Numbers are JSON numbers: finite, no ``NaN`` or ``Infinity``.

Every problem is a :class:`~gatekit.CircuitFileError` that starts with the file and the
JSON path of the offending piece (``circuit.json: nodes[3].args[1]: ...``) and ends with
what would be valid; the error carries them as ``.source`` and ``.path``.

:func:`save`/:func:`load` work on paths and open files, :func:`dumps`/:func:`loads` on
text, :func:`circuit_to_dict`/:func:`circuit_from_dict` on plain data. Round trips are
exact: floats are written with ``repr`` (the shortest exact form), and :func:`load`
builds the inputs first and each constant just before its first use, the order
:func:`gatekit.parse` gives, so expression -> file -> circuit is identical and any
saved circuit computes bit-identical values and gradients.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, TYPE_CHECKING, Any, NoReturn, Union

import numpy as np

from .circuit import CONST, GATE, INPUT, Circuit
from .compose import Composer, Wire
from .bounded_files import MAX_FILE_BYTES, check_path_or_file, read_limited, write_atomically
from .errors import CircuitError, CircuitFileError, UnknownNameError, did_you_mean
from .plugins import default_registry
from .values import label_problem

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["FORMAT", "VERSION", "MAX_FILE_BYTES", "save", "load", "dumps", "loads", "circuit_to_dict", "circuit_from_dict"]

FORMAT = "gatekit-circuit"
VERSION = 1
_TOP_KEYS = ("format", "version", "inputs", "nodes", "output", "description")
_INPUT_KEYS = ("name", "default")
_NODE_KEYS = ("id", "gate", "args", "label")
PathOrFile = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]


class _NonStandard:
    """What ``NaN``/``Infinity`` in a file decode to, so validation can name their path."""

    def __init__(self, text: str):
        self.text = text


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _parse_int(text: str) -> int | float:
    """A JSON integer; past Python's 4,300-digit limit for int() it is a float (inf), which
    validation then refuses as not finite, rather than a ValueError escaping."""
    return int(text) if len(text) <= 4000 else float(text)


def _error(message: str, path: str = "", source: str | None = None) -> CircuitFileError:
    where = ": ".join(part for part in (source, path) if part)
    error = CircuitFileError(f"{where}: {message}" if where else message)
    error.path, error.source = path, source  # type: ignore[attr-defined]
    return error


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, _NonStandard):
        return value.text
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


# -- writing -----------------------------------------------------------------------------
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
        if _default_label(ids[i]) != node.label:
            entry["label"] = node.label
        nodes.append(entry)
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "inputs": inputs, "nodes": nodes}
    data["output"] = _reference(circuit, circuit.output, ids, "the output")
    return data


def _default_label(node_id: str) -> str | None:
    return None if node_id.startswith("#") else node_id


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
        raise _error(f"{what} is {number!r}, which JSON cannot hold; only finite numbers can be saved")
    raise _error(f"{what} is {type(value).__name__}, not a number; only single numbers can be saved")


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
    check_path_or_file(path_or_file, "save", _error)
    text = dumps(circuit)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise _error(f"the circuit holds {bad!r}, which UTF-8 cannot encode; nothing was written") from None
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
        raise _error(f"cannot write the circuit file (it is unchanged): {exc.strerror or exc}",
                     source=str(path_or_file)) from None


# -- reading -----------------------------------------------------------------------------
def load(path_or_file: PathOrFile, registry: Registry | None = None) -> Circuit:
    """The circuit in a circuit file (a path or an open file).

    A path must be a regular file of at most
    :data:`~gatekit.bounded_files.MAX_FILE_BYTES`: a FIFO or a device (``/dev/zero``)
    is refused before it is opened, so nothing blocks or reads without end.
    """
    check_path_or_file(path_or_file, "load", _error)
    if hasattr(path_or_file, "read"):
        source = str(getattr(path_or_file, "name", "<file>"))
        text = path_or_file.read(MAX_FILE_BYTES + 1)  # type: ignore[union-attr]
        if len(text) > MAX_FILE_BYTES:
            raise _error(f"the file is larger than {MAX_FILE_BYTES} bytes, the most gatekit reads", source=source)
    else:
        source = str(path_or_file)
        try:
            text = read_limited(path_or_file, _error)  # type: ignore[arg-type]
        except FileNotFoundError:
            raise _error(f"no such circuit file: {source}") from None
        except IsADirectoryError:
            raise _error(f"{source} is a directory, not a circuit file") from None
        except OSError as exc:
            raise _error(f"cannot read the circuit file: {exc.strerror or exc}", source=source) from None
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _error(f"not UTF-8 text (byte {exc.start}); a circuit file is JSON", source=source) from None
    if not isinstance(text, str):
        raise _error(f"reading the file gave {type(text).__name__}, not text", source=source)
    return loads(text, registry, source=source)


def loads(text: str, registry: Registry | None = None, source: str | None = None) -> Circuit:
    """The circuit in JSON text; ``source`` names it in errors."""
    try:
        data = json.loads(text, parse_constant=_NonStandard, parse_int=_parse_int, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise _error(f"the key {exc.key!r} appears twice in one object; each key may appear once "
                     "(JSON readers disagree on which one would count)", source=source) from None
    except json.JSONDecodeError as exc:
        raise _error(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source) from None
    except RecursionError:
        raise _error("invalid circuit file: the JSON is nested too deeply", source=source) from None
    return circuit_from_dict(data, registry, source=source)


def circuit_from_dict(data: Any, registry: Registry | None = None, source: str | None = None) -> Circuit:
    """The circuit described by plain data in the file format (validated piece by piece)."""
    if registry is None:
        registry = default_registry()
    return _Reader(registry, source).read(data)


class _Reader:
    """Validates file data and builds the circuit; every error names its JSON path."""

    def __init__(self, registry: Registry, source: str | None):
        self.registry, self.source = registry, source
        # The one builder: it resolves gates, checks arity, shares constants and fixes the
        # node order; this reader checks the file's shape and attaches a JSON path.
        self.composer = Composer(registry)
        self.refs: dict[str, Wire] = {}  # input name or node id -> its wire
        self.input_index: dict[str, int] = {}  # input name -> its place in "inputs"
        self.last: Wire | None = None

    def fail(self, path: str, message: str) -> NoReturn:
        raise _error(message, path, self.source)

    def read(self, data: Any) -> Circuit:
        if not isinstance(data, dict):
            self.fail("", f"a circuit file holds one JSON object, got {_kind(data)}")
        self.keys(data, "", _TOP_KEYS, required=("format", "version"))
        if data["format"] != FORMAT:
            self.fail("format", f"expected {FORMAT!r}, got {data['format']!r}; this is not a gatekit circuit file")
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int):
            shown = f"{version!r}" if isinstance(version, float) else _kind(version)
            self.fail("version", f"expected the number {VERSION}, got {shown}")
        if version != VERSION:
            self.fail("version", f"unsupported version {version}; this gatekit reads version {VERSION}")
        if "description" in data and not isinstance(data["description"], str):
            self.fail("description", f"expected a string, got {_kind(data['description'])}")
        defaults = self.inputs(self.entries(data, "inputs", ""))
        nodes = self.entries(data, "nodes", "")
        ids = self.node_ids(nodes)
        for k, node in enumerate(nodes):
            self.node(k, node, ids)
        output = self.output(data, nodes)
        try:  # every declared input stays, read or not: the file declares them
            return self.composer.build(output, defaults=defaults, keep_inputs=True)
        except CircuitError as exc:
            self.fail("", str(exc))

    # -- pieces ----------------------------------------------------------------------------
    def keys(self, obj: dict[str, Any], path: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
        for key in obj:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed, "valid keys: " + ", ".join(allowed))
                self.fail(_join(path, str(key)), f"unknown key {key!r}; {hint}")
        for key in required:
            if key not in obj:
                self.fail(path, f"missing key {key!r} (an entry here needs {', '.join(map(repr, required))})")

    def entries(self, data: dict[str, Any], key: str, path: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(path, key), f"expected a list, got {_kind(value)}")
        return value

    def number(self, value: Any, path: str, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{what} must be a number, got {_kind(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.fail(path, f"{what} must be a finite number, got {value!r}")
        return number

    def inputs(self, entries: list[Any]) -> dict[str, float]:
        defaults: dict[str, float] = {}
        for k, entry in enumerate(entries):
            path = f"inputs[{k}]"
            if isinstance(entry, str):
                entry = {"name": entry}
                name_path = path
            elif isinstance(entry, dict):
                self.keys(entry, path, _INPUT_KEYS, required=("name",))
                name_path = path + ".name"
            else:
                self.fail(path, f'an input is an object {{"name": ..., "default": ...}} or a name, got {_kind(entry)}')
            name = entry["name"]
            if isinstance(name, str) and name in self.input_index:  # (a list as a name: refused below)
                self.fail(name_path, f"duplicate input name {name!r} (also inputs[{self.input_index[name]}])")
            try:
                self.refs[name] = self.last = self.composer.input(name)
            except CircuitError as exc:
                self.fail(name_path, str(exc))
            self.input_index[name] = k
            if "default" in entry:
                defaults[name] = self.number(entry["default"], path + ".default", f"the default of {name!r}")
        return defaults

    def node_ids(self, nodes: list[Any]) -> dict[str, int]:
        """Every node id and its position, checked before any node is read (for "later")."""
        ids: dict[str, int] = {}
        for k, node in enumerate(nodes):
            path = f"nodes[{k}]"
            if not isinstance(node, dict):
                self.fail(path, f'a node is an object {{"id": ..., "gate": ..., "args": [...]}}, got {_kind(node)}')
            self.keys(node, path, _NODE_KEYS, required=("id", "gate", "args"))
            node_id = node["id"]
            if not isinstance(node_id, str) or label_problem(node_id) is not None:
                self.fail(path + ".id", f"a node id must be a non-empty string with a visible character that UTF-8 can encode, got {node_id!r}")
            if node_id in self.refs:
                self.fail(path + ".id", f"node id {node_id!r} is already an input name; ids and inputs must differ")
            if node_id in ids:
                self.fail(path + ".id", f"duplicate node id {node_id!r} (also nodes[{ids[node_id]}])")
            ids[node_id] = k
        return ids

    def node(self, k: int, node: dict[str, Any], ids: dict[str, int]) -> None:
        path = f"nodes[{k}]"
        name = node["gate"]
        if not isinstance(name, str):
            self.fail(path + ".gate", f"a gate name must be a string, got {_kind(name)}")
        if name not in self.registry:  # before the arguments: the gate is what the node is
            self.fail(path + ".gate", str(UnknownNameError("gate", name, self.registry.gate_names())))
        args = node["args"]
        if not isinstance(args, list):
            self.fail(path + ".args", f"expected a list of arguments, got {_kind(args)}")
        label = node.get("label", _default_label(node["id"]))
        if label is not None and not isinstance(label, str):
            self.fail(path + ".label", f"a label must be a string or null, got {_kind(label)}")
        wires = [self.argument(arg, f"{path}.args[{j}]", k, ids) for j, arg in enumerate(args)]
        try:
            wire = self.composer.gate(name, *wires)
        except CircuitError as exc:  # the arity: the one thing left for the builder to find
            self.fail(path + ".args", f"{exc}: {self.registry.gate(name).doc}")
        if label is not None:
            try:
                self.composer.label(wire, label)
            except CircuitError as exc:
                self.fail(path + ".label", f"{exc} (or null for none)")
        self.refs[node["id"]] = self.last = wire

    def argument(self, arg: Any, path: str, k: int, ids: dict[str, int]) -> Wire:
        if isinstance(arg, str):
            return self.reference(arg, path, k, ids)
        if isinstance(arg, bool) or not isinstance(arg, (int, float)):
            self.fail(path, f"an argument is an input name, an earlier node id or a number, got {_kind(arg)}")
        return self.composer.const(self.number(arg, path, "a constant"))  # shared: 0.0 and -0.0 differ

    def reference(self, name: str, path: str, k: int | None, ids: dict[str, int]) -> Wire:
        if name in self.refs:
            return self.refs[name]
        if name in ids:
            later = ids[name]
            what = "itself (a cycle)" if later == k else f"node {name!r}, defined later (nodes[{later}])"
            self.fail(path, f"refers to {what}; a node may use only inputs and earlier nodes, so move it "
                            "after the nodes it uses")
        known = list(self.refs)
        hint = did_you_mean(name, known, "known: " + ", ".join(known) if known else "the file declares no inputs or nodes")
        self.fail(path, f"{name!r} is not an input or a node id ({hint}); declare inputs in \"inputs\"")

    def output(self, data: dict[str, Any], nodes: list[Any]) -> Wire:
        if "output" not in data:
            if not nodes or self.last is None:
                self.fail("", "missing key 'output' (the file has no nodes to default to)")
            return self.last
        out = data["output"]
        if isinstance(out, str):
            return self.reference(out, "output", None, {})
        return self.argument(out, "output", -1, {})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
