"""`fresh run` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def run_wrapped(
    name: str, argv: list[str], url: str | None, config: Path | None, checks: Path | None
) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh run` is not built yet")
