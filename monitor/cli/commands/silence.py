"""`fresh silence add|list|remove`: mute alerts for a while, in the state store.

Works beside a running `fresh serve` (SQLite WAL, short write transactions); the service
reads active silences on every round, so a new silence applies to the next message.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from monitor.alerts import silences
from monitor.config.loader import load_project
from monitor.core.clock import Clock, SystemClock
from monitor.core.durations import format_duration, parse_duration
from monitor.core.errors import UsageError
from monitor.store import Store


def _store(config: Path | None) -> Store:
    settings = load_project(config=config).settings
    return Store.open(settings.state.url, settings.base_dir)


def silence_add(
    matchers: list[str],
    duration: str,
    reason: str,
    config: Path | None,
    clock: Clock | None = None,
) -> int:
    """Store a silence; print its ID."""
    try:
        parsed = silences.parse_matchers(matchers)
        length = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    now = (clock or SystemClock()).now()
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = ""
    with _store(config) as store:
        s = silences.add(
            store, parsed, starts_at=now, ends_at=now + length, reason=reason, created_by=who
        )
    typer.echo(s.id)
    return 0


def silence_list(config: Path | None, clock: Clock | None = None) -> int:
    """Print the active silences: ID, matchers, reason, end."""
    now = (clock or SystemClock()).now()
    with _store(config) as store:
        found = silences.active(store, now)
    if not found:
        typer.echo("No active silences.")
        return 0
    rows = [
        (
            s.id,
            s.describe(),
            s.reason or "-",
            f"{s.ends_at:%Y-%m-%d %H:%M:%S} UTC (in {format_duration(s.ends_at - now)})",
        )
        for s in found
    ]
    head = ("ID", "MATCHERS", "REASON", "ENDS")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for r in [head, *rows]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3])
    return 0


def silence_remove(silence_id: str, config: Path | None, clock: Clock | None = None) -> int:
    """End a silence now."""
    now = (clock or SystemClock()).now()
    with _store(config) as store:
        if not silences.remove(store, silence_id, now):
            raise UsageError(f"no active silence with ID {silence_id!r} (see `fresh silence list`)")
    typer.echo(f"Silence {silence_id} removed.")
    return 0
