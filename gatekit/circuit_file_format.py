"""The circuit file format's shared pieces: its name and version, its keys, and its errors.

The format itself is described in :mod:`gatekit.circuit_file`; the writer
(:mod:`~gatekit.circuit_file_writer`), the reader (:mod:`~gatekit.circuit_file_reader`)
and the checks that build a circuit from file data (:mod:`~gatekit.circuit_file_checks`)
all speak through this module, so each rule is written once.
"""

from __future__ import annotations

import os
from typing import IO, Any, Union

from .errors import CircuitFileError

__all__ = ["FORMAT", "VERSION", "TOP_KEYS", "INPUT_KEYS", "NODE_KEYS", "PathOrFile", "NonStandard", "file_error",
           "kind_of", "default_label", "join_path"]

FORMAT = "gatekit-circuit"
VERSION = 1
TOP_KEYS = ("format", "version", "inputs", "nodes", "output", "description")
INPUT_KEYS = ("name", "default")
NODE_KEYS = ("id", "gate", "args", "label")
PathOrFile = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]


class NonStandard:
    """What ``NaN``/``Infinity`` in a file decode to, so validation can name their path."""

    def __init__(self, text: str):
        self.text = text


def file_error(message: str, path: str = "", source: str | None = None) -> CircuitFileError:
    where = ": ".join(part for part in (source, path) if part)
    error = CircuitFileError(f"{where}: {message}" if where else message)
    error.path, error.source = path, source  # type: ignore[attr-defined]
    return error


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, NonStandard):
        return value.text
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def default_label(node_id: str) -> str | None:
    return None if node_id.startswith("#") else node_id


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
