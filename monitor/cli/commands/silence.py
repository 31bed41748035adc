"""`fresh silence add|list|remove`: mute alerts for a while, in the state store.

Works beside a running `fresh serve` (SQLite WAL, short write transactions); the service
reads active silences on every round, so a new silence applies to the next message.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from monitor.alerts import maintenance, silences
from monitor.config.alert_settings import parse_timestamp
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
    duration: str | None,
    reason: str,
    config: Path | None,
    clock: Clock | None = None,
    *,
    until: str | None = None,
) -> int:
    """Store a silence ending after `duration` (`--for`) or at `until`; print its ID."""
    if (duration is None) == (until is None):
        raise UsageError("give how long the silence lasts: --for DURATION or --until TIMESTAMP")
    now = (clock or SystemClock()).now()
    try:
        parsed = silences.parse_matchers(matchers)
        ends_at = now + parse_duration(duration) if duration else parse_timestamp(until)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if ends_at <= now:
        raise UsageError(f"--until {until} is not in the future")
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = ""
    with _store(config) as store:
        s = silences.add(
            store, parsed, starts_at=now, ends_at=ends_at, reason=reason, created_by=who
        )
    typer.echo(s.id)
    return 0


def silence_list(config: Path | None, clock: Clock | None = None) -> int:
    """Print the active silences and open maintenance windows: ID, source, matchers, reason,
    end. Stored silences have source `store`; windows of fresh.yml have source `config`."""
    now = (clock or SystemClock()).now()
    settings = load_project(config=config).settings
    with Store.open(settings.state.url, settings.base_dir) as store:
        found = silences.active(store, now)
    windows = maintenance.open_windows(settings.alerts.maintenance, now)
    if not found and not windows:
        typer.echo("No active silences.")
        return 0
    items = [(s.id, "store", s.describe(), s.reason, s.ends_at) for s in found]
    items += [(w.id, "config", w.describe(), w.window.reason, w.ends_at) for w in windows]
    rows = [
        (
            ident,
            source,
            matchers,
            reason or "-",
            f"{end:%Y-%m-%d %H:%M:%S} UTC",
            f"(in {format_duration(end - now)})",
        )
        for ident, source, matchers, reason, end in sorted(items, key=lambda i: i[4])
    ]
    head = ("ID", "SOURCE", "MATCHERS", "REASON", "ENDS", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        cells = "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True))
        typer.echo(f"{cells}  {r[4]} {r[5]}".rstrip())
    return 0


def silence_remove(silence_id: str, config: Path | None, clock: Clock | None = None) -> int:
    """End a silence now."""
    now = (clock or SystemClock()).now()
    with _store(config) as store:
        if silence_id.startswith("config-"):
            raise UsageError(
                f"{silence_id} is a maintenance window of fresh.yml: edit alerts.maintenance there"
            )
        if not silences.remove(store, silence_id, now):
            raise UsageError(f"no active silence with ID {silence_id!r} (see `fresh silence list`)")
    typer.echo(f"Silence {silence_id} removed.")
    return 0
