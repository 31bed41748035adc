"""Learned expectations (SPEC section 13): limits from a contract's own update history.

Pure: the history (update times), the last update and `now` come in as values.

- The *usual age* U(t): for each past week k, take the same local time of week in the
  contract's timezone k weeks back and the largest age the data had at any moment of the
  30 minutes up to it (ages as they were then). A week counts only when those 30 minutes
  lie after the first known update. U(t) is the largest over the counted weeks, but with
  4 or more the single largest is dropped (one past incident does not teach lateness).
- slack = U/4 clamped to [10m, 2h]; warn once age >= U + slack/2, stale once age >= U +
  slack. The deadlines are the first moments at which that holds without a new update.
- With fewer than 2 counted weeks but at least 3 days of history, days replace weeks;
  with less, the contract is still learning.

Times are float epoch seconds inside; core/learn_profile.py holds the arithmetic (U(t) and
the exact deadline search).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.core.durations import format_duration
from monitor.core.learn_profile import (
    DAY,
    WEEK,
    Profile,
    back,
    counted,
    slack_for,
    usual_of,
    zone_of,
)
from monitor.core.models import Expectation, Status, Verdict

__all__ = ["Learned", "PeriodAge", "learn_limits", "slack_for", "usual_of"]

MIN_DAYS = 3 * DAY  # below this much history the contract is learning
DEFAULT_WINDOW = timedelta(days=35)

Mode = Literal["weeks", "days", "learning"]


@dataclass(frozen=True)
class PeriodAge:
    """One past week (or day): its reference moment and the largest age up to it."""

    at: datetime  # the reference moment (same local time, k periods back), UTC
    max_age: timedelta


@dataclass(frozen=True)
class Learned:
    """What the history teaches at `now`: the usual age, limits, deadlines and words."""

    mode: Mode
    updates_seen: int
    first_update: datetime | None
    # The counted periods as (reference moment, largest age) in epoch seconds, newest
    # first; `periods` turns them into datetimes when asked (fresh explain, tests), not
    # for every verdict of every check.
    period_ages: tuple[tuple[float, float], ...] = ()
    usual_age: timedelta | None = None
    slack: timedelta | None = None
    warn_at: datetime | None = None  # first moment at/after the last update it is warn
    error_at: datetime | None = None
    detail: str = ""

    @property
    def periods(self) -> tuple[PeriodAge, ...]:
        """The counted periods, newest first."""
        return tuple(
            PeriodAge(_dt(at), timedelta(seconds=age)) for at, age in self.period_ages
        )

    @property
    def warn_after(self) -> timedelta | None:
        """The learned warn limit at `now` (U + slack/2), for the JSON and metrics."""
        if self.usual_age is None or self.slack is None:
            return None
        return self.usual_age + self.slack / 2

    @property
    def error_after(self) -> timedelta | None:
        """The learned stale limit at `now` (U + slack)."""
        if self.usual_age is None or self.slack is None:
            return None
        return self.usual_age + self.slack


# --- The rule ----------------------------------------------------------------------------


def learn_limits(
    history: Sequence[datetime | float],
    last_update: datetime | None,
    now: datetime,
    timezone: str = "UTC",
    window: timedelta = DEFAULT_WINDOW,
) -> Learned:
    """What `history` (update times as aware datetimes or epoch seconds, any order)
    teaches at `now` (aware).

    Updates after `now` are ignored (`--at` cuts the history there), as are those older
    than `window`; `last_update` counts as an update when it is not in the history yet.
    """
    now_s = now.timestamp()
    start = now_s - window.total_seconds()
    u = _window(history, start, now_s)
    if last_update is not None and start <= (ls := last_update.timestamp()) <= now_s:
        i = bisect_left(u, ls)
        if i == len(u) or u[i] != ls:
            u.insert(i, ls)
    if not u:
        return Learned(mode="learning", updates_seen=0, first_update=None,
                       detail="learning: no updates seen yet")
    first = _dt(u[0])
    zone = zone_of(timezone)
    mode: Mode = "weeks"
    length = WEEK
    counts = counted(u, now_s, WEEK, zone)
    if len(counts) < 2:
        if now_s - u[0] < MIN_DAYS:
            return Learned(mode="learning", updates_seen=len(u), first_update=first,
                           detail=f"learning: {len(u)} updates seen since {_when(first)}")
        mode, length = "days", DAY
        counts = counted(u, now_s, DAY, zone)
    profile = Profile(u, tuple(counts), length, zone)
    ages = profile.ages(now_s)
    usual = usual_of(ages)
    slack = slack_for(usual)
    last = u[-1]
    warn_at, error_at = profile.deadlines(last, now_s, usual)
    period_ages = tuple(
        (back(now_s, k, length, zone), a) for k, a in zip(counts, ages, strict=True)
    )
    detail = _words(mode, now, zone, timezone, usual, len(counts), now_s - last)
    return Learned(
        mode=mode,
        updates_seen=len(u),
        first_update=first,
        period_ages=period_ages,
        usual_age=timedelta(seconds=usual),
        slack=timedelta(seconds=slack),
        warn_at=_dt(warn_at) if warn_at is not None else None,
        error_at=_dt(error_at) if error_at is not None else None,
        detail=detail,
    )


def _window(history: Sequence[datetime | float], start: float, end: float) -> array[float]:
    """The update times in [start, end], sorted, as epoch seconds. The state store's packed
    form (an array of sorted float64) is cut by bisection and copied as one block; epoch
    seconds in a list are sorted first; datetimes are also deduplicated."""
    if isinstance(history, array):
        return history[bisect_left(history, start) : bisect_right(history, end)]
    if history and all(isinstance(h, float) for h in (history[0], history[-1])):
        ordered = sorted(_epoch(h) for h in history)
        return array("d", ordered[bisect_left(ordered, start) : bisect_right(ordered, end)])
    return array("d", sorted({s for h in history if start <= (s := _epoch(h)) <= end}))


def _epoch(h: datetime | float) -> float:
    return h if isinstance(h, float) else h.timestamp()


def _dt(s: float) -> datetime:
    return datetime.fromtimestamp(s, UTC)


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _words(
    mode: Mode, now: datetime, zone: ZoneInfo | None, tzname: str, usual: float, n: int,
    age: float,
) -> str:
    """'at Tue 09:00 UTC the data was at most 3h 10m old in the last 4 weeks; now 27h old'."""
    local = now.astimezone(zone or UTC)
    label = local.tzname() if zone is not None else "UTC"
    if tzname != "UTC" and label != tzname:
        label = f"{label} ({tzname})"
    most = format_duration(usual)
    left_out = ", the worst one left out" if n >= 4 else ""
    if mode == "weeks":
        at = f"at {local:%a %H:%M} {label}"
        span = f"in the last {n} weeks{left_out}"
    else:
        at = f"at {local:%H:%M} {label}"
        span = f"on the last {n} days{left_out}"
    return f"{at} the data was at most {most} old {span}; now {format_duration(age)} old"


def _clock(when: datetime, now: datetime) -> str:
    """`10:00 UTC` on the day of `now`, else `2026-11-25 10:00 UTC`."""
    when = when.astimezone(UTC)
    if when.date() == now.astimezone(UTC).date():
        return f"{when:%H:%M} UTC"
    return f"{when:%Y-%m-%d %H:%M} UTC"


def describe_learned(
    verdict: Verdict, exp: Expectation, learned: Learned, hung_since: datetime | None
) -> str | None:
    """The one-line description when the learned limits decide, else None (the fixed
    limits, an error, a hung run or no data: evaluate's own words)."""
    last = verdict.last_update
    if verdict.status is Status.ERROR or hung_since is not None or last is None:
        return None
    now = verdict.checked_at
    age = format_duration(now - last)
    if learned.usual_age is None:
        if exp.warn_after is not None or exp.error_after is not None:
            return None
        return f"fresh: updated {age} ago, still learning when it usually updates"
    fixed = exp.warn_after is not None or exp.error_after is not None
    learned_decides = (
        not fixed
        or (verdict.error_at is not None and verdict.error_at == learned.error_at)
        or (verdict.error_at is None and verdict.warn_at == learned.warn_at)
    )
    if not learned_decides:
        return None
    usual = f"usually at most {format_duration(learned.usual_age)} at this time"
    if verdict.status is Status.STALE:
        return f"stale: {age} old, {usual}"
    stale_at = f"stale at {_clock(verdict.error_at, now)}" if verdict.error_at else "no limit ahead"
    if verdict.status is Status.WARN:
        return f"warn: {age} old, {usual}; {stale_at}"
    return f"fresh: updated {age} ago, {usual} ({stale_at})"


def profile_in_words(
    learned: Learned, history: Sequence[float], now: datetime, timezone: str = "UTC"
) -> str:
    """What `fresh explain` prints for a `learn` contract: the history learned from, period
    by period (the largest age in the 30 minutes up to the same local time, and how many
    updates that period held), the usual age now and the limits it gives. `history` is
    in epoch seconds, as the state store keeps it."""
    if learned.mode == "learning":
        return learned.detail
    zone = zone_of(timezone) or UTC
    since = learned.first_update
    assert since is not None and learned.usual_age is not None and learned.slack is not None
    unit = "week" if learned.mode == "weeks" else "day"
    lines = [f"{learned.updates_seen} updates since {_when(since)}, by {unit}:"]
    span = timedelta(days=7 if unit == "week" else 1)
    ages = sorted(p.max_age for p in learned.periods)
    dropped = ages[-1] if len(ages) >= 4 else None
    for p in learned.periods:
        end = p.at.timestamp()
        held = sum(1 for h in history if end - span.total_seconds() < h <= end)
        local = p.at.astimezone(zone)
        mark = "  (the worst, left out)" if p.max_age == dropped else ""
        if mark:
            dropped = None  # only one period is left out
        lines.append(
            f"  {local:%a %Y-%m-%d %H:%M}: at most {format_duration(p.max_age)} old, "
            f"{held} updates in the {unit} before{mark}"
        )
    usual = format_duration(learned.usual_age)
    lines.append(
        f"usual age now {usual}, slack {format_duration(learned.slack)}: warn at "
        f"{format_duration(learned.warn_after or learned.usual_age)} of age, stale at "
        f"{format_duration(learned.error_after or learned.usual_age)}"
    )
    for label, at in (("warn", learned.warn_at), ("stale", learned.error_at)):
        if at is not None:
            passed = " (passed)" if at <= now else ""
            lines.append(f"{label} at {_when(at)}{passed} without a new update")
    lines.append(learned.detail)
    return "\n".join(lines)
