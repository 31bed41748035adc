"""Verdicts: pure judgement of a reading at a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.clock import FakeClock
from monitor.core.evaluate import evaluate, expectation_in_words
from monitor.core.models import Contract, Expectation, HeartbeatSource, Reading, Status, TableSource

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
M = timedelta(minutes=1)
H = timedelta(hours=1)


def contract(
    warn: timedelta | None = 20 * M,
    error: timedelta | None = H,
    schedule: str | None = None,
    tz: str = "UTC",
    heartbeat: bool = False,
) -> Contract:
    return Contract(
        name="raw.orders",
        owner="ops",
        warehouse="main",
        source=HeartbeatSource() if heartbeat else TableSource("raw.orders", "_loaded_at"),
        expectation=Expectation(warn_after=warn, error_after=error, schedule=schedule, timezone=tz),
    )


def reading(last: datetime | None, **kw: object) -> Reading:
    return Reading("raw.orders", last_update=last, **kw)  # type: ignore[arg-type]


# --- Without a schedule ----------------------------------------------------------------


def test_it_is_fresh_before_warn_after() -> None:
    v = evaluate(contract(), reading(NOW - 12 * M), NOW)
    assert v.status is Status.FRESH
    assert v.warn_at == NOW + 8 * M
    assert v.error_at == NOW + 48 * M
    assert v.deadline == v.error_at
    assert v.age_seconds == 720
    assert v.description == "fresh: updated 12m ago, stale after 1h (at 10:48 UTC)"


def test_it_turns_warn_exactly_at_warn_after() -> None:
    v = evaluate(contract(), reading(NOW - 20 * M), NOW)
    assert v.status is Status.WARN
    assert v.warn_at == NOW
    assert v.description == "warn: updated 20m ago, stale after 1h (at 10:40 UTC)"


def test_it_is_still_fresh_one_second_before_warn_after() -> None:
    v = evaluate(contract(), reading(NOW - 20 * M + timedelta(seconds=1)), NOW)
    assert v.status is Status.FRESH


def test_it_turns_stale_exactly_at_error_after() -> None:
    v = evaluate(contract(), reading(NOW - H), NOW)
    assert v.status is Status.STALE
    assert v.error_at == NOW
    assert v.description == "stale: last update 1h ago, limit 1h"


def test_a_stale_verdict_says_how_old_the_data_is_and_the_limit() -> None:
    v = evaluate(contract(), reading(NOW - 3 * H - 12 * M), NOW)
    assert v.status is Status.STALE
    assert v.description == "stale: last update 3h 12m ago, limit 1h"
    assert v.deadline == NOW - 2 * H - 12 * M


def test_with_only_warn_after_it_warns_and_never_turns_stale() -> None:
    c = contract(warn=20 * M, error=None)
    assert evaluate(c, reading(NOW - 19 * M), NOW).status is Status.FRESH
    v = evaluate(c, reading(NOW - 20 * M), NOW)
    assert v.status is Status.WARN
    later = evaluate(c, reading(NOW - 20 * M), NOW + 30 * 24 * H)
    assert later.status is Status.WARN
    assert later.description == "warn: last update 30d ago, limit 20m"


def test_with_only_warn_after_the_deadline_is_the_warn_time() -> None:
    v = evaluate(contract(warn=20 * M, error=None), reading(NOW - 5 * M), NOW)
    assert v.error_at is None
    assert v.warn_at == v.deadline == NOW + 15 * M
    assert v.description == "fresh: updated 5m ago, warn after 20m (at 10:15 UTC)"


def test_with_only_error_after_it_is_fresh_until_stale() -> None:
    c = contract(warn=None, error=H)
    v = evaluate(c, reading(NOW - 59 * M), NOW)
    assert v.status is Status.FRESH
    assert v.warn_at is None
    assert evaluate(c, reading(NOW - H), NOW).status is Status.STALE


def test_no_data_at_all_is_stale_without_deadlines() -> None:
    v = evaluate(contract(), reading(None), NOW)
    assert v.status is Status.STALE
    assert v.warn_at is None and v.error_at is None and v.deadline is None
    assert v.age_seconds is None
    assert v.description == "stale: no data at all"


def test_a_source_that_could_not_be_read_is_error_with_its_message() -> None:
    v = evaluate(contract(), reading(None, error="table raw.orders does not exist"), NOW)
    assert v.status is Status.ERROR
    assert v.error == "table raw.orders does not exist"
    assert v.description == "error: table raw.orders does not exist"


def test_an_error_reading_still_carries_deadlines_from_a_known_last_update() -> None:
    v = evaluate(contract(), reading(NOW - 2 * H, error="lock held by a writer"), NOW)
    assert v.status is Status.ERROR
    assert v.error_at == NOW - H
    assert v.warn_at == NOW - 100 * M


def test_detail_is_passed_through() -> None:
    v = evaluate(contract(), reading(NOW - 5 * M, detail="2 failed runs since"), NOW)
    assert v.detail == "2 failed runs since"


def test_duration_is_passed_through() -> None:
    v = evaluate(contract(), reading(NOW - 5 * M, duration_seconds=0.004), NOW)
    assert v.duration_seconds == 0.004


def test_a_timestamp_in_the_future_is_fresh_and_says_so() -> None:
    v = evaluate(contract(), reading(NOW + 5 * M), NOW)
    assert v.status is Status.FRESH
    assert v.age_seconds == -300
    assert v.description == "fresh: last update is 5m in the future (clock skew?)"


def test_naive_timestamps_are_read_as_utc() -> None:
    v = evaluate(contract(), reading(datetime(2026, 11, 24, 9, 0)), NOW)
    assert v.status is Status.STALE
    assert v.last_update == NOW - H


def test_times_on_another_day_carry_their_date() -> None:
    v = evaluate(contract(warn=None, error=timedelta(days=2)), reading(NOW - H), NOW)
    assert v.description == "fresh: updated 1h ago, stale after 2d (at 2026-11-26 09:00 UTC)"


def test_it_flips_as_a_fake_clock_moves_through_both_deadlines() -> None:
    clock = FakeClock(NOW)
    r = reading(NOW)
    seen = []
    for _ in range(7):
        seen.append(evaluate(contract(), r, clock.now()).status)
        clock.advance(10 * M)
    assert seen == [Status.FRESH] * 2 + [Status.WARN] * 4 + [Status.STALE]


# --- With a schedule -------------------------------------------------------------------

DAILY = "0 6 * * *"


def test_with_a_schedule_it_is_fresh_until_the_tick_plus_warn_after() -> None:
    # Updated yesterday at 06:10: due again after today's 06:00 tick.
    c = contract(schedule=DAILY)
    r = reading(datetime(2026, 11, 23, 6, 10, tzinfo=UTC))
    v = evaluate(c, r, datetime(2026, 11, 24, 6, 19, tzinfo=UTC))
    assert v.status is Status.FRESH
    assert v.warn_at == datetime(2026, 11, 24, 6, 20, tzinfo=UTC)
    assert v.error_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert v.description == (
        "fresh: updated 1d ago, next due after the 06:00 UTC tick (stale at 07:00 UTC)"
    )


def test_with_a_schedule_it_warns_at_the_tick_plus_warn_after() -> None:
    c = contract(schedule=DAILY)
    v = evaluate(
        c, reading(datetime(2026, 11, 23, 6, 10, tzinfo=UTC)), NOW.replace(hour=6, minute=20)
    )
    assert v.status is Status.WARN
    assert v.description == "warn: nothing since the 06:00 UTC tick 20m ago, stale at 07:00 UTC"


def test_with_a_schedule_it_turns_stale_at_the_tick_plus_error_after() -> None:
    c = contract(schedule=DAILY)
    v = evaluate(c, reading(datetime(2026, 11, 23, 6, 10, tzinfo=UTC)), NOW.replace(hour=7))
    assert v.status is Status.STALE
    assert v.deadline == NOW.replace(hour=7)


def test_with_a_schedule_a_stale_verdict_names_the_missed_tick_and_how_late() -> None:
    c = contract(schedule=DAILY)
    v = evaluate(c, reading(datetime(2026, 11, 23, 6, 10, tzinfo=UTC)), NOW.replace(hour=9))
    assert v.description == "stale: due after the 06:00 UTC tick, 2h past its 1h limit"


def test_with_a_schedule_data_after_the_tick_is_fresh_until_the_next_tick() -> None:
    c = contract(schedule=DAILY)
    v = evaluate(c, reading(NOW.replace(hour=6, minute=5)), NOW)
    assert v.status is Status.FRESH
    assert v.error_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_with_a_schedule_missing_two_runs_stays_stale() -> None:
    c = contract(schedule=DAILY)
    r = reading(datetime(2026, 11, 22, 6, 10, tzinfo=UTC))  # missed the 23rd and the 24th
    v = evaluate(c, r, NOW)
    assert v.status is Status.STALE
    assert v.error_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert v.description == (
        "stale: due after the 2026-11-23 06:00 UTC tick, 1d 3h past its 1h limit"
    )


def test_with_a_schedule_and_only_warn_after_it_warns_after_the_missed_tick() -> None:
    c = contract(warn=30 * M, error=None, schedule=DAILY)
    v = evaluate(c, reading(datetime(2026, 11, 23, 6, 10, tzinfo=UTC)), NOW)
    assert v.status is Status.WARN
    assert v.deadline == v.warn_at == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    assert v.description == "warn: nothing since the 06:00 UTC tick 4h ago"


def test_with_a_schedule_the_tick_is_read_in_the_contracts_timezone() -> None:
    c = contract(schedule="0 6 * * 1-5", tz="Europe/Berlin")
    # Friday 2026-11-20 06:10 Berlin; next tick Monday 23rd 06:00 Berlin = 05:00Z.
    v = evaluate(c, reading(datetime(2026, 11, 20, 5, 10, tzinfo=UTC)), NOW)
    assert v.error_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert v.status is Status.STALE


def test_with_a_schedule_a_tick_in_the_skipped_spring_hour_is_due_at_the_jump() -> None:
    c = contract(warn=None, error=H, schedule="30 2 * * *", tz="America/New_York")
    v = evaluate(
        c, reading(datetime(2026, 3, 7, 12, tzinfo=UTC)), datetime(2026, 3, 8, 7, 59, tzinfo=UTC)
    )
    # 02:30 does not exist on 2026-03-08: the tick fires at 03:00 EDT = 07:00Z.
    assert v.error_at == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert v.status is Status.FRESH


def test_with_a_schedule_a_tick_in_the_repeated_fall_hour_counts_once() -> None:
    c = contract(warn=None, error=H, schedule="30 2 * * *", tz="Europe/Berlin")
    # Data landed after the first 02:30 (00:30Z) on 2026-10-25; the repeated 02:30 CET
    # (01:30Z) is no tick, so the data is not due again until the next day.
    v = evaluate(
        c, reading(datetime(2026, 10, 25, 0, 45, tzinfo=UTC)), datetime(2026, 10, 25, 3, tzinfo=UTC)
    )
    assert v.status is Status.FRESH
    assert v.error_at == datetime(2026, 10, 26, 2, 30, tzinfo=UTC)


# --- Heartbeats: a run started and never finished --------------------------------------


def test_a_run_started_and_unfinished_past_error_after_is_stale() -> None:
    c = contract(heartbeat=True)
    r = reading(NOW - 3 * H + 30 * M, started_at=NOW - 2 * H)
    v = evaluate(c, r, NOW)
    assert v.status is Status.STALE
    assert v.detail == "started 2h ago, never finished"
    assert v.description == "stale: started 2h ago, never finished"


def test_a_hung_run_keeps_the_readings_own_detail() -> None:
    c = contract(heartbeat=True)
    r = reading(NOW - 3 * H, started_at=NOW - 2 * H, detail="last ping was /fail, exit code 3")
    v = evaluate(c, r, NOW)
    assert v.detail == "started 2h ago, never finished; last ping was /fail, exit code 3"


def test_a_run_in_progress_within_its_limit_is_not_hung() -> None:
    c = contract(heartbeat=True)
    v = evaluate(c, reading(NOW - 10 * M, started_at=NOW - 5 * M), NOW)
    assert v.status is Status.FRESH
    assert v.detail is None


def test_a_hung_run_with_only_warn_after_is_stale_at_warn_after() -> None:
    c = contract(warn=20 * M, error=None, heartbeat=True)
    v = evaluate(c, reading(NOW - 25 * M, started_at=NOW - 20 * M), NOW)
    assert v.status is Status.STALE


def test_a_hung_run_on_a_schedule_is_stale_before_the_next_tick() -> None:
    # Success at 06:05, a second run started 06:10 and hangs; the next tick is tomorrow.
    c = contract(heartbeat=True, schedule=DAILY)
    r = reading(NOW.replace(hour=6, minute=5), started_at=NOW.replace(hour=6, minute=10))
    v = evaluate(c, r, NOW.replace(hour=7, minute=10))
    assert v.status is Status.STALE
    assert v.error_at == NOW.replace(hour=7, minute=10)
    assert v.detail == "started 1h ago, never finished"


def test_a_run_in_progress_sets_the_deadline_at_which_it_would_hang() -> None:
    # Same run as above, seen at 06:30 while it still runs: the verdict already says 07:10,
    # so the scheduler checks then (it said tomorrow's tick + 1h before).
    c = contract(heartbeat=True, schedule=DAILY)
    r = reading(NOW.replace(hour=6, minute=5), started_at=NOW.replace(hour=6, minute=10))
    v = evaluate(c, r, NOW.replace(hour=6, minute=30))
    assert v.status is Status.FRESH
    assert v.deadline == NOW.replace(hour=7, minute=10)


def test_with_only_warn_after_a_run_in_progress_has_its_hang_as_stale_deadline() -> None:
    c = contract(warn=20 * M, error=None, heartbeat=True)
    v = evaluate(c, reading(NOW - 25 * M, started_at=NOW - 10 * M), NOW)
    assert v.status is Status.WARN
    assert (v.warn_at, v.error_at) == (NOW - 5 * M, NOW + 10 * M)
    assert v.description == "warn: last update 25m ago, limit 20m"


def test_a_start_older_than_the_last_success_is_a_finished_run() -> None:
    c = contract(heartbeat=True)
    v = evaluate(c, reading(NOW - 5 * M, started_at=NOW - 3 * H), NOW)
    assert v.status is Status.FRESH


def test_a_first_run_that_hangs_with_no_success_ever_is_stale_and_says_it_hung() -> None:
    c = contract(heartbeat=True)
    v = evaluate(c, reading(None, started_at=NOW - 2 * H), NOW)
    assert v.status is Status.STALE
    assert v.description == "stale: started 2h ago, never finished"
    assert v.deadline is None


def test_a_first_run_in_progress_with_no_success_ever_is_still_no_data() -> None:
    c = contract(heartbeat=True)
    v = evaluate(c, reading(None, started_at=NOW - 5 * M), NOW)
    assert v.status is Status.STALE
    assert v.description == "stale: no data at all (a run started 5m ago)"


# --- The expectation in words ----------------------------------------------------------


def test_an_expectation_without_schedule_reads_as_two_limits() -> None:
    assert expectation_in_words(contract(), NOW) == (
        "warn if nothing newer than 20m, stale if nothing newer than 1h"
    )


def test_an_expectation_with_a_last_update_names_its_deadline() -> None:
    words = expectation_in_words(contract(warn=None), NOW, NOW - 10 * M)
    assert words == "stale if nothing newer than 1h; next deadline 2026-11-24 10:50 UTC"
    passed = expectation_in_words(contract(warn=None), NOW, NOW - 2 * H)
    assert passed.endswith("next deadline 2026-11-24 09:00 UTC (passed)")


def test_an_expectation_with_a_schedule_reads_as_ticks_in_its_timezone() -> None:
    c = contract(schedule="0 6 * * 1-5", tz="Europe/Berlin")
    assert expectation_in_words(c, NOW) == (
        "due after each tick of '0 6 * * 1-5' (Europe/Berlin); warn 20m after a missed tick, "
        "stale 1h after; next deadline 2026-11-25 06:00 UTC"
    )


def test_an_expectation_with_a_schedule_and_only_error_after_reads_well() -> None:
    c = contract(warn=None, schedule="0 6 * * *")
    assert expectation_in_words(c, NOW, datetime(2026, 11, 24, 6, 5, tzinfo=UTC)) == (
        "due after each tick of '0 6 * * *' (UTC); stale 1h after a missed tick; "
        "next deadline 2026-11-25 07:00 UTC"
    )
