"""The learned profile (SPEC 13): the usual age U(t), and when a limit on it is crossed.

Pure numbers: update times as sorted epoch seconds in, seconds out; core/learn.py turns
them into a `Learned` with words.

U(t): for each counted period k, the same local time k weeks (or days) back, p = back(t),
and the largest age during [p - 30m, p]: max(G, p - u_i), with G the largest gap between
updates inside those 30 minutes and u_i the last update at or before p. U is the largest
over the periods, the second largest with 4 or more.

Deadlines, found exactly. phi(a) = a + share * slack(a) grows with a, so the age t - last
has reached U + share * slack once it has reached phi(A_k) for all periods but `drop` (0,
or 1 with 4 or more periods). Between two moments at which a period's inputs change (p
reaching an update, an update leaving its 30 minutes, a DST change of its offset), G, u_i
and t - p stay put, and the limit holds for that period on one interval of t:

    t >= last + phi(G)                       (the gap part: `enter`)
    share * slack(t - c) <= c - last         (the age part, c = (t - p) + u_i: up to `leave`)

So a search compares a few numbers per stretch, re-reading only the period whose input
changed, instead of stepping through the hours; and a deadline is the same whatever `now`
the search starts from.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEK = 7 * 86400.0
DAY = 86400.0
LOOKBACK = 1800.0  # the 30 minutes up to each reference moment
MIN_SLACK = 600.0
MAX_SLACK = 7200.0
HORIZON = 60 * DAY  # no deadline further than this after the last update
BACK_LIMIT = 3 * DAY  # a limit crossed at `now` is traced back at most this far
_INF = math.inf
# Bounds that meet at one moment are taken as meeting when they are this close: float
# rounding of epoch seconds (about 2e-7 s), times up to 9 in a bound, stays well below.
_EPS = 1e-5
# (edge, enter and leave for warn, enter and leave for stale) of one period in a stretch:
# within the stretch the period holds the limit back no more from `enter` to `leave`
_Part = tuple[float, float, float, float, float]


def slack_for(usual: float) -> float:
    """A quarter of the usual age, at least 10 minutes and at most 2 hours (seconds)."""
    return min(MAX_SLACK, max(MIN_SLACK, usual / 4))


def usual_of(ages: Sequence[float]) -> float:
    """The largest age over the periods, the single largest dropped with 4 or more."""
    ordered = sorted(ages)
    return ordered[-2] if len(ordered) >= 4 else ordered[-1]


@lru_cache(maxsize=64)
def zone_of(name: str) -> ZoneInfo | None:
    """The zone of a contract's `timezone`; None for UTC (plain arithmetic)."""
    return None if name == "UTC" else ZoneInfo(name)


def back(t: float, periods: int, length: float, zone: ZoneInfo | None) -> float:
    """The moment with the same local wall time as `t`, `periods` weeks/days earlier."""
    if zone is None:
        return t - periods * length
    local = datetime.fromtimestamp(t, zone).replace(tzinfo=None)
    # Wall-clock arithmetic: across a DST change the gap is 1 hour more or less than
    # periods * length; a wall time skipped by the change reads with the earlier offset.
    then = (local - timedelta(seconds=periods * length)).replace(tzinfo=zone)
    return then.timestamp()


def counted(u: Sequence[float], now: float, length: float, zone: ZoneInfo | None) -> list[int]:
    """The periods k = 1, 2, … whose 30 minutes up to the reference moment lie after the
    first parts update."""
    counts: list[int] = []
    k = 1
    while back(now, k, length, zone) - LOOKBACK >= u[0]:
        counts.append(k)
        k += 1
    return counts


@dataclass(frozen=True)
class Profile:
    """The counted periods of a sorted history (`u`, epoch seconds, non-empty)."""

    u: Sequence[float]
    counts: tuple[int, ...]
    length: float  # WEEK or DAY
    zone: ZoneInfo | None

    def ages(self, t: float) -> list[float]:
        """The largest age in the 30 minutes up to each period's reference moment of t."""
        u = self.u
        out = []
        for k in self.counts:
            p = back(t, k, self.length, self.zone)
            i = bisect_right(u, p) - 1
            best = p - u[i]
            for m in range(max(bisect_right(u, p - LOOKBACK), 1), i + 1):
                gap = u[m] - u[m - 1]
                if gap > best:
                    best = gap
            out.append(best)
        return out

    def deadlines(self, last: float, now: float, usual: float) -> tuple[float | None, ...]:
        """(warn, stale): when the age reaches U + slack/2 and U + slack without a new
        update (`usual` is U(now)). A limit already reached at `now` gives the start of the
        present crossing (at most 3 days back, never before `last`); one not reached, the
        first moment ahead (None when more than 60 days after `last`)."""
        reached = [usual + share * slack_for(usual) - (now - last) <= 0 for share in (0.5, 1.0)]
        out: list[float | None] = list(self._ahead(last, now, [not r for r in reached]))
        for level, was in enumerate(reached):
            if was:
                out[level] = self._since(last, now, level)
        return tuple(out)

    # --- one period around a moment -------------------------------------------------

    def _part(self, t: float, k: int, last: float, below: bool) -> _Part:
        """Period k around moment t (just below t when `below`): the moment its inputs
        change next (after t, or the last one at or before t when `below`) and its
        interval bounds for both limits."""
        u = self.u
        if self.zone is None:
            shift = k * self.length
        else:
            # Offsets are whole seconds: rounding t - p drops the microseconds datetime
            # rounds to, so edges and bounds carry no zone noise. Below t, the offset is
            # the one just below it: t itself may be the instant of a DST change.
            at = t - 1e-6 if below else t
            shift = float(round(at - back(at, k, self.length, self.zone)))
        p = t - shift
        # An update within _EPS of a boundary counts as on it, so an edge found by one read
        # is past by the next, whichever way the microseconds were rounded.
        if below:
            i = bisect_left(u, p - _EPS) - 1
            j = bisect_left(u, p - LOOKBACK - _EPS)
        else:
            i = bisect_right(u, p + _EPS) - 1
            j = bisect_right(u, p - LOOKBACK + _EPS)
        if i < 0:
            # Before the first update (only walking back from a limit reached at `now`):
            # that period knows nothing there and holds no one back, as if absent.
            edge = -_INF if below else u[0] + shift
            if self.zone is not None:
                # A DST change can move the reference moment back after the first update.
                edge = self._offset_edge(t, k, shift, edge)
            return (edge, -_INF, _INF, -_INF, _INF)
        gap = -_INF
        for m in range(max(j, 1), i + 1):
            d = u[m] - u[m - 1]
            if d > gap:
                gap = d
        if below:
            lo = u[i]
            if j > 0 and u[j - 1] + LOOKBACK > lo:
                lo = u[j - 1] + LOOKBACK
            edge = lo + shift
        else:
            hi = u[i + 1] if i + 1 < len(u) else _INF
            if j <= i and u[j] + LOOKBACK < hi:
                hi = u[j] + LOOKBACK
            edge = hi + shift
        if self.zone is not None:
            edge = self._offset_edge(t, k, shift, edge)
        # _bounds for both limits, written out: this runs for every stretch of every
        # contract of every check.
        c = shift + u[i]
        if gap == -_INF:
            warn_enter = stale_enter = -_INF
        else:
            slack = min(MAX_SLACK, max(MIN_SLACK, gap / 4))
            warn_enter = last + gap + 0.5 * slack
            stale_enter = last + gap + slack
        # The age part ties with the limit for a whole stretch when `room` equals a clamped
        # share of the slack (histories in whole minutes): age >= limit holds there, so
        # the clamps compare with the same _EPS as the bounds do.
        room = c - last
        if room >= MAX_SLACK - _EPS:
            return (edge, warn_enter, _INF, stale_enter, _INF)
        if room >= 0.5 * MAX_SLACK - _EPS:
            warn_leave = _INF
        elif room < 0.5 * MIN_SLACK - _EPS:
            warn_leave = -_INF
        else:
            warn_leave = c + 8.0 * room
        if room < MIN_SLACK - _EPS:
            return (edge, warn_enter, warn_leave, stale_enter, -_INF)
        return (edge, warn_enter, warn_leave, stale_enter, c + 4.0 * room)

    def _offset_edge(self, t: float, k: int, shift: float, edge: float) -> float:
        """`edge`, or sooner where a DST change moves period k's offset (t - p) between
        t and it; a stretch spans at most a day, which holds one change.

        The change is found to within a second by bisection, then exactly: zone
        transitions fall on whole epoch seconds. Exactness matters: every period whose
        offset changes must start its new stretch at the same instant, or for a fraction
        of a second some are read with the new offset and some with the old."""
        ahead = edge > t
        far = min(edge, t + DAY) if ahead else max(edge, t - DAY)
        probe = far - 1.0 if ahead else far + 1.0
        if (probe > t) != ahead or abs(probe - back(probe, k, self.length, self.zone) - shift) <= 1:
            return far
        same, other = t, probe
        while abs(other - same) > 1.0:
            mid = (same + other) / 2
            if abs(mid - back(mid, k, self.length, self.zone) - shift) <= 1:
                same = mid
            else:
                other = mid
        # The transition T: same < T <= other ahead (the new offset holds from T on);
        # other < T <= same below (the stretch [T, t) keeps `shift`).
        whole = float(math.floor(other)) if ahead else float(math.floor(other) + 1)
        if (same < whole <= other) if ahead else (other < whole <= same):
            return whole
        return other

    # --- the searches -----------------------------------------------------------------

    def _ahead(self, last: float, now: float, wanted: list[bool]) -> list[float | None]:
        """For each wanted level (warn, stale), the first moment after `now` it is reached."""
        out: list[float | None] = [None, None]
        if not any(wanted):
            return out
        drop = 1 if len(self.counts) >= 4 else 0
        x = now
        parts = [self._part(x, k, last, False) for k in self.counts]
        while x - last <= HORIZON:
            end = min(p[0] for p in parts)
            for level in (0, 1):
                if wanted[level] and out[level] is None:
                    y = _first_reached(parts, 1 + 2 * level, x, end, drop)
                    if y is not None:
                        # A moment the rule at `now` did not reach is after `now`.
                        out[level] = max(y, now + 1e-6) if y - last <= HORIZON else None
                        wanted[level] = False
            if not any(wanted) or end == _INF:
                return out
            x = end
            parts = [p if p[0] > x else self._part(x, k, last, False)
                     for p, k in zip(parts, self.counts, strict=True)]
        return out

    def _since(self, last: float, now: float, level: int) -> float:
        """Where the present stretch of time with the level reached began: walking back
        from `now` through the stretches, the last moment below which it is not reached."""
        drop = 1 if len(self.counts) >= 4 else 0
        floor = max(last, now - BACK_LIMIT)
        at = 1 + 2 * level
        x = now
        parts = [self._part(x, k, last, True) for k in self.counts]
        while x > floor:
            start = max(p[0] for p in parts)
            low = max(start, floor)
            entries = sorted((p[at] for p in parts if low + _EPS < p[at] < x), reverse=True)
            for y in (x, *entries):
                outside = sum(1 for p in parts if not (p[at] < y - _EPS and y <= p[at + 1] + _EPS))
                if outside > drop:
                    return y
            if start <= floor:
                return floor
            x = start
            parts = [p if p[0] < x else self._part(x, k, last, True)
                     for p, k in zip(parts, self.counts, strict=True)]
        return floor


def _first_reached(
    parts: list[_Part], at: int, x: float, end: float, drop: int
) -> float | None:
    """The first moment in [x, end) at which all periods but `drop` lie within their
    interval (`at` picks the limit's enter; leave follows it), else None. Plain loops:
    this runs once per stretch and limit, for every contract of every check."""
    need = len(parts) - drop
    possible = 0
    moments = [x]
    for p in parts:
        enter = p[at]
        if enter < end and p[at + 1] + _EPS >= x:
            possible += 1
            if x < enter < end - _EPS:
                moments.append(enter)
    if possible < need:
        return None  # too few periods can be within their interval in this stretch
    moments.sort()
    for y in moments:
        inside = 0
        for p in parts:
            if p[at] <= y + _EPS and y <= p[at + 1] + _EPS:
                inside += 1
        if inside >= need:
            return y
    return None
