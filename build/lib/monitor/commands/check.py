"""`fresh check` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def check_command(
    config: Path | None,
    checks: Path | None,
    select: list[str],
    fmt: str,
    output: Path | None,
    fail_on: str,
    at: str | None,
) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh check` is not built yet")
