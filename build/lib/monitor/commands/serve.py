"""`fresh serve` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def serve_command(
    config: Path | None, checks: Path | None, listen: str | None, log_format: str
) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh serve` is not built yet")
