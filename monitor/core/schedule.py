"""Cron ticks in an IANA timezone, as Debian's cron runs jobs (via cronsim).

DST follows cron, not arithmetic: a daily tick inside the hour that spring-forward skips
fires at the jump; a daily tick inside the hour that fall-back repeats fires once; a
schedule whose hour field is `*` fires every real hour. cronsim does all three by itself
for 5-field expressions (it ticks on local wall time unless minute or hour is `*`); here we
only feed it local time and keep every tick strictly after the instant asked about.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta, timezone, tzinfo
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
    zone = _zone(tz)
    if zone is not UTC and not _wall_time(expr):
        return _real_time_tick(expr, zone, after)
    for tick in CronSim(expr, after.astimezone(zone)):
        # In wall-time mode cronsim forgets `fold`: after the first pass through a
        # repeated hour it may offer a tick that is earlier in real time. Skipping it
        # is what makes a daily tick in the repeated hour fire once.
        at = tick.astimezone(UTC)
        if at > after:
            return at
    raise ValueError(f"cron expression {expr!r} never fires")  # pragma: no cover


def _wall_time(expr: str) -> bool:
    """cronsim runs a job with a fixed minute and hour on wall time (as Debian's cron)."""
    minute, hour = expr.split()[:2]
    return not minute.startswith("*") and not hour.startswith("*")


def _real_time_tick(expr: str, zone: tzinfo, after: datetime) -> datetime:
    """The first real instant after `after` whose local time in `zone` matches `expr`.

    cronsim's own handling of an aware zone steps whole hours and builds midnights that may
    not exist: it skipped ticks where the offset moves by 30 minutes (Lord Howe) and
    returned a nonexistent 00:00 where DST starts at midnight (Santiago, Havana, Beirut…);
    the property tests found both. Within one span of constant offset a fixed-offset zone
    is exact, so ask cronsim per span and move to the next span when its answer lies past
    an offset change.
    """
    at, offset = after, after.astimezone(zone).utcoffset()
    for _ in range(64):  # a year holds a few offset changes; a tick is at most years away
        assert offset is not None
        tick = next(CronSim(expr, at.astimezone(timezone(offset)))).astimezone(UTC)
        change = _offset_change(zone, at, tick, offset)
        if change is None:
            return tick
        # The next span starts at `change`: cronsim's first candidate is `change` itself.
        at, offset = change - timedelta(seconds=1), change.astimezone(zone).utcoffset()
    raise ValueError(f"cron expression {expr!r} never fires")  # pragma: no cover


def _offset_change(
    zone: tzinfo, lo: datetime, hi: datetime, offset: timedelta
) -> datetime | None:
    """The first whole second in (lo, hi] where `zone`'s offset is not `offset`, or None."""

    def other(at: datetime) -> bool:
        return at.astimezone(zone).utcoffset() != offset

    # Offsets hold for weeks at a time: a probe a week apart cannot step over a change and
    # its undoing. Then bisect to the second.
    probe, good = lo.replace(microsecond=0), lo.replace(microsecond=0)
    while True:
        probe = min(probe + timedelta(days=7), hi)
        if other(probe):
            break
        if probe >= hi:
            return None
        good = probe
    bad = probe
    while bad - good > timedelta(seconds=1):
        mid = good + (bad - good) // 2
        mid = mid.replace(microsecond=0)
        if other(mid):
            bad = mid
        else:
            good = mid
    return bad
