"""Cron ticks in an IANA timezone, as Debian's cron runs jobs (via cronsim).

DST follows cron, not arithmetic: a daily tick inside the hour that spring-forward skips
fires at the jump; a daily tick inside the hour that fall-back repeats fires once; a
schedule whose hour field is `*` fires every real hour. cronsim does all three by itself
for 5-field expressions (it ticks on local wall time unless minute or hour is `*`); here we
only feed it local time and keep every tick strictly after the instant asked about.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

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


class _Gaps:
    """Known tick-free stretches of one schedule: [lo, tick) has no tick before `tick`.

    cronsim takes ~30 µs per question; thousands of contracts sharing a schedule (and a
    service asking again every poll) mostly fall in a stretch already known.
    """

    def __init__(self) -> None:
        self.ticks: list[datetime] = []  # sorted
        self.los: list[datetime] = []  # los[i]: earliest instant known to lead to ticks[i]

    def find(self, after: datetime) -> datetime | None:
        i = bisect_right(self.ticks, after)
        if i < len(self.ticks) and self.los[i] <= after:
            return self.ticks[i]
        return None

    def add(self, after: datetime, tick: datetime) -> None:
        i = bisect_left(self.ticks, tick)
        if i < len(self.ticks) and self.ticks[i] == tick:
            self.los[i] = min(self.los[i], after)
        elif len(self.ticks) < _GAPS_KEPT:
            self.ticks.insert(i, tick)
            self.los.insert(i, after)


_GAPS_KEPT = 4096
_gaps: dict[tuple[str, str], _Gaps] = {}


def first_tick_after(expr: str, tz: str, after: datetime) -> datetime:
    """The first tick of `expr` (read in zone `tz`) strictly after `after`, in UTC."""
    after = _require_aware(after).astimezone(UTC)
    gaps = _gaps.get((expr, tz))
    if gaps is None:
        if len(_gaps) >= 1024:
            _gaps.clear()
        gaps = _gaps[(expr, tz)] = _Gaps()
    known = gaps.find(after)
    if known is not None:
        return known
    tick = _compute_first_tick_after(expr, tz, after)
    gaps.add(after, tick)
    return tick


def _compute_first_tick_after(expr: str, tz: str, after: datetime) -> datetime:
    for tick in CronSim(expr, after.astimezone(_zone(tz))):
        # In wall-time mode cronsim forgets `fold`: after the first pass through a
        # repeated hour it may offer a tick that is earlier in real time. Skipping it
        # is what makes a daily tick in the repeated hour fire once.
        at = tick.astimezone(UTC)
        if at > after:
            return at
    raise ValueError(f"cron expression {expr!r} never fires")  # pragma: no cover
