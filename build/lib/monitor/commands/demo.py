"""`fresh demo` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def demo_command(listen: str, notify: str | None, directory: Path) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh demo` is not built yet")
