"""`fresh ping` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def ping_command(
    name: str,
    start: bool,
    fail: bool,
    exit_code: int | None,
    url: str | None,
    config: Path | None,
    checks: Path | None,
) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh ping` is not built yet")
