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

from .bounded_files import MAX_FILE_BYTES
from .circuit_file_checks import circuit_from_dict
from .circuit_file_format import FORMAT, VERSION
from .circuit_file_reader import load, loads
from .circuit_file_writer import circuit_to_dict, dumps, save

__all__ = ["FORMAT", "VERSION", "MAX_FILE_BYTES", "save", "load", "dumps", "loads", "circuit_to_dict", "circuit_from_dict"]
