"""The `owners:` and `alerts:` sections of fresh.yml (SPEC sections 2 and 7): owners,
routes, maintenance windows and the alert lifecycle settings, as frozen pydantic models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from monitor.config.values import (
    SEVERITIES,
    Duration,
    ItemError,
    MatchValue,
    Model,
    NotifyUrl,
    check_timezone,
    did_you_mean,
)

NOTIFY_STATUSES = ("warn", "stale", "error")
ROUTE_KEYS = ("contract", "owner", "tag", "severity")


class Owner(Model):
    """An owner: the routing key of every alert."""

    notify: tuple[NotifyUrl, ...] = ()
    repeat_every: Duration | None = None


class Route(Model):
    """An Alertmanager-style extra route."""

    match: dict[str, MatchValue] = Field(default_factory=dict)
    notify: tuple[NotifyUrl, ...] = ()
    continue_: bool = Field(default=False, alias="continue")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("match")
    @classmethod
    def _match_keys(cls, match: dict[str, str]) -> dict[str, str]:
        return check_match(match)


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


class MaintenanceWindow(Model):
    """A silence declared in fresh.yml: a cron `schedule` + `duration` (read in `timezone`),
    or one-off `start` / `end` times."""

    match: dict[str, MatchValue] = Field(default_factory=dict)
    schedule: str | None = None
    duration: Duration | None = None
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None
    reason: str = ""

    @field_validator("match")
    @classmethod
    def _match_keys(cls, match: dict[str, str]) -> dict[str, str]:
        return check_match(match)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return check_timezone(name)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, expr: str | None) -> str | None:
        # imported here: cronsim costs every command's start-up, and few configs have windows
        from monitor.core.schedule import validate_cron

        problem = None if expr is None else validate_cron(expr)
        if problem:
            raise ValueError(problem)
        return expr

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parse_timestamp(value, str(info.data.get("timezone") or "UTC"))
        return str(value)

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        cron = self.schedule is not None or self.duration is not None
        once = self.start is not None or self.end is not None
        if cron and once:
            raise ValueError("give either schedule + duration or start + end, not both")
        if cron and (self.schedule is None or self.duration is None):
            raise ValueError("a scheduled window needs both schedule and duration")
        if once and (self.start is None or self.end is None):
            raise ValueError("a one-off window needs both start and end")
        if not cron and not once:
            raise ValueError("give schedule + duration (cron) or start + end (one-off)")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("duration must be positive")
        if once and self.starts_at >= self.ends_at:
            raise ValueError("end must be after start")
        return self

    @property
    def starts_at(self) -> datetime:
        """A one-off window's start, aware UTC."""
        return parse_timestamp(self.start, self.timezone)

    @property
    def ends_at(self) -> datetime:
        """A one-off window's end, aware UTC."""
        return parse_timestamp(self.end, self.timezone)


class Alerts(Model):
    """Alert lifecycle and routing settings."""

    notify_on: tuple[str, ...] = ("stale", "error")
    repeat_every: Duration = timedelta(hours=4)
    send_resolved: bool = True
    group_wait: Duration = timedelta(seconds=30)
    fallback: tuple[NotifyUrl, ...] = ()
    routes: tuple[Route, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    @field_validator("notify_on")
    @classmethod
    def _statuses(cls, statuses: tuple[str, ...]) -> tuple[str, ...]:
        for i, s in enumerate(statuses):
            if s not in NOTIFY_STATUSES:
                raise ItemError(
                    f"unknown status {s!r}{did_you_mean(s, NOTIFY_STATUSES)}"
                    " (notify_on takes warn, stale and error)",
                    i,
                )
        return statuses


