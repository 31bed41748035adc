"""Property tests (hypothesis) for the verdict rule (SPEC section 3).

For any expectation (with or without a cron schedule) and any last update: the status only
worsens as time passes, warn comes no later than stale, and the status at `now` agrees with
the deadlines the verdict reports. Far-away timestamps (year 1, year 9999: a column's "end
of time" sentinel) are judged, not crashed on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from monitor.core.evaluate import evaluate
from monitor.core.models import (
    Contract,
    Expectation,
    HeartbeatSource,
    Reading,
    Status,
    TableSource,
    Verdict,
)

RANK = {Status.FRESH: 0, Status.WARN: 1, Status.STALE: 2}
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

seconds = st.integers(1, 30 * 86400).map(lambda s: timedelta(seconds=s))
schedules = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["0 6 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 0 1 * *", "0 */4 * * *"]),
        st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "America/Santiago"]),
    ),
)


@st.composite
def expectations(draw: st.DrawFn) -> Expectation:
    warn, error = draw(st.one_of(st.none(), seconds)), draw(st.one_of(st.none(), seconds))
    if warn is None and error is None:
        error = draw(seconds)
    if warn is not None and error is not None and warn >= error:
        warn, error = error, warn + timedelta(seconds=1)  # validate refuses warn ≥ error
    sched = draw(schedules)
    if sched is None:
        return Expectation(warn_after=warn, error_after=error)
    return Expectation(warn_after=warn, error_after=error, schedule=sched[0], timezone=sched[1])


def moments(span: timedelta = timedelta(days=60)) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=(EPOCH - span).replace(tzinfo=None),
        max_value=(EPOCH + span).replace(tzinfo=None),
        timezones=st.just(UTC),
    )


def next_change(v: Verdict) -> datetime | None:
    """The next deadline ahead of the check (what the scheduler wakes up for)."""
    ahead = [at for at in (v.warn_at, v.error_at) if at is not None and at > v.checked_at]
    return min(ahead) if ahead else None


def judge(
    exp: Expectation, last: datetime | None, now: datetime, started: datetime | None = None
) -> Verdict:
    """The verdict; `started`: a heartbeat run's /start (a job that may hang)."""
    source = HeartbeatSource() if started is not None else TableSource("t", "c")
    contract = Contract("t", "o", "w", source, exp)
    return evaluate(contract, Reading("t", last_update=last, started_at=started), now)


starts = st.one_of(st.none(), moments())


@given(expectations(), moments(), moments(), st.integers(0, 90 * 86400), starts)
@example(  # a run started 06:10 after the 06:05 success: stale at 07:10 if it never ends
    Expectation(error_after=timedelta(hours=1), schedule="0 6 * * *"),
    datetime(2026, 11, 24, 6, 5, tzinfo=UTC),
    datetime(2026, 11, 24, 6, 30, tzinfo=UTC),
    3600,
    datetime(2026, 11, 24, 6, 10, tzinfo=UTC),
)
def test_status_only_worsens_as_time_passes(
    exp: Expectation, last: datetime, now: datetime, later_by: int, started: datetime | None
) -> None:
    before = judge(exp, last, now, started)
    after = judge(exp, last, now + timedelta(seconds=later_by), started)
    assert RANK[before.status] <= RANK[after.status]
    # The deadlines depend on the data, not on when one asks.
    assert (before.warn_at, before.error_at) == (after.warn_at, after.error_at)


@given(expectations(), moments(), st.integers(0, 90 * 86400), moments(), starts)
def test_newer_data_is_never_judged_worse(
    exp: Expectation, last: datetime, newer_by: int, now: datetime, started: datetime | None
) -> None:
    older = judge(exp, last, now, started)
    newer = judge(exp, last + timedelta(seconds=newer_by), now, started)
    assert RANK[newer.status] <= RANK[older.status]


@given(expectations(), moments(), moments(), starts)
def test_warn_comes_first_and_the_status_agrees_with_the_deadlines(
    exp: Expectation, last: datetime, now: datetime, started: datetime | None
) -> None:
    v = judge(exp, last, now, started)
    assert v.last_update == last and v.checked_at == now
    if v.warn_at is not None and v.error_at is not None:
        assert v.warn_at <= v.error_at
        if started is None:
            assert v.warn_at < v.error_at
    assert v.deadline == (v.error_at if v.error_at is not None else v.warn_at)
    assert v.deadline is not None and v.deadline > last
    stale_at = v.error_at
    warn_at = v.warn_at if v.warn_at is not None else v.error_at
    assert warn_at is not None
    expected = (
        Status.STALE
        if stale_at is not None and now >= stale_at
        else Status.WARN
        if now >= warn_at
        else Status.FRESH
    )
    assert v.status is expected, (v, exp)
    flip = next_change(v)
    if v.status is Status.FRESH or (v.status is Status.WARN and stale_at is not None):
        assert flip is not None and flip > now
        assert judge(exp, last, flip, started).status is not v.status
        assert judge(exp, last, flip - timedelta(microseconds=1), started).status is v.status
    else:
        assert flip is None


@given(expectations(), moments())
def test_no_data_at_all_is_stale_whatever_the_time(exp: Expectation, now: datetime) -> None:
    v = judge(exp, None, now)
    assert v.status is Status.STALE and v.deadline is None and next_change(v) is None


@given(
    expectations(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.just(UTC)),
)
@example(
    Expectation(warn_after=timedelta(hours=1), error_after=timedelta(hours=2)),
    datetime(9999, 12, 31, 23, 0, tzinfo=UTC),  # overflowed the deadline before
    EPOCH,
)
@example(
    Expectation(error_after=timedelta(hours=2), schedule="0 6 * * *", timezone="Europe/Berlin"),
    datetime(9999, 12, 31, 12, 0, tzinfo=UTC),  # no tick left before year 10000
    EPOCH,
)
def test_any_representable_time_is_judged_without_crashing(
    exp: Expectation, last: datetime, now: datetime
) -> None:
    v = judge(exp, last, now)
    assert v.status in RANK
    assert v.deadline is not None and v.deadline >= last
