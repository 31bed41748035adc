"""The `owners:` and `alerts:` sections of fresh.yml (SPEC sections 2 and 7): owners,
routes, maintenance windows and the alert lifecycle settings, as frozen dataclasses, with
the checks both validators (settings_lean.py, settings_schema.py) apply to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config.values import SEVERITIES, ItemError, did_you_mean

NOTIFY_STATUSES = ("warn", "stale", "error")
ROUTE_KEYS = ("contract", "owner", "tag", "severity")


@dataclass(frozen=True)
class Owner:
    """An owner: the routing key of every alert."""

    notify: tuple[str, ...] = ()
    repeat_every: timedelta | None = None


@dataclass(frozen=True)
class Route:
    """An Alertmanager-style extra route (`continue` in fresh.yml)."""

    match: dict[str, str] = field(default_factory=dict)
    notify: tuple[str, ...] = ()
    continue_: bool = False


def check_match(match: dict[str, str]) -> dict[str, str]:
    """A route's (or maintenance window's) `match`: known keys, known severities."""
    for key, value in match.items():
        if key.startswith("metadata.") and len(key) > len("metadata."):
            continue
        if key not in ROUTE_KEYS:
            hint = did_you_mean(key, ROUTE_KEYS) or " (use contract, owner, tag, severity"
            hint += "" if "did you mean" in hint else " or metadata.KEY)"
            raise ItemError(f"unknown match key {key!r}{hint}", key, at_key=True)
        if key == "severity" and value not in SEVERITIES:
            raise ItemError(
                f"unknown severity {value!r}{did_you_mean(value, SEVERITIES)}"
                " (info, warning or critical)",
                key,
            )
    return match


def parse_timestamp(text: Any, timezone: str = "UTC") -> datetime:
    """An ISO-8601 time (`2026-12-24T18:00:00Z`, or with an offset) as aware UTC; a time
    without an offset is read in `timezone`. ValueError with the accepted forms."""
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise ValueError(
                f"{str(text)!r} is not a time (use ISO-8601, e.g. 2026-12-24T18:00:00Z)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A silence declared in fresh.yml: a cron `schedule` + `duration` (read in `timezone`),
    or one-off `start` / `end` times."""

    match: dict[str, str] = field(default_factory=dict)
    schedule: str | None = None
    duration: timedelta | None = None
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None
    reason: str = ""

    @property
    def starts_at(self) -> datetime:
        """A one-off window's start, aware UTC."""
        return parse_timestamp(self.start, self.timezone)

    @property
    def ends_at(self) -> datetime:
        """A one-off window's end, aware UTC."""
        return parse_timestamp(self.end, self.timezone)


def check_cron(expr: str | None) -> str | None:
    """A maintenance window's `schedule`: a cron expression."""
    # imported here: cronsim costs every command's start-up, and few configs have windows
    from monitor.core.schedule import validate_cron

    problem = None if expr is None else validate_cron(expr)
    if problem:
        raise ValueError(problem)
    return expr


def check_window(w: Any) -> None:
    """A maintenance window is cron (schedule + duration) or one-off (start + end)."""
    cron = w.schedule is not None or w.duration is not None
    once = w.start is not None or w.end is not None
    if cron and once:
        raise ValueError("give either schedule + duration or start + end, not both")
    if cron and (w.schedule is None or w.duration is None):
        raise ValueError("a scheduled window needs both schedule and duration")
    if once and (w.start is None or w.end is None):
        raise ValueError("a one-off window needs both start and end")
    if not cron and not once:
        raise ValueError("give schedule + duration (cron) or start + end (one-off)")
    if w.duration is not None and w.duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if once and parse_timestamp(w.start, w.timezone) >= parse_timestamp(w.end, w.timezone):
        raise ValueError("end must be after start")


@dataclass(frozen=True)
class Alerts:
    """Alert lifecycle and routing settings."""

    notify_on: tuple[str, ...] = ("stale", "error")
    repeat_every: timedelta = timedelta(hours=4)
    send_resolved: bool = True
    group_wait: timedelta = timedelta(seconds=30)
    fallback: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()


def check_statuses(statuses: tuple[str, ...]) -> tuple[str, ...]:
    """`notify_on`: warn, stale, error."""
    for i, s in enumerate(statuses):
        if s not in NOTIFY_STATUSES:
            raise ItemError(
                f"unknown status {s!r}{did_you_mean(s, NOTIFY_STATUSES)}"
                " (notify_on takes warn, stale and error)",
                i,
            )
    return statuses
