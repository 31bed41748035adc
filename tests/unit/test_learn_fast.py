"""The exact deadline search (core/learn_profile.py) against the stepping rule it replaced
(tests/unit/learn_reference.py), on generated histories at many moments, DST included.

Everything a verdict shows at `now` must be equal: the mode, the updates seen, the
periods and their ages, the usual age, the slack, the words, and whether each limit is
reached. The deadlines are checked against the reference's own judgement of each moment:
the limit is reached just after the fast deadline and not just before it (a crossing
begins there), the reference never finds one sooner, and it lands at most a second later
(it steps at least a second), except where a DST change falls inside one of its steps.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.core import learn_profile
from monitor.core.learn import Learned, learn_limits
from tests.unit import learn_reference as ref

M = 60.0
H = 3600.0
DAY = 86400.0
TOL = 1e-3
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
# History ends near these moments, so some periods straddle a DST change of some zone.
ANCHORS = [
    datetime(2026, 11, 4, 12, tzinfo=UTC),
    datetime(2026, 3, 9, 7, tzinfo=UTC),  # a day after New York springs forward
    datetime(2026, 3, 30, 1, tzinfo=UTC),  # a day after Berlin springs forward
    datetime(2026, 10, 26, 5, tzinfo=UTC),  # a day after Berlin falls back
    datetime(2026, 11, 1, 5, 45, tzinfo=UTC),  # New York's repeated hour
    datetime(2026, 10, 4, 15, tzinfo=UTC),  # Lord Howe moves by 30 minutes
]
KINDS = ["every 15 min", "hourly business", "weekday daily", "irregular", "daily, one hole"]


def generate(kind: str, end: float, days: float, rng: random.Random, tz: str) -> list[float]:
    """Update times (epoch seconds) over `days` before `end`, in the contract's zone."""
    zone = learn_profile.zone_of(tz) or UTC
    start = end - days * DAY
    out: list[float] = []
    if kind == "every 15 min":
        t = start
        while t < end:
            out.append(t + rng.uniform(0, 2 * M))
            t += 15 * M
    elif kind == "irregular":
        t = start
        while t < end:
            out.append(t)
            t += rng.choice([5 * M, 20 * M, H, 3 * H, 9 * H])
    else:
        day = datetime.fromtimestamp(start, zone).date()
        while (base := datetime(day.year, day.month, day.day, tzinfo=zone)).timestamp() < end:
            if day.weekday() < 5:
                if kind == "hourly business":
                    hours = [(h, rng.uniform(0, 5)) for h in range(9, 18)]
                else:
                    hours = [(6, rng.uniform(0, 40))]
                for h, minutes in hours:
                    local = base.replace(hour=h) + timedelta(minutes=minutes)
                    out.append(local.timestamp())
            day += timedelta(days=1)
        if kind == "daily, one hole":
            cut = end - rng.uniform(8, 20) * DAY
            out = [t for t in out if not cut <= t < cut + 2 * DAY]
    return sorted(t for t in out if start <= t < end)


def shifts_change(profile: ref._Profile, a: float, b: float) -> bool:
    """Whether some period's offset (t - its reference moment) differs between a and b."""
    return any(
        round(a - ref._back(a, k, profile.length, profile.zone))
        != round(b - ref._back(b, k, profile.length, profile.zone))
        for k in profile.counts
    )


def check_level(
    fast: datetime | None, slow: datetime | None, now: float, share: float,
    profile: ref._Profile, last: float,
) -> None:
    def short(t: float) -> float:  # how far the age is below the limit, by the reference
        return ref._crossed(profile, last, share, t)[0]

    if slow is None and fast is not None:
        # The reference gives up after 20,000 steps of at least a second: where the age
        # stays a second or so under the limit for hours (yesterday's rhythm to the
        # second) it found no deadline at all. The exact search finds where it is reached.
        f = fast.timestamp()
        assert f > now and short(f + 1e-3) <= TOL
        return
    assert (fast is None) == (slow is None)
    if fast is None or slow is None:
        return
    f, r = fast.timestamp(), slow.timestamp()
    assert (f <= now) == (r <= now)  # the same status at `now`

    near_dst = shifts_change(profile, f - 3, f + 3)
    slop = 1.5 if near_dst else 1e-3  # the fast search finds a DST change to the second
    # Histories of exact multiples of minutes can put the age exactly on the limit for a
    # while; there the two agree up to rounding only (TOL).
    if f > now:  # ahead: a crossing begins at f
        # Near a DST change the crossing may last less than the slop (the change ends it):
        # reached somewhere within the slop after f.
        probes = (1e-3, 0.25, 0.5, 1.0, slop) if near_dst else (slop,)
        after = min(short(f + d) for d in probes)
        assert after <= TOL
        assert f - slop <= now or short(f - slop) > -TOL
        assert r >= f - slop  # the reference never finds an earlier one
        # It steps from `now` to r; a DST change anywhere on that path (not only near f)
        # can sit inside one of its steps and carry it past f.
        # Or f is a tie (|after| within rounding), which the reference's `<= 0` may step over.
        assert r <= f + 1 + slop or shifts_change(profile, now, r + 3) or after > -TOL
    else:  # reached at now: the present crossing began at f
        floor = max(last, now - 3 * DAY)
        assert f >= floor - 1e-6
        if f + slop <= now:
            assert short(f + slop) <= TOL
        assert f - slop < floor or short(f - slop) > -TOL
        # The reference stops within a second above f, or below it after stepping over
        # the stretch just below f where the limit is not reached, or above it where the
        # age ties with the limit (its `<= 0` then falls either way by rounding, where the
        # rule's `age >= limit` holds) and the limit is reached between.
        assert (
            r <= f + 1 + slop
            or shifts_change(profile, r - 3, now)
            or abs(short((f + r) / 2)) <= TOL
            or (short(r - 1) <= TOL and short((f + r) / 2) <= TOL)
        )


def same_verdict(history: list[float], now: datetime, tz: str) -> None:
    seen = [h for h in history if h <= now.timestamp()]
    last = datetime.fromtimestamp(seen[-1], UTC) if seen else None
    new: Learned = learn_limits(seen, last, now, tz)
    old = ref.learn_limits(seen, last, now, tz)
    for field in ("mode", "updates_seen", "first_update", "usual_age", "slack", "detail"):
        assert getattr(new, field) == getattr(old, field), field
    assert [(p.at, p.max_age) for p in new.periods] == [(p.at, p.max_age) for p in old.periods]
    got = ref.reference_profile(seen, last, now, tz)
    if got is None:
        assert new.warn_at is None and old.warn_at is None
        return
    profile, last_s = got
    check_level(new.warn_at, old.warn_at, now.timestamp(), 0.5, profile, last_s)
    check_level(new.error_at, old.error_at, now.timestamp(), 1.0, profile, last_s)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    anchor=st.sampled_from(ANCHORS),
    tz=st.sampled_from(ZONES),
    days=st.floats(2, 42),
    seed=st.integers(0, 10_000),
    moments=st.lists(st.floats(-2 * DAY, 3 * DAY), min_size=1, max_size=6),
)
@example(kind="weekday daily", anchor=ANCHORS[0], tz="UTC", days=35, seed=1,
         moments=[2 * DAY, 0.5 * DAY, -DAY])
@example(kind="every 15 min", anchor=ANCHORS[2], tz="Europe/Berlin", days=36, seed=3,
         moments=[0.0, 3600.0, 2 * DAY])
@example(kind="hourly business", anchor=ANCHORS[1], tz="America/New_York", days=30, seed=5,
         moments=[-DAY, 12 * 3600.0, 2.5 * DAY])
@example(kind="hourly business", anchor=ANCHORS[3], tz="Australia/Lord_Howe",
         days=9.625846943528959, seed=2281, moments=[30169.589449426945])  # a plateau
@example(kind="irregular", anchor=ANCHORS[3], tz="Europe/Berlin", days=23.82928248817514,
         seed=9343, moments=[-111782.2633424807])  # across Berlin's fall-back
@example(kind="every 15 min", anchor=ANCHORS[4], tz="America/New_York", days=3.859375, seed=0,
         moments=[0.0])  # the reference steps over New York's fall-back and lands 13 s late
@example(kind="irregular", anchor=ANCHORS[0], tz="America/New_York", days=25.51376735149708,
         seed=3600, moments=[-135591.0])  # the age ties with the warn limit for an hour
@example(kind="irregular", anchor=ANCHORS[0], tz="UTC", days=23.942779703475047, seed=0,
         moments=[14244.0])  # a tie just below `now` stops the reference's walk back
@example(kind="irregular", anchor=ANCHORS[4], tz="America/New_York", days=2.0, seed=4345,
         moments=[86400.0])  # walking back onto the instant New York falls back
@example(kind="every 15 min", anchor=ANCHORS[4], tz="America/New_York",
         days=5.081414155681372, seed=2537, moments=[0.0])  # stale for 23 ms before 06:00
@example(kind="irregular", anchor=ANCHORS[4], tz="America/New_York", days=40.875, seed=170,
         moments=[0.0])  # four periods change offset at 06:00, found each to the second
@example(kind="irregular", anchor=ANCHORS[0], tz="Europe/Berlin", days=41.12576512271498,
         seed=31, moments=[-149168.0])  # a 5-minute tie the reference steps over
@example(kind="irregular", anchor=ANCHORS[1], tz="Europe/Berlin", days=41.0, seed=744,
         moments=[0.0])  # the same for the stale limit
def test_the_exact_search_judges_as_the_stepping_rule_did(
    kind: str, anchor: datetime, tz: str, days: float, seed: int, moments: list[float]
) -> None:
    history = generate(kind, anchor.timestamp(), days, random.Random(seed), tz)
    for offset in moments:
        same_verdict(history, anchor + timedelta(seconds=offset), tz)


def test_a_deadline_is_the_same_whatever_moment_the_search_starts_from() -> None:
    # The stepping rule's deadline moved with `now` (it landed up to a second late); the
    # exact one is a property of the history, so `fresh serve` waking at it flips there.
    end = datetime(2026, 11, 4, 12, tzinfo=UTC).timestamp()
    history = generate("weekday daily", end, 35, random.Random(1), "UTC")
    last = datetime.fromtimestamp(history[-1], UTC)
    deadlines = {
        learn_limits(history, last, datetime.fromtimestamp(end + s, UTC)).error_at
        for s in range(0, 3600, 97)
    }
    assert len(deadlines) == 1


def test_an_age_a_second_under_the_limit_for_hours_still_gets_its_stale_deadline() -> None:
    # Yesterday's rhythm to the second keeps the age just under U + slack all day; the
    # stepping rule crawled a second at a time, gave up after 20,000 steps and set no
    # stale deadline at all. The exact search finds where the limit is reached.
    anchor, tz = ANCHORS[3], "Australia/Lord_Howe"
    history = generate("hourly business", anchor.timestamp(), 9.625846943528959,
                       random.Random(2281), tz)
    now = anchor + timedelta(seconds=30169.589449426945)
    seen = [h for h in history if h <= now.timestamp()]
    last = datetime.fromtimestamp(seen[-1], UTC)
    assert ref.learn_limits(seen, last, now, tz).error_at is None
    stale_at = learn_limits(seen, last, now, tz).error_at
    assert stale_at is not None and stale_at - last < timedelta(days=2)


def _case(kind: str, anchor: datetime, tz: str, days: float, seed: int, offset: float
          ) -> tuple[Learned, Learned]:
    history = generate(kind, anchor.timestamp(), days, random.Random(seed), tz)
    now = anchor + timedelta(seconds=offset)
    seen = [h for h in history if h <= now.timestamp()]
    last = datetime.fromtimestamp(seen[-1], UTC)
    return learn_limits(seen, last, now, tz), ref.learn_limits(seen, last, now, tz)


def test_an_age_that_ties_with_the_limit_has_reached_it() -> None:
    # Updates in whole minutes: from 07:05:10 the age equals U + slack/2 exactly for an
    # hour (the rule says age >= limit). The search once read the tie as short by float
    # rounding and put the warn deadline at the end of that hour.
    new, _old = _case("irregular", ANCHORS[0], "America/New_York", 25.51376735149708, 3600,
                      -135591.0)
    assert new.warn_at == datetime(2026, 11, 3, 7, 5, 10, 500831, tzinfo=UTC)


def test_walking_back_onto_a_dst_change_reads_the_offset_below_it() -> None:
    # Reached at `now`; walking back, 06:00 UTC is the instant New York falls back. Below
    # it the periods point an hour later (the first 01:00-02:00), where the limit is
    # reached too: the crossing began at 05:00, not at the DST change.
    new, old = _case("irregular", ANCHORS[4], "America/New_York", 2.0, 4345, 86400.0)
    assert new.warn_at == old.warn_at == datetime(2026, 11, 1, 5, tzinfo=UTC)


def test_periods_changing_offset_at_one_dst_instant_change_it_together() -> None:
    # At 06:00 UTC New York falls back and all four weekly periods point an hour earlier.
    # Found by bisection each to within a second, they once changed at different
    # fractions of it, and for 0.4 s a mix of old and new offsets "reached" the limit
    # that is really reached only at 06:05.
    new, old = _case("irregular", ANCHORS[4], "America/New_York", 40.875, 170, 0.0)
    assert new.warn_at == old.warn_at == datetime(2026, 11, 1, 6, 5, tzinfo=UTC)
