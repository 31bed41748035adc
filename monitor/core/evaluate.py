"""Pure judgement: (contract, reading, now) → Verdict. No I/O, no wall clock.

Deadlines (SPEC section 3):
- without a schedule, data turns warn at `last_update + warn_after` and stale at
  `last_update + error_after`;
- with a schedule, data is due after every tick: with T the first tick after
  `last_update`, it turns warn at `T + warn_after` and stale at `T + error_after`, so
  missing two runs in a row stays stale;
- a heartbeat run started and never finished turns stale `error_after` (else
  `warn_after`) after its start: a hung job;
- no data at all is stale; a source that could not be read is error;
- with `learn` (SPEC 13, core/learn.py) the learned deadlines join the fixed ones and the
  earlier of each pair wins; while still learning only the fixed ones count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.core.durations import compact_duration, format_duration
from monitor.core.models import Contract, Expectation, Reading, Status, Verdict

if TYPE_CHECKING:
    from monitor.core.learn import Learned

END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def evaluate(
    contract: Contract,
    reading: Reading,
    now: datetime,
    history: Sequence[datetime | float] = (),
) -> Verdict:
    """Judge `reading` of `contract` as of `now` (aware); `history` holds the update times
    (datetimes or epoch seconds) a `learn` contract learns from (SPEC 13)."""
    now = _utc(now)
    exp = contract.expectation
    last = _utc(reading.last_update) if reading.last_update is not None else None
    warn_at, error_at, tick = _deadlines(exp, last)
    learned = None
    if exp.learn is not None:
        from monitor.core.learn import learn_limits  # zoneinfo work only for learners

        learned = learn_limits(history, last, now, exp.timezone, exp.learn.window)
        warn_at = _earlier(warn_at, learned.warn_at)
        error_at = _earlier(error_at, learned.error_at)
    started = _running_since(reading, last)
    limit = _hang_limit(exp, learned)
    hang_at = _plus(started, limit) if started is not None and limit is not None else None
    if hang_at is not None and last is not None:
        # A run that may hang can make it stale before the tick-derived deadline does (with
        # only warn_after too: a hung job is stale). The deadline says so from the run's
        # start on, so the scheduler looks at that moment, and warn never comes after it.
        error_at = hang_at if error_at is None else min(error_at, hang_at)
        if warn_at is not None:
            warn_at = min(warn_at, error_at)
    hung_since = started if hang_at is not None and now >= hang_at else None

    detail = reading.detail
    if learned is not None and last is not None:
        detail = _join(learned.detail, detail)
    if reading.error is not None:
        status = Status.ERROR
    elif last is None or hung_since is not None:
        status = Status.STALE
        if hung_since is not None:
            detail = _join(
                f"started {format_duration(now - hung_since)} ago, never finished", detail
            )
    elif error_at is not None and now >= error_at:
        status = Status.STALE
    elif warn_at is not None and now >= warn_at:
        status = Status.WARN
    else:
        status = Status.FRESH

    draft = Verdict(contract.name, status, now, last, warn_at, error_at, "", reading.error)
    description = None
    learned_warn = learned_error = None
    if learned is not None:
        from monitor.core.learn import describe_learned

        description = describe_learned(draft, exp, learned, hung_since)
        learned_warn = _shorter(exp.warn_after, learned.warn_after)
        learned_error = _shorter(exp.error_after, learned.error_after)
    if description is None:  # no learning, or the fixed limits decide
        description = describe(draft, exp, tick, hung_since, reading.started_at)
    # Built again rather than dataclasses.replace(): that costs more than the rest of
    # evaluate() together, which shows at 10,000 contracts.
    return Verdict(
        contract=contract.name,
        status=status,
        checked_at=now,
        last_update=last,
        warn_at=warn_at,
        error_at=error_at,
        description=description,
        error=reading.error,
        detail=detail,
        duration_seconds=reading.duration_seconds,
        learned_warn_after=learned_warn,
        learned_error_after=learned_error,
    )


def _utc(when: datetime) -> datetime:
    # Sources hand over aware UTC; a naive value is read as UTC rather than crash.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _join(first: str, second: str | None) -> str:
    return first if not second else f"{first}; {second}"


def _deadlines(
    exp: Expectation, last: datetime | None
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(warn_at, error_at, tick): the deadlines without new data, and the tick they follow."""
    if last is None:
        return None, None, None
    tick = None
    base = last
    if exp.schedule:
        from monitor.core.schedule import first_tick_after  # cronsim only when needed

        try:
            tick = base = first_tick_after(exp.schedule, exp.timezone, last)
        except (OverflowError, ValueError):
            base = END_OF_TIME  # no tick left before year 10000
    warn_at = _plus(base, exp.warn_after) if exp.warn_after is not None else None
    error_at = _plus(base, exp.error_after) if exp.error_after is not None else None
    return warn_at, error_at, tick


def _plus(at: datetime, delta: timedelta) -> datetime:
    # A column may hold an "end of time" sentinel (9999-12-31 23:59:59): its deadline is
    # the last representable instant rather than an OverflowError for the whole check.
    try:
        return at + delta
    except OverflowError:
        return END_OF_TIME


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _shorter(a: timedelta | None, b: timedelta | None) -> timedelta | None:
    return b if a is None else a if b is None else min(a, b)


def _hang_limit(exp: Expectation, learned: Learned | None = None) -> timedelta | None:
    """How long a run may stay unfinished: error_after, else warn_after; with `learn` and
    no error_after, the learned U + slack (SPEC 13); None while still learning."""
    if exp.error_after is not None:
        return exp.error_after
    if learned is not None and learned.error_after is not None:
        return learned.error_after
    return exp.warn_after


def _running_since(reading: Reading, last: datetime | None) -> datetime | None:
    """The start of a run not finished yet (no success since it started), else None."""
    if reading.started_at is None:
        return None
    started = _utc(reading.started_at)
    if last is not None and started <= last:
        return None  # that run finished: the success is newer than its start
    return started


# --- When to look again ----------------------------------------------------------------


def next_check_at(verdict: Verdict, check_every: timedelta, now: datetime) -> datetime:
    """The next time worth checking: `check_every` from now, or sooner at a deadline.

    A verdict knows when it turns warn and stale without new data; checking right then is
    what makes a status flip on time whatever the poll interval (the scheduler's plan and
    the store's `next_check_at` column both ask this).
    """
    due = now + check_every
    for deadline in (verdict.warn_at, verdict.error_at):
        if deadline is not None and now < deadline < due:
            due = deadline
    return due


def error_verdict(
    contract: Contract,
    now: datetime,
    error: str,
    description: str,
    last_update: datetime | None = None,
    duration_seconds: float = 0.0,
) -> Verdict:
    """The `error` verdict of a contract that could not be read or judged: no deadlines."""
    return Verdict(
        contract=contract.name,
        status=Status.ERROR,
        checked_at=now,
        last_update=last_update,
        warn_at=None,
        error_at=None,
        description=description,
        error=error,
        duration_seconds=duration_seconds,
    )


# --- Words -----------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _words(limit: timedelta) -> str:
    return compact_duration(limit)


def _at(when: datetime, now: datetime) -> str:
    """`10:00 UTC` on the day of `now`, else `2026-11-25 10:00 UTC` (seconds when set)."""
    # Both are UTC already (evaluate() normalises them); strftime is slow at 10,000 rows.
    clock = f"{when.hour:02d}:{when.minute:02d}"
    if when.second:
        clock += f":{when.second:02d}"
    if (when.year, when.month, when.day) == (now.year, now.month, now.day):
        return f"{clock} UTC"
    return f"{when.year:04d}-{when.month:02d}-{when.day:02d} {clock} UTC"


def _late(verdict: Verdict, limit_words: str) -> str:
    deadline = verdict.deadline
    assert deadline is not None
    return f"{format_duration(verdict.checked_at - deadline)} past its {limit_words} limit"


def describe(
    verdict: Verdict,
    exp: Expectation,
    tick: datetime | None = None,
    hung_since: datetime | None = None,
    started_at: datetime | None = None,
) -> str:
    """One human line for a verdict, one case per outcome."""
    now = verdict.checked_at
    last = verdict.last_update
    limit = exp.error_after if exp.error_after is not None else exp.warn_after
    limit_words = _words(limit) if limit is not None else "?"
    status = verdict.status

    if status is Status.ERROR:
        return f"error: {verdict.error}"
    if status is Status.STALE and hung_since is not None:
        return f"stale: started {format_duration(now - hung_since)} ago, never finished"
    if status is Status.STALE and last is None:
        if started_at is not None:
            ago = format_duration(now - _utc(started_at))
            return f"stale: no data at all (a run started {ago} ago)"
        return "stale: no data at all"
    assert last is not None
    age = now - last
    if age < timedelta(0):
        return f"fresh: last update is {format_duration(-age)} in the future (clock skew?)"
    if status is Status.STALE and tick is not None:
        return f"stale: due after the {_at(tick, now)} tick, {_late(verdict, limit_words)}"
    if status is Status.STALE:
        return f"stale: last update {format_duration(age)} ago, limit {limit_words}"
    if status is Status.WARN and tick is not None:
        since = f"nothing since the {_at(tick, now)} tick {format_duration(now - tick)} ago"
        if verdict.error_at is None:
            return f"warn: {since}"
        return f"warn: {since}, stale at {_at(verdict.error_at, now)}"
    if status is Status.WARN:
        if verdict.error_at is None or exp.error_after is None:
            return f"warn: last update {format_duration(age)} ago, limit {limit_words}"
        assert exp.error_after is not None
        stale = f"stale after {_words(exp.error_after)} (at {_at(verdict.error_at, now)})"
        return f"warn: updated {format_duration(age)} ago, {stale}"
    # fresh
    level = "stale" if verdict.error_at is not None else "warn"
    if tick is not None and verdict.deadline is not None:
        return (
            f"fresh: updated {format_duration(age)} ago, next due after the "
            f"{_at(tick, now)} tick ({level} at {_at(verdict.deadline, now)})"
        )
    when = f" (at {_at(verdict.deadline, now)})" if verdict.deadline is not None else ""
    return f"fresh: updated {format_duration(age)} ago, {level} after {limit_words}{when}"


def expectation_in_words(
    contract: Contract, now: datetime, last_update: datetime | None = None
) -> str:
    """The expectation as a sentence, for `fresh explain`, with the next deadline."""
    exp = contract.expectation
    now = _utc(now)
    if exp.schedule:
        levels = []
        if exp.warn_after is not None:
            levels.append(f"warn {compact_duration(exp.warn_after)} after a missed tick")
        if exp.error_after is not None:
            after = " after" if exp.warn_after is not None else " after a missed tick"
            levels.append(f"stale {compact_duration(exp.error_after)}{after}")
        words = f"due after each tick of '{exp.schedule}' ({exp.timezone}); " + ", ".join(levels)
    else:
        levels = []
        if exp.warn_after is not None:
            levels.append(f"warn if nothing newer than {compact_duration(exp.warn_after)}")
        if exp.error_after is not None:
            levels.append(f"stale if nothing newer than {compact_duration(exp.error_after)}")
        words = ", ".join(levels)
    if exp.learn is not None:
        learned = (
            f"learned from the last {compact_duration(exp.learn.window)} of updates "
            "(the usual age at this time of week)"
        )
        words = f"{words}; {learned}, whichever comes first" if words else learned

    deadline = _next_deadline(exp, now, last_update)
    if deadline is None:
        return words
    passed = " (passed)" if deadline <= now else ""
    return f"{words}; next deadline {deadline:%Y-%m-%d %H:%M} UTC{passed}"


def _next_deadline(exp: Expectation, now: datetime, last: datetime | None) -> datetime | None:
    limit = exp.error_after if exp.error_after is not None else exp.warn_after
    if limit is None:
        return None
    if last is not None:
        warn_at, error_at, _ = _deadlines(exp, _utc(last))
        return error_at if error_at is not None else warn_at
    if exp.schedule:
        # Data arriving now would be due again after the next tick.
        from monitor.core.schedule import first_tick_after  # cronsim only when needed

        return first_tick_after(exp.schedule, exp.timezone, now) + limit
    return None
