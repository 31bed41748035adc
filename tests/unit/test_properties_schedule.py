"""Property tests (hypothesis) for cron schedules across DST (SPEC section 3).

Times near each zone's DST changes are drawn on purpose; every tick must be strictly later
than the one before, be a real local time that matches the expression (or, for a daily time
that spring-forward skips, the jump itself), and no matching time may be missed except the
second pass of a repeated hour for a fixed-time job. The deadline rule is monotonic in
`last_update`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from cronsim import CronSim
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.core.evaluate import evaluate
from monitor.core.models import Contract, Expectation, Reading, TableSource
from monitor.core.schedule import first_tick_after

# Zones with DST: both hemispheres, a 30-minute shift (Lord Howe), a change at midnight
# (Santiago, Havana), and one at 01:00 UTC for every European zone.
ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
)
MINUTE = timedelta(minutes=1)


def next_ticks(expr: str, zone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks, each asked for after the one before (as the scheduler does)."""
    ticks = [first_tick_after(expr, zone, after)]
    while len(ticks) < count:
        ticks.append(first_tick_after(expr, zone, ticks[-1]))
    return ticks


minutes = st.sampled_from(["0", "30", "15,45", "*/7", "*", "59", "0-5"])
hours = st.sampled_from(["*", "0", "1", "2", "3", "1-3", "*/2", "23", "0,12", "2,3"])
days = st.sampled_from(["*", "1", "15", "L", "1-7"])
weekdays = st.sampled_from(["*", "1-5", "0", "6,0", "5"])


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The UTC instants at which `zone`'s offset changes, 2025-2028 (minute precision)."""
    tz = ZoneInfo(zone)
    found = []
    at = datetime(2025, 1, 1, tzinfo=UTC)
    while at.year < 2029:
        nxt = at + timedelta(hours=6)
        if at.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo = at
            while lo.astimezone(tz).utcoffset() == (lo + MINUTE).astimezone(tz).utcoffset():
                lo += MINUTE
            found.append(lo + MINUTE)
        at = nxt
    return tuple(found)


@st.composite
def near_dst(draw: st.DrawFn, zone: str) -> datetime:
    """A moment within a few days of one of `zone`'s DST changes (seconds included)."""
    change = draw(st.sampled_from(transitions(zone)))
    offset = draw(st.integers(-3 * 86400, 3 * 86400))
    return change + timedelta(seconds=offset)


@st.composite
def cases(draw: st.DrawFn, daily: bool) -> tuple[str, str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    dom, dow = ("*", "*") if daily else (draw(days), draw(weekdays))
    expr = f"{draw(minutes)} {draw(hours)} {dom} * {dow}"
    return expr, zone, draw(near_dst(zone))


def wall_time_job(expr: str) -> bool:
    """cronsim (like Debian's cron) runs jobs with a fixed minute and hour on wall time."""
    minute, hour = expr.split()[:2]
    return not minute.startswith("*") and not hour.startswith("*")


def matches(expr: str, local: datetime) -> bool:
    sim = CronSim(expr, datetime(2000, 1, 1))
    return (
        local.second == 0
        and local.minute in sim.minutes
        and local.hour in sim.hours
        and local.month in sim.months
        and sim.match_day(local.date())
    )


def jumped_over(expr: str, tick: datetime, zone: str) -> bool:
    """`tick` ends a spring-forward gap that skipped a wall time matching `expr`."""
    tz = ZoneInfo(zone)
    before, after = (tick - MINUTE).astimezone(tz), tick.astimezone(tz)
    gap = after.utcoffset() - before.utcoffset()  # type: ignore[operator]
    if gap <= timedelta(0):
        return False
    wall = after.replace(tzinfo=None)
    return any(matches(expr, wall - gap + k * MINUTE) for k in range(gap // MINUTE))


@given(cases(daily=False))
@example(("30 1 * * *", "America/New_York", datetime(2026, 11, 1, 5, 0, tzinfo=UTC)))
@example(("30 2 * * *", "America/New_York", datetime(2026, 3, 8, 6, 0, tzinfo=UTC)))
@example(("45 2 * * *", "Australia/Lord_Howe", datetime(2026, 10, 3, 14, 0, tzinfo=UTC)))
def test_ticks_rise_strictly_and_each_is_a_real_matching_local_time(
    case: tuple[str, str, datetime],
) -> None:
    expr, zone, after = case
    ticks = next_ticks(expr, zone, after, 6)
    assert ticks[0] > after
    assert all(a < b for a, b in pairwise(ticks)), ticks
    walls = []
    for tick in ticks:
        assert tick.tzinfo is UTC
        local = tick.astimezone(ZoneInfo(zone))
        assert local.astimezone(UTC) == tick  # a real local time, not an imaginary one
        assert matches(expr, local) or (wall_time_job(expr) and jumped_over(expr, tick, zone)), (
            expr,
            zone,
            after,
            tick,
            local,
        )
        walls.append(local.replace(tzinfo=None))
    if wall_time_job(expr):
        # A fixed-time job fires once per wall time, also through a repeated hour.
        assert len(set(walls)) == len(walls), (expr, zone, ticks)


@given(cases(daily=True))
@example(("30 1 * * *", "America/New_York", datetime(2026, 11, 1, 6, 10, tzinfo=UTC)))
@example(("0 * * * *", "America/New_York", datetime(2026, 11, 1, 4, 59, tzinfo=UTC)))
@example(("*/7 2 * * *", "Australia/Lord_Howe", datetime(2026, 4, 4, 14, 0, tzinfo=UTC)))
def test_no_matching_minute_is_skipped_except_a_repeated_hour_of_a_fixed_time_job(
    case: tuple[str, str, datetime],
) -> None:
    expr, zone, after = case
    tz = ZoneInfo(zone)
    at = after
    for tick in next_ticks(expr, zone, after, 3):
        minute = (at + MINUTE).replace(second=0, microsecond=0)
        while minute < tick:
            local = minute.astimezone(tz)
            if matches(expr, local):
                # Skipping is right only for a wall-time job's second pass through a
                # repeated hour (Debian's cron runs it once, in the first pass).
                assert wall_time_job(expr) and local.fold == 1, (expr, zone, after, minute, tick)
            minute += MINUTE
        at = tick


def late_contract(expr: str, zone: str, warn: timedelta, error: timedelta) -> Contract:
    return Contract(
        name="t",
        owner="o",
        warehouse="w",
        source=TableSource("t", "c"),
        expectation=Expectation(warn_after=warn, error_after=error, schedule=expr, timezone=zone),
    )


@given(
    cases(daily=False),
    st.integers(0, 4 * 86400),
    st.integers(1, 12 * 3600),
    st.integers(1, 12 * 3600),
)
def test_the_deadline_rule_is_monotonic_in_last_update(
    case: tuple[str, str, datetime], later_by: int, warn_s: int, extra_s: int
) -> None:
    expr, zone, first = case
    second = first + timedelta(seconds=later_by)
    assert first_tick_after(expr, zone, first) <= first_tick_after(expr, zone, second)
    contract = late_contract(
        expr, zone, timedelta(seconds=warn_s), timedelta(seconds=warn_s + extra_s)
    )
    now = second + timedelta(days=1)
    early = evaluate(contract, Reading("t", last_update=first), now)
    late = evaluate(contract, Reading("t", last_update=second), now)
    assert early.warn_at is not None and late.warn_at is not None
    assert early.error_at is not None and late.error_at is not None
    assert early.warn_at <= late.warn_at
    assert early.error_at <= late.error_at
    # T is the first tick after last_update: nothing is due before it.
    assert early.warn_at > first and late.warn_at > second
