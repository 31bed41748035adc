"""`fresh init` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def init_project(directory: Path) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh init` is not built yet")
