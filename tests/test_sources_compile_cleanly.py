"""Every shipped source compiles without a warning.

An invalid escape in a docstring is a SyntaxWarning on every import (a DeprecationWarning
on 3.10/3.11): users see it under ``python -W error`` and in their test suites.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for d in ("gatekit", "plugins", "examples") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_without_warnings(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
