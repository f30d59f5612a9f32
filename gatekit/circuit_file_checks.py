"""The checks of file data: each piece validated and built through the one builder,
every error naming its JSON path."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NoReturn

from .circuit import Circuit
from .circuit_file_format import (
    FORMAT,
    INPUT_KEYS,
    NODE_KEYS,
    TOP_KEYS,
    VERSION,
    default_label,
    file_error,
    join_path,
    kind_of,
)
from .compose import Composer, Wire
from .errors import CircuitError, UnknownNameError, did_you_mean
from .plugins import default_registry
from .values import label_problem

if TYPE_CHECKING:
    from .registry import Registry


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
        raise file_error(message, path, self.source)

    def read(self, data: Any) -> Circuit:
        if not isinstance(data, dict):
            self.fail("", f"a circuit file holds one JSON object, got {kind_of(data)}")
        self.keys(data, "", TOP_KEYS, required=("format", "version"))
        if data["format"] != FORMAT:
            self.fail("format", f"expected {FORMAT!r}, got {data['format']!r}; this is not a gatekit circuit file")
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int):
            shown = f"{version!r}" if isinstance(version, float) else kind_of(version)
            self.fail("version", f"expected the number {VERSION}, got {shown}")
        if version != VERSION:
            self.fail("version", f"unsupported version {version}; this gatekit reads version {VERSION}")
        if "description" in data and not isinstance(data["description"], str):
            self.fail("description", f"expected a string, got {kind_of(data['description'])}")
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
                self.fail(join_path(path, str(key)), f"unknown key {key!r}; {hint}")
        for key in required:
            if key not in obj:
                self.fail(path, f"missing key {key!r} (an entry here needs {', '.join(map(repr, required))})")

    def entries(self, data: dict[str, Any], key: str, path: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(join_path(path, key), f"expected a list, got {kind_of(value)}")
        return value

    def number(self, value: Any, path: str, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{what} must be a number, got {kind_of(value)}")
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
                self.keys(entry, path, INPUT_KEYS, required=("name",))
                name_path = path + ".name"
            else:
                self.fail(path, f'an input is an object {{"name": ..., "default": ...}} or a name, got {kind_of(entry)}')
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
                self.fail(path, f'a node is an object {{"id": ..., "gate": ..., "args": [...]}}, got {kind_of(node)}')
            self.keys(node, path, NODE_KEYS, required=("id", "gate", "args"))
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
            self.fail(path + ".gate", f"a gate name must be a string, got {kind_of(name)}")
        if name not in self.registry:  # before the arguments: the gate is what the node is
            self.fail(path + ".gate", str(UnknownNameError("gate", name, self.registry.gate_names())))
        args = node["args"]
        if not isinstance(args, list):
            self.fail(path + ".args", f"expected a list of arguments, got {kind_of(args)}")
        label = node.get("label", default_label(node["id"]))
        if label is not None and not isinstance(label, str):
            self.fail(path + ".label", f"a label must be a string or null, got {kind_of(label)}")
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
            self.fail(path, f"an argument is an input name, an earlier node id or a number, got {kind_of(arg)}")
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
