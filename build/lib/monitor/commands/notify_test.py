"""`fresh notify-test` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def notify_test_command(owner: str, config: Path | None, checks: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh notify-test` is not built yet")
