"""Cron ticks in an IANA timezone, as Debian's cron runs jobs (via cronsim).

DST follows cron, not arithmetic: a daily tick inside the hour that spring-forward skips
fires at the jump; a daily tick inside the hour that fall-back repeats fires once; a
schedule whose hour field is `*` fires every real hour. cronsim does all three by itself
for 5-field expressions (it ticks on local wall time unless minute or hour is `*`); here we
only feed it local time and keep every tick strictly after the instant asked about.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

_FIELDS = "minute hour day-of-month month day-of-week"


def validate_cron(expr: str) -> str | None:
    """Return why `expr` is not a usable 5-field cron expression, or None when it is."""
    if not isinstance(expr, str) or not expr.strip():
        return "empty cron expression (use 5 fields: minute hour day-of-month month weekday)"
    fields = expr.split()
    if len(fields) != 5:
        return f"cron expression {expr!r} has {len(fields)} fields; it needs 5 ({_FIELDS})"
    try:
        next(CronSim(expr, datetime(2000, 1, 1)))
    except CronSimError as exc:
        return f"invalid cron expression {expr!r}: {str(exc).lower()}"
    except StopIteration:
        return f"cron expression {expr!r} never fires"
    return None


def validate_timezone(name: str) -> str | None:
    """Return why `name` is not a known IANA timezone, or None when it is."""
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin or UTC)"
    return None


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    # cronsim skips its DST handling for datetime.UTC, which is also faster.
    if name in ("UTC", "Etc/UTC", "utc"):
        return UTC
    return ZoneInfo(name)


def _require_aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware (UTC)")
    return when


def first_tick_after(expr: str, tz: str, after: datetime) -> datetime:
    """The first tick of `expr` (read in zone `tz`) strictly after `after`, in UTC."""
    after = _require_aware(after).astimezone(UTC)
    for tick in CronSim(expr, after.astimezone(_zone(tz))):
        # In wall-time mode cronsim forgets `fold`: after the first pass through a
        # repeated hour it may offer a tick that is earlier in real time. Skipping it
        # is what makes a daily tick in the repeated hour fire once.
        at = tick.astimezone(UTC)
        if at > after:
            return at
    raise ValueError(f"cron expression {expr!r} never fires")  # pragma: no cover


def next_ticks(expr: str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks strictly after `after`, in UTC, each once."""
    ticks: list[datetime] = []
    at = after
    for _ in range(count):
        at = first_tick_after(expr, tz, at)
        ticks.append(at)
    return ticks
