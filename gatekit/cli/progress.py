"""A progress bar for long optimization runs, only where a person is watching.

It appears on stderr when both stdout and stderr are terminals, never with ``--json``,
and only once a run has taken longer than a moment, so quick runs print nothing extra.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["ProgressBar", "wanted"]

#: Seconds a run must take before a bar is worth drawing.
DELAY = 0.3


def wanted(json: bool) -> bool:
    return not json and _isatty(sys.stdout) and _isatty(sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """``progress(step, steps)`` for :func:`gatekit.optimize`; a context manager that cleans up."""

    def __init__(self, labels: list[str], enabled: bool):
        self.labels = labels  # one per run: compare() runs several, one after another
        self.enabled = enabled
        self.started = time.perf_counter()
        self._run = 0
        self._last_step = 0
        self._bar: Any = None
        self._task: Any = None

    def _label(self) -> str:
        return self.labels[min(self._run, len(self.labels) - 1)] if self.labels else "optimizing"

    def __call__(self, step: int, steps: int) -> None:
        if not self.enabled:
            return
        if step <= self._last_step:  # the steps started again: the next run
            self._run += 1
        self._last_step = step
        if self._bar is None:
            if time.perf_counter() - self.started < DELAY:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self._label(), total=steps)
        self._bar.update(self._task, completed=step, total=steps, description=self._label())

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
