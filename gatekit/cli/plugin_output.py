"""What plugin code prints while a command runs: kept off stdout, one stderr line each.

stdout belongs to the command (``--json`` above all). What a plugin prints while it is
imported or its hooks run is captured where that happens
(:func:`gatekit.containment.captured_output`). A gate's forward or backward, or a
strategy's step, runs inside the engine's loops, where swapping the streams around every
call would cost every call, printing or not. So, while a command runs, ``sys.stdout`` is
a thin stream that asks who is writing only when something is written: a write from
inside a registered gate or strategy (a frame on the stack running its ``forward``,
``backward``, ``init`` or ``step``) is that plugin's and is held back; anything else
(the command's own output) goes straight through.
When the command ends, each distinct line a plugin printed becomes one line on stderr
(``Warning: plugin 'chatty' (gate 'loud') said: hello (1000 times)``).

Not covered: writes to ``sys.stdout.buffer``, ``sys.__stdout__`` or the file descriptor
itself, and prints from code that no gate or strategy frame leads to (a thread the plugin
started). What a plugin writes to stderr is left alone: it breaks no ``--json``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

from ..registry import Entry, Registry

__all__ = ["plugin_prints_held_for_stderr"]

#: A printed line longer than this is cut (a plugin that prints an array of a million numbers).
MAX_LINE = 300
#: Distinct lines shown per command; the rest are counted in one last line.
MAX_LINES = 10
#: How far up the stack a write looks for a gate or a strategy.
MAX_DEPTH = 200
#: The methods through which gatekit runs plugin code while a command runs.
_CALLED = {"gate": ("forward", "backward"), "strategy": ("init", "step")}


class _HeldStdout:
    """sys.stdout while a command runs: the command's writes pass, a plugin's are held."""

    def __init__(self, stream: Any, loaded: Callable[[], Registry | None]):
        self._stream = stream
        self._loaded = loaded
        self._owners: dict[int, Entry] = {}  # id of a gate or strategy object -> its entry
        self._owners_of: Registry | None = None
        self._codes: dict[CodeType, list[int]] = {}  # the code of each method the engine calls -> whose
        # Keyed by the object's id: entries hold plugin objects, which need not be hashable.
        self._pending: dict[int, str] = {}  # a plugin's text since its last newline
        self.lines: dict[tuple[int, str], int] = {}  # (who, line) -> how often
        self.dropped = 0  # lines past MAX_LINES distinct ones

    def write(self, text: str) -> int:
        owner = self._owner()
        if owner is None:
            return self._stream.write(text)
        pending = self._pending.get(owner, "") + str(text)
        *done, rest = pending.split("\n")
        if len(rest) > MAX_LINE:  # no newline coming: do not hold text without end
            done.append(rest)
            rest = ""
        self._pending[owner] = rest
        for line in done:
            self._record(owner, line)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, buffer: the stream's own
        return getattr(self._stream, name)

    def finish(self) -> None:
        for owner, rest in self._pending.items():
            self._record(owner, rest)
        self._pending.clear()

    def held(self) -> Iterator[tuple[Entry, str, int]]:
        """Each distinct line held: who printed it, the line, how often."""
        for (who, line), times in self.lines.items():
            yield self._owners[who], line, times

    def _record(self, owner: int, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE - 3] + "..."
        key = (owner, line)
        if key in self.lines:
            self.lines[key] += 1
        elif len(self.lines) < MAX_LINES:
            self.lines[key] = 1
        else:
            self.dropped += 1

    def _owner(self) -> int | None:
        """The id of the gate or strategy whose code is writing, or None for everyone else."""
        registry = self._loaded()
        if registry is None:  # no plugin loaded yet, so no gate or strategy has run
            return None
        if registry is not self._owners_of:
            for kind in ("gate", "strategy"):
                for entry in registry.iter_entries(kind):
                    self._owners[id(entry.obj)] = entry
                    for method in _CALLED[kind]:
                        function = getattr(entry.obj, method, None)
                        code = getattr(getattr(function, "__func__", function), "__code__", None)
                        if code is not None:
                            self._codes.setdefault(code, []).append(id(entry.obj))
            self._owners_of = registry
        frame: FrameType | None = sys._getframe(2)  # the writer: above _owner() and write()
        for _ in range(MAX_DEPTH):
            if frame is None:
                return None
            candidates = self._codes.get(frame.f_code)
            if candidates:  # a gate's or strategy's method; its self says which one (a class may serve two)
                if len(candidates) == 1:
                    return candidates[0]
                who = id(frame.f_locals.get("self"))
                return who if who in candidates else candidates[0]
            frame = frame.f_back
        return None


@contextlib.contextmanager
def plugin_prints_held_for_stderr(loaded: Callable[[], Registry | None],
                                  warn: Callable[[str], None]) -> Iterator[None]:
    """While the block runs, what gates and strategies print goes to ``warn`` (one call a line).

    ``loaded`` gives the registry of the run once it is loaded (None before).
    """
    held = _HeldStdout(sys.stdout, loaded)
    sys.stdout = held  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.stdout is held:
            sys.stdout = held._stream
        held.finish()
        for entry, line, times in held.held():
            count = f" ({times} times)" if times > 1 else ""
            warn(f"plugin {entry.plugin.name!r} ({entry.kind} {entry.name!r}) said: {line}{count}")
        if held.dropped:
            warn(f"plugins printed {held.dropped} more line(s) while the command ran")
