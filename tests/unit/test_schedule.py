"""Cron ticks in a timezone, DST included, as Debian's cron runs jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.core.schedule import first_tick_after, validate_cron


def next_ticks(expr: str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks strictly after `after`, asked of first_tick_after in turn."""
    ticks = [first_tick_after(expr, tz, after)]
    while len(ticks) < count:
        ticks.append(first_tick_after(expr, tz, ticks[-1]))
    return ticks


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_weekday_schedule_skips_the_weekend() -> None:
    # 2026-11-27 is a Friday.
    assert first_tick_after("0 6 * * 1-5", "UTC", utc(2026, 11, 27, 7)) == utc(2026, 11, 30, 6)


def test_the_tick_is_read_in_the_contracts_timezone() -> None:
    # 06:00 in Berlin is 05:00 UTC in winter.
    assert first_tick_after("0 6 * * *", "Europe/Berlin", utc(2026, 11, 24, 0)) == utc(
        2026, 11, 24, 5
    )


def test_a_tick_at_the_exact_instant_asked_about_is_not_after_it() -> None:
    assert first_tick_after("0 6 * * *", "UTC", utc(2026, 11, 24, 6)) == utc(2026, 11, 25, 6)


def test_microseconds_after_a_tick_move_to_the_next_tick() -> None:
    after = datetime(2026, 11, 24, 6, 0, 0, 500, tzinfo=UTC)
    assert first_tick_after("0 6 * * *", "UTC", after) == utc(2026, 11, 25, 6)


def test_ticks_come_back_in_utc_whatever_the_zone_of_the_instant() -> None:
    from zoneinfo import ZoneInfo

    after = datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2026-11-23 16:00Z
    tick = first_tick_after("0 * * * *", "UTC", after)
    assert tick == utc(2026, 11, 23, 17)
    assert tick.tzinfo is UTC


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        first_tick_after("0 6 * * *", "UTC", datetime(2026, 11, 24, 6))


# --- DST: America/New_York (spring forward 2026-03-08 02:00 EST → 03:00 EDT,
#                            fall back 2026-11-01 02:00 EDT → 01:00 EST) ------------------


def test_new_york_daily_tick_in_the_skipped_hour_fires_at_the_jump() -> None:
    ticks = next_ticks("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), 3)
    # 03:00 EDT = 07:00Z on the day of the jump; 02:30 EDT = 06:30Z after it.
    assert ticks == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]


def test_new_york_daily_tick_in_the_repeated_hour_fires_once() -> None:
    ticks = next_ticks("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12), 3)
    # 01:30 EDT = 05:30Z; the repeated 01:30 EST (06:30Z) does not fire.
    assert ticks == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]


def test_new_york_asking_inside_the_repeated_hour_does_not_fire_it_again() -> None:
    # 06:10Z is 01:10 EST, the second pass through 01:xx: the 01:30 tick already fired.
    assert first_tick_after("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 10)) == utc(
        2026, 11, 2, 6, 30
    )


def test_new_york_hourly_schedule_fires_every_real_hour_through_the_fall_back() -> None:
    ticks = next_ticks("0 * * * *", "America/New_York", utc(2026, 11, 1, 4, 30), 4)
    # 01:00 EDT (05:00Z), 01:00 EST (06:00Z), 02:00 EST (07:00Z): every real hour.
    assert ticks == [utc(2026, 11, 1, h) for h in (5, 6, 7, 8)]


def test_new_york_hourly_schedule_fires_every_real_hour_through_the_spring_forward() -> None:
    ticks = next_ticks("0 * * * *", "America/New_York", utc(2026, 3, 8, 5, 30), 3)
    # 01:00 EST (06:00Z), then 03:00 EDT (07:00Z): no hour is lost or doubled.
    assert ticks == [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)]


# --- DST: Europe/Berlin (spring forward 2026-03-29 02:00 CET → 03:00 CEST,
#                         fall back 2026-10-25 03:00 CEST → 02:00 CET) -------------------


def test_berlin_daily_tick_in_the_skipped_hour_fires_at_the_jump() -> None:
    ticks = next_ticks("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 3)
    # 03:00 CEST = 01:00Z on the day of the jump; 02:30 CEST = 00:30Z after it.
    assert ticks == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_berlin_daily_tick_in_the_repeated_hour_fires_once() -> None:
    ticks = next_ticks("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 3)
    # 02:30 CEST = 00:30Z; the repeated 02:30 CET (01:30Z) does not fire.
    assert ticks == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]


def test_berlin_hourly_schedule_fires_every_real_hour_through_the_fall_back() -> None:
    ticks = next_ticks("0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 30), 4)
    # 02:00 CEST (00:00Z), 02:00 CET (01:00Z), 03:00 CET (02:00Z)...
    assert ticks == [utc(2026, 10, 25, h) for h in (0, 1, 2, 3)]


def test_berlin_hourly_schedule_fires_every_real_hour_through_the_spring_forward() -> None:
    ticks = next_ticks("0 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 30), 3)
    assert ticks == [utc(2026, 3, 29, 1), utc(2026, 3, 29, 2), utc(2026, 3, 29, 3)]


# --- Validation ------------------------------------------------------------------------


def test_a_valid_cron_expression_has_no_problem() -> None:
    assert validate_cron("0 6 * * 1-5") is None
    assert validate_cron("*/15 * * * *") is None


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("", "empty cron expression"),
        ("0 6 * *", "has 4 fields; it needs 5"),
        ("0 0 6 * * *", "has 6 fields; it needs 5"),
        ("61 * * * *", "bad minute"),
        ("0 25 * * *", "bad hour"),
        ("0 0 30 2 *", "bad day-of-month"),
        ("0 6 * * funday", "bad day-of-week"),
    ],
)
def test_a_bad_cron_expression_is_explained(expr: str, words: str) -> None:
    problem = validate_cron(expr)
    assert problem is not None
    assert words in problem


# --- The cache of known tick-free stretches agrees with cronsim ------------------------


@pytest.mark.parametrize(
    ("expr", "tz", "around"),
    [
        ("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6)),
        ("30 2 * * *", "America/New_York", utc(2026, 3, 8, 7)),
        ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 1)),
        ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 1)),
        ("0 * * * *", "Europe/Berlin", utc(2026, 10, 25, 1)),
        ("*/20 2 * * *", "America/New_York", utc(2026, 11, 1, 6)),
        ("0 6 * * 1-5", "UTC", utc(2026, 11, 27, 6)),
    ],
)
def test_cached_answers_match_a_fresh_computation_in_any_order(
    expr: str, tz: str, around: datetime
) -> None:
    import random
    from datetime import timedelta

    from monitor.core import schedule

    rng = random.Random(f"{expr}{tz}")
    instants = [around + timedelta(seconds=rng.randint(-3 * 86400, 3 * 86400)) for _ in range(400)]
    instants += [t.replace(second=0) for t in instants[:50]]  # exactly on minutes
    instants += next_ticks(expr, tz, around - timedelta(days=3), 20)  # exactly on ticks
    rng.shuffle(instants)
    schedule._gaps.clear()
    for at in instants:
        assert first_tick_after(expr, tz, at) == schedule._compute_first_tick_after(expr, tz, at)
    # A second pass answers only from the cache, still the same.
    for at in reversed(instants):
        assert first_tick_after(expr, tz, at) == schedule._compute_first_tick_after(expr, tz, at)
