"""Driving the CLI in-process, for the tests/test_cli*.py files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gatekit.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # typer's own runner and click >= 8.2 always keep them apart
        return CliRunner()


RUNNER = _runner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return RUNNER.invoke(app, list(args), env=env)


def run_json(*args: str) -> Any:
    """Run a command with --json, check it succeeded, and parse its stdout."""
    result = invoke(*args, "--json")
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def assert_error(result: Any, code: int, *fragments: str) -> str:
    """The run failed with ``code`` and exactly one line on stderr, ``Error: ...``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.stderr
    return lines[0]


def plugin(name: str) -> str:
    return str(FIXTURES / name)
