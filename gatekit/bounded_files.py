"""Reading and writing files so that nothing hangs, nothing runs without end, nothing is lost.

- :func:`read_limited` reads a regular file of bounded size; a FIFO (which would
  block until a writer comes) or a device such as ``/dev/zero`` (which never ends)
  is refused before it is opened.
- :func:`write_atomically` replaces a file through a temporary file in the same
  folder, flushed to disk and renamed over the old one, so a failure at any point
  (a full disk, a Ctrl-C, a crash) leaves the old file whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable

from typing import Any

from .errors import UsageError

__all__ = ["MAX_FILE_BYTES", "check_path_or_file", "read_limited", "write_atomically"]

#: The largest file gatekit reads (a circuit file this size holds millions of nodes).
MAX_FILE_BYTES = 256 * 1024 * 1024


def check_path_or_file(path_or_file: Any, verb: str, fail: Callable[[str], Exception]) -> None:
    """A path (str, bytes or os.PathLike) or an open file; anything else is a usage error.

    An int in particular is refused: ``open`` would take it as a file descriptor (and
    close it). A path with a NUL, which no file name can hold, is ``fail(message)``.
    """
    method = "write" if verb == "save" else "read"
    if hasattr(path_or_file, method) and not isinstance(path_or_file, (str, bytes)):
        return
    if isinstance(path_or_file, (str, bytes, os.PathLike)):
        path = os.fspath(path_or_file)
        if ("\x00" if isinstance(path, str) else b"\x00") in path:
            raise fail(f"the path {path!r} holds a NUL character, which no file name can")
        return
    raise UsageError(
        f"{verb}() takes a file path (str or pathlib.Path) or an open file, got {type(path_or_file).__name__}"
    )


def read_limited(
    path: str | bytes | os.PathLike[str], fail: Callable[[str], Exception], limit: int = MAX_FILE_BYTES
) -> bytes:
    """The bytes of the regular file at ``path``; ``fail(message)`` builds the error otherwise.

    Pipes, devices and files over ``limit`` bytes are refused through ``fail``; the
    system's own errors (``FileNotFoundError``, ``IsADirectoryError``, ...) propagate
    for the caller to word.
    """
    shown = os.fsdecode(path)
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "Is a directory", shown)
    if not stat.S_ISREG(info.st_mode):
        raise fail(f"{shown} is not a regular file (a pipe, socket or device), so it is not read")
    if info.st_size > limit:
        raise fail(f"{shown} is {info.st_size} bytes, more than the {limit} gatekit reads")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew since the stat
        raise fail(f"{shown} is more than the {limit} bytes gatekit reads")
    return data


def write_atomically(path: str | bytes | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` so that it is never seen half written.

    The new file keeps the old one's permissions (or gets the usual ones for a new
    file); a symbolic link is followed, so the file it points at is the one replaced.
    """
    target = os.path.realpath(os.fsdecode(path))
    folder = os.path.dirname(target) or "."
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, temp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # the rename itself on disk; not every system allows it
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)

