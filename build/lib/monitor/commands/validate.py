"""`fresh validate` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def validate_project(config: Path | None, checks: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh validate` is not built yet")
