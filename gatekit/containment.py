"""Plugin code runs in gatekit's process; what it raises is contained by one rule.

The rule: **whatever plugin code raises is the plugin's failure** (``Exception``,
``SystemExit``, ``GeneratorExit``, ``KeyboardInterrupt`` and any other
``BaseException`` subclass), **except a KeyboardInterrupt the user caused**. The
places that call plugin code (importing it, its hooks, a gate's forward and backward,
a strategy's init and step) catch ``BaseException`` and pass it through
:func:`is_user_interrupt`: the user's Ctrl-C goes on stopping the run, everything
else becomes a load error or a :class:`~gatekit.PluginError` naming the plugin.

Telling the two KeyboardInterrupts apart: a real Ctrl-C is a SIGINT. While
:func:`watching_interrupts` is active (the CLI activates it for every command) the
SIGINT handler notes that the signal arrived before raising, so a KeyboardInterrupt
with no SIGINT behind it was raised by code. Outside it (gatekit used as a library,
in a notebook whose kernel has its own handler) gatekit cannot tell, and takes every
KeyboardInterrupt as the user's: swallowing a real Ctrl-C would be worse than letting
a plugin's fake one through.

What cannot be contained: a plugin runs in this process, so ``os._exit``, a crash in
C code, a plugin that sleeps or loops forever on import, or one that monkeypatches
numpy or gatekit itself are beyond any ``except`` clause.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["is_user_interrupt", "watching_interrupts", "captured_output", "describe"]

_watching = 0  # how many watching_interrupts() blocks are active
_sigint_seen = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _sigint_seen
    _sigint_seen = True
    raise KeyboardInterrupt


def is_user_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's Ctrl-C (to re-raise), not something plugin code raised."""
    if not isinstance(exc, KeyboardInterrupt):
        return False
    return _sigint_seen or not _watching


@contextlib.contextmanager
def watching_interrupts() -> Iterator[None]:
    """Note real SIGINTs while the block runs, so plugin-raised KeyboardInterrupts can be told apart.

    Only installs its handler over Python's default one, in the main thread; otherwise
    (another handler, another thread) it changes nothing and every KeyboardInterrupt
    counts as the user's.
    """
    global _watching, _sigint_seen
    installed = False
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, _on_sigint)
                installed = True
        except (ValueError, OSError):  # no signals here (some embedded interpreters)
            installed = False
    if installed:
        _watching += 1
        _sigint_seen = False
    try:
        yield
    finally:
        if installed:
            _watching -= 1
            signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def captured_output(record: Callable[[str], None]) -> Iterator[None]:
    """Catch what plugin code prints (stdout, stderr) or warns, and ``record`` each line once.

    stdout belongs to ``--json``, and a raw warning is two lines on stderr. Writes to
    the real file descriptors (``os.write(1, ...)``, ``sys.__stdout__``) are beyond
    this, and so is output from another thread while it runs (the streams are swapped
    for the whole process).
    """
    printed = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                yield
        finally:
            lines = [line.strip() for line in printed.getvalue().splitlines()]
            lines += [f"{w.category.__name__}: {w.message}" for w in caught]
            for line in dict.fromkeys(line for line in lines if line):
                record(line if len(line) <= 300 else line[:297] + "...")


def describe(exc: BaseException) -> str:
    """``TypeName: message`` (or just the type's name when the message is empty)."""
    try:
        text = str(exc)
    except BaseException:  # a hostile __str__: the type's name still says something
        text = ""
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
