"""The learned rule as it stood before the exact deadline search (monitor/core/learn.py at
f650699), kept verbatim below this docstring as the reference the fast path is proven
against (tests/unit/test_learn_fast.py) — all but what did not change and is not the rule:
the words of `detail` and two conversions, imported from monitor.core.learn.
Do not "fix" it: it is the yardstick. Its
deadline search steps (at least a second, at most an hour) and so lands up to a second
after a crossing, or later where a DST change falls inside a step; backwards it walks
5-minute steps, and may step over a short stretch where the limit was not reached.

Learned expectations (SPEC section 13): limits from a contract's own update history.

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

Times are float epoch seconds inside: the deadline search evaluates U(t) many times.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal, cast
from zoneinfo import ZoneInfo

from monitor.core.learn import _dt, _epoch, _when, _words

WEEK = 7 * 86400.0
DAY = 86400.0
LOOKBACK = 1800.0  # the 30 minutes up to each reference moment
MIN_SLACK = 600.0
MAX_SLACK = 7200.0
MIN_DAYS = 3 * DAY  # below this much history the contract is learning
DEFAULT_WINDOW = timedelta(days=35)
# No deadline further than this after the last update: beyond it the profile says nothing.
_HORIZON = 60 * DAY
_MAX_STEPS = 20_000

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
    periods: tuple[PeriodAge, ...] = ()  # the counted ones, newest first
    usual_age: timedelta | None = None
    slack: timedelta | None = None
    warn_at: datetime | None = None  # first moment at/after the last update it is warn
    error_at: datetime | None = None
    detail: str = ""

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


def slack_for(usual: float) -> float:
    """A quarter of the usual age, at least 10 minutes and at most 2 hours (seconds)."""
    return min(MAX_SLACK, max(MIN_SLACK, usual / 4))


def usual_of(ages: Sequence[float]) -> float:
    """The largest age over the periods, the single largest dropped with 4 or more."""
    ordered = sorted(ages)
    return ordered[-2] if len(ordered) >= 4 else ordered[-1]


# --- Local time k periods back ------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    return None if name == "UTC" else ZoneInfo(name)


def _back(t: float, periods: int, length: float, zone: ZoneInfo | None) -> float:
    """The moment with the same local wall time as `t`, `periods` weeks/days earlier."""
    if zone is None:
        return t - periods * length
    local = datetime.fromtimestamp(t, zone).replace(tzinfo=None)
    # Wall-clock arithmetic: across a DST change the gap is 1 hour more or less than
    # periods * length; a wall time skipped by the change reads with the earlier offset.
    then = (local - timedelta(seconds=periods * length)).replace(tzinfo=zone)
    return then.timestamp()


# --- Ages from the history ---------------------------------------------------------------


def _max_age_up_to(u: Sequence[float], p: float) -> tuple[float, float]:
    """(largest age during [p - 30m, p], seconds until that value's inputs change).

    The age peaks just before each update (its gap from the previous one) and at `p`
    itself; `u` is sorted and has an update at or before p - 30m.
    """
    i = bisect_right(u, p) - 1
    best = p - u[i]
    j = bisect_right(u, p - LOOKBACK)
    for m in range(max(j, 1), i + 1):
        gap = u[m] - u[m - 1]
        if gap > best:
            best = gap
    # The inputs change when p reaches the next update or an update leaves the window.
    change = u[i + 1] - p if i + 1 < len(u) else _HORIZON
    if j <= i:
        change = min(change, u[j] + LOOKBACK - p)
    return best, max(change, 1.0)


@dataclass(frozen=True)
class _Profile:
    u: tuple[float, ...]
    counts: tuple[int, ...]  # the counted period numbers k (1 = one week/day back)
    length: float  # WEEK or DAY
    zone: ZoneInfo | None

    def usual(self, t: float) -> tuple[float, float, list[float]]:
        """(U(t), seconds its inputs stay put, the per-period ages)."""
        ages = []
        stable = _HORIZON
        for k in self.counts:
            p = _back(t, k, self.length, self.zone)
            age, change = _max_age_up_to(self.u, p)
            ages.append(age)
            stable = min(stable, change)
        return usual_of(ages), stable, ages


def _counted(u: Sequence[float], now: float, length: float, zone: ZoneInfo | None) -> list[int]:
    first = u[0]
    counts: list[int] = []
    k = 1
    while True:
        p = _back(now, k, length, zone)
        if p - LOOKBACK < first:
            return counts
        counts.append(k)
        k += 1


def _crossed(profile: _Profile, last: float, share: float, t: float) -> tuple[float, float]:
    """(shortfall of the age below U + share * slack at t, seconds U's inputs stay put)."""
    usual, stable, _ages = profile.usual(t)
    return usual + share * slack_for(usual) - (t - last), stable


def _deadline(profile: _Profile, last: float, now: float, share: float) -> float | None:
    """When the limit at `share` of the slack is (or was) crossed without a new update.

    Crossed at `now`: the start of the present crossing, found walking back (5 minutes a
    step, then finer down to the second; at most 3 days). Not crossed: the first moment ahead.
    Within a stretch where no period's inputs change, U never falls and the age rises at
    rate 1, so the crossing is no sooner than the present shortfall: step by it (at least
    a second), never past the end of the stretch, where U may drop.
    """
    if _crossed(profile, last, share, now)[0] <= 0:
        t = now
        floor = max(last, now - 3 * DAY)
        for step in (300.0, 60.0, 10.0, 1.0):
            while t - step >= floor and _crossed(profile, last, share, t - step)[0] <= 0:
                t -= step
        return t
    t = now
    for _ in range(_MAX_STEPS):
        short, stable = _crossed(profile, last, share, t)
        if short <= 0:
            return t
        t += max(1.0, min(short, stable, 3600.0))
        if t - last > _HORIZON:
            return None
    return None


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
    if history and all(isinstance(h, float) for h in (history[0], history[-1])):
        # Epoch seconds, as the state store hands them over (sorted, one per 5 minutes):
        # a C-speed sort of sorted data and two bisections instead of a set.
        ordered = sorted(cast("Sequence[float]", history))
        times_s = ordered[bisect_left(ordered, start) : bisect_right(ordered, now_s)]
    else:
        times_s = sorted({s for h in history if start <= (s := _epoch(h)) <= now_s})
    if last_update is not None and start <= (ls := last_update.timestamp()) <= now_s:
        i = bisect_left(times_s, ls)
        if i == len(times_s) or times_s[i] != ls:
            times_s.insert(i, ls)
    u = tuple(times_s)
    if not u:
        return Learned(mode="learning", updates_seen=0, first_update=None,
                       detail="learning: no updates seen yet")
    first = _dt(u[0])
    zone = _zone(timezone)
    mode: Mode = "weeks"
    length = WEEK
    counts = _counted(u, now_s, WEEK, zone)
    if len(counts) < 2:
        if now_s - u[0] < MIN_DAYS:
            return Learned(mode="learning", updates_seen=len(u), first_update=first,
                           detail=f"learning: {len(u)} updates seen since {_when(first)}")
        mode, length = "days", DAY
        counts = _counted(u, now_s, DAY, zone)
    profile = _Profile(u, tuple(counts), length, zone)
    usual, _stable, ages = profile.usual(now_s)
    slack = slack_for(usual)
    last = u[-1]
    warn_at = _deadline(profile, last, now_s, 0.5)
    error_at = _deadline(profile, last, now_s, 1.0)
    periods = tuple(
        PeriodAge(_dt(_back(now_s, k, length, zone)), timedelta(seconds=a))
        for k, a in zip(counts, ages, strict=True)
    )
    detail = _words(mode, now, zone, timezone, usual, len(counts), now_s - last)
    return Learned(
        mode=mode,
        updates_seen=len(u),
        first_update=first,
        periods=periods,
        usual_age=timedelta(seconds=usual),
        slack=timedelta(seconds=slack),
        warn_at=_dt(warn_at) if warn_at is not None else None,
        error_at=_dt(error_at) if error_at is not None else None,
        detail=detail,
    )


def reference_profile(
    history: Sequence[datetime | float],
    last_update: datetime | None,
    now: datetime,
    timezone: str = "UTC",
    window: timedelta = DEFAULT_WINDOW,
) -> tuple[_Profile, float] | None:
    """The profile and last update `learn_limits` above judges with (None while learning),
    so a test can ask the reference whether a limit is reached at any moment."""
    now_s = now.timestamp()
    start = now_s - window.total_seconds()
    times = sorted({s for h in history if start <= (s := _epoch(h)) <= now_s})
    ls = last_update.timestamp() if last_update is not None else None
    if ls is not None and start <= ls <= now_s and ls not in times:
        times = sorted([*times, ls])
    if not times:
        return None
    zone = _zone(timezone)
    counts = _counted(times, now_s, WEEK, zone)
    length = WEEK
    if len(counts) < 2:
        if now_s - times[0] < MIN_DAYS:
            return None
        counts, length = _counted(times, now_s, DAY, zone), DAY
    return _Profile(tuple(times), tuple(counts), length, zone), times[-1]


def reached(profile: _Profile, last: float, share: float, t: float) -> bool:
    """Whether the reference has the limit at `share` of the slack reached at `t`."""
    return _crossed(profile, last, share, t)[0] <= 0
