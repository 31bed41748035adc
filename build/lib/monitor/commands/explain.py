"""`fresh explain` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def explain_command(name: str, config: Path | None, checks: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh explain` is not built yet")
