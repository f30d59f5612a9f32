"""Reading circuit files: from a path or an open file, or from JSON text, to a circuit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .bounded_files import MAX_FILE_BYTES, check_path_or_file, read_limited
from .circuit import Circuit
from .circuit_file_checks import circuit_from_dict
from .circuit_file_format import PathOrFile, file_error, NonStandard

if TYPE_CHECKING:
    from .registry import Registry


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


def load(path_or_file: PathOrFile, registry: Registry | None = None) -> Circuit:
    """The circuit in a circuit file (a path or an open file).

    A path must be a regular file of at most
    :data:`~gatekit.bounded_files.MAX_FILE_BYTES`: a FIFO or a device (``/dev/zero``)
    is refused before it is opened, so nothing blocks or reads without end.
    """
    check_path_or_file(path_or_file, "load", file_error)
    if hasattr(path_or_file, "read"):
        source = str(getattr(path_or_file, "name", "<file>"))
        text = path_or_file.read(MAX_FILE_BYTES + 1)  # type: ignore[union-attr]
        if len(text) > MAX_FILE_BYTES:
            raise file_error(f"the file is larger than {MAX_FILE_BYTES} bytes, the most gatekit reads", source=source)
    else:
        source = str(path_or_file)
        try:
            text = read_limited(path_or_file, file_error)  # type: ignore[arg-type]
        except FileNotFoundError:
            raise file_error(f"no such circuit file: {source}") from None
        except IsADirectoryError:
            raise file_error(f"{source} is a directory, not a circuit file") from None
        except OSError as exc:
            raise file_error(f"cannot read the circuit file: {exc.strerror or exc}", source=source) from None
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise file_error(f"not UTF-8 text (byte {exc.start}); a circuit file is JSON", source=source) from None
    if not isinstance(text, str):
        raise file_error(f"reading the file gave {type(text).__name__}, not text", source=source)
    return loads(text, registry, source=source)


def loads(text: str, registry: Registry | None = None, source: str | None = None) -> Circuit:
    """The circuit in JSON text; ``source`` names it in errors."""
    try:
        data = json.loads(text, parse_constant=NonStandard, parse_int=_parse_int, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise file_error(f"the key {exc.key!r} appears twice in one object; each key may appear once "
                     "(JSON readers disagree on which one would count)", source=source) from None
    except json.JSONDecodeError as exc:
        raise file_error(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source) from None
    except RecursionError:
        raise file_error("invalid circuit file: the JSON is nested too deeply", source=source) from None
    return circuit_from_dict(data, registry, source=source)
