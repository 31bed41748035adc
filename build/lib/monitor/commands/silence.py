"""`fresh silence` (not built yet)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import UsageError


def silence_add(matchers: list[str], duration: str, reason: str, config: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh silence` is not built yet")


def silence_list(config: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh silence` is not built yet")


def silence_remove(silence_id: str, config: Path | None) -> int:
    """Placeholder until its issue lands."""
    raise UsageError("`fresh silence` is not built yet")
