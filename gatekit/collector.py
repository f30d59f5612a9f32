"""The garbage collector paused while a large graph is being made.

Building a circuit allocates many objects and frees none, so the collector's passes
over them find nothing to free and, on big circuits, cost more than the building.
Nothing built under the pause forms a reference cycle (the Composer holds its cached
gate functions through a weak reference), so nothing is left for the collector later.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block; enable it again only if it was on (pauses nest)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
