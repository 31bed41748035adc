"""The scheduler's planning (what is due at `now`, when to wake) and one loop step, with a
FakeClock: no sleeps."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.core.clock import FakeClock
from monitor.core.evaluate import next_check_at
from monitor.core.models import (
    Contract,
    Expectation,
    HeartbeatSource,
    Reading,
    Status,
    TableSource,
    Verdict,
)
from monitor.serve.plan import RETRY_FIRST, Plan, retry_at, round_after
from monitor.serve.scheduler import Scheduler

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def contract(
    name: str,
    warehouse: str = "main",
    every: timedelta = timedelta(hours=1),
    warn: timedelta | None = None,
    error: timedelta | None = timedelta(seconds=3),
) -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse=warehouse,
        source=TableSource(table=name, column="t"),
        expectation=Expectation(warn_after=warn, error_after=error),
        check_every=every,
    )


def judge(c: Contract, r: Reading, now: datetime) -> Verdict:
    """A tiny evaluate(): enough to drive the loop (the real one is tested elsewhere)."""
    if r.error:
        return Verdict(c.name, Status.ERROR, now, None, None, None, "error", error=r.error)
    if r.last_update is None:
        return Verdict(c.name, Status.STALE, now, None, None, None, "no data")
    e = c.expectation
    warn_at = r.last_update + e.warn_after if e.warn_after else None
    error_at = r.last_update + e.error_after if e.error_after else None
    status = Status.FRESH
    if warn_at and now >= warn_at:
        status = Status.WARN
    if error_at and now >= error_at:
        status = Status.STALE
    return Verdict(c.name, status, now, r.last_update, warn_at, error_at, str(status))


class MemoryStore:
    def __init__(self) -> None:
        self.saved: list[Verdict] = []
        self.status: dict[str, Status] = {}
        self.fail = False

    def save_verdicts(
        self, verdicts: Sequence[Verdict], contracts: Mapping[str, Contract], now: datetime
    ) -> list[Any]:
        if self.fail:
            raise RuntimeError("store down")
        changes = []
        for v in verdicts:
            self.saved.append(v)
            if self.status.get(v.contract) != v.status:
                changes.append((v.contract, self.status.get(v.contract), v.status))
                self.status[v.contract] = v.status
        return changes


def step(s: Scheduler, now: datetime) -> None:
    """Dispatch what is due at `now` and wait for those batches (no sleeping)."""

    async def go() -> None:
        s._wake = asyncio.Event()
        tasks = s.dispatch(now)
        if tasks:
            await asyncio.gather(*tasks)

    asyncio.run(go())


# --- Plan -----------------------------------------------------------------------------------


def test_plan_pops_only_what_is_due_earliest_first() -> None:
    plan = Plan()
    plan.schedule("b", T0 + timedelta(seconds=20))
    plan.schedule("a", T0 + timedelta(seconds=10))
    plan.schedule("c", T0 + timedelta(seconds=30))
    assert plan.next_wake() == T0 + timedelta(seconds=10)
    assert plan.pop_due(T0 + timedelta(seconds=25)) == ["a", "b"]
    assert plan.next_wake() == T0 + timedelta(seconds=30)
    assert "c" in plan and "a" not in plan


def test_rescheduling_replaces_the_earlier_plan() -> None:
    plan = Plan()
    plan.schedule("a", T0 + timedelta(seconds=10))
    plan.schedule("a", T0 + timedelta(seconds=50))
    assert plan.pop_due(T0 + timedelta(seconds=20)) == []
    assert plan.next_wake() == T0 + timedelta(seconds=50)
    assert plan.due_at("a") == T0 + timedelta(seconds=50)


def test_a_removed_contract_is_never_due() -> None:
    plan = Plan()
    plan.schedule("a", T0)
    plan.remove("a")
    assert plan.pop_due(T0 + timedelta(days=1)) == []
    assert plan.next_wake() is None
    assert len(plan) == 0


def test_the_heap_stays_small_under_constant_rescheduling() -> None:
    plan = Plan()
    for i in range(10_000):
        plan.schedule("a", T0 + timedelta(seconds=i))
    assert len(plan._heap) < 100
    assert plan.pop_due(T0 + timedelta(days=1)) == ["a"]


# --- next_check_at / retry_at ---------------------------------------------------------------


def test_the_next_check_is_at_the_warn_deadline_when_it_comes_before_check_every() -> None:
    c = contract("a", warn=timedelta(minutes=20), error=timedelta(hours=2))
    v = judge(c, Reading("a", last_update=T0), T0 + timedelta(minutes=1))
    assert next_check_at(v, c.check_every, T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=20)


def test_the_next_check_is_at_the_error_deadline_once_warn_has_passed() -> None:
    c = contract("a", warn=timedelta(minutes=20), error=timedelta(minutes=50))
    now = T0 + timedelta(minutes=30)
    v = judge(c, Reading("a", last_update=T0), now)
    assert v.status is Status.WARN
    assert next_check_at(v, c.check_every, now) == T0 + timedelta(minutes=50)


def test_without_a_coming_deadline_the_next_check_is_check_every_later() -> None:
    c = contract("a", every=timedelta(minutes=5), error=timedelta(minutes=10))
    now = T0 + timedelta(minutes=20)
    v = judge(c, Reading("a", last_update=T0), now)
    assert next_check_at(v, c.check_every, now) == now + timedelta(minutes=5)


def test_retries_back_off_and_never_wait_longer_than_check_every() -> None:
    c = contract("a", every=timedelta(minutes=1))
    assert retry_at(c, 1, T0) == T0 + RETRY_FIRST
    assert retry_at(c, 2, T0) == T0 + 2 * RETRY_FIRST
    assert retry_at(c, 3, T0) == T0 + 4 * RETRY_FIRST
    assert retry_at(c, 50, T0) == T0 + timedelta(minutes=1)


# --- one loop step --------------------------------------------------------------------------


def make(
    contracts: list[Contract], read: Any, store: MemoryStore | None = None, **kw: Any
) -> tuple[Scheduler, FakeClock, MemoryStore]:
    clock = FakeClock(T0)
    store = store or MemoryStore()
    s = Scheduler(contracts, clock=clock, read=read, evaluate=judge, store=store, **kw)
    return s, clock, store


def test_contracts_of_one_warehouse_due_together_are_read_in_one_call() -> None:
    calls: list[list[str]] = []

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        calls.append([c.name for c in cs])
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, _, store = make([contract("a", "x"), contract("b", "y"), contract("c", "x")], read)
    step(s, T0)
    assert sorted(calls) == [["a", "c"], ["b"]]
    assert {v.contract for v in store.saved} == {"a", "b", "c"}
    s.close()


def test_a_contract_is_checked_again_at_its_deadline_not_an_hour_later() -> None:
    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name, last_update=T0) for c in cs}

    s, clock, store = make([contract("a", error=timedelta(seconds=3))], read)
    step(s, T0)
    assert store.status["a"] is Status.FRESH
    assert s.plan.next_wake() == T0 + timedelta(seconds=3)
    clock.set(T0 + timedelta(seconds=3))
    step(s, clock.now())
    assert store.status["a"] is Status.STALE
    assert s.plan.next_wake() == T0 + timedelta(seconds=3) + timedelta(hours=1)
    s.close()


def test_an_evaluation_that_raises_is_recorded_as_error_and_retried_with_backoff() -> None:
    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name, last_update=T0) for c in cs}

    def explode(c: Contract, r: Reading, now: datetime) -> Verdict:
        if c.name == "bad":
            raise ZeroDivisionError("division by zero")
        return judge(c, r, now)

    clock = FakeClock(T0)
    store = MemoryStore()
    s = Scheduler(
        [contract("bad"), contract("good")], clock=clock, read=read, evaluate=explode, store=store
    )
    step(s, T0)
    bad = [v for v in store.saved if v.contract == "bad"][-1]
    assert bad.status is Status.ERROR and "division by zero" in (bad.error or "")
    assert store.status["good"] is Status.FRESH
    assert s.plan.due_at("bad") == T0 + RETRY_FIRST
    clock.set(T0 + RETRY_FIRST)
    step(s, clock.now())
    assert s.plan.due_at("bad") == T0 + 3 * RETRY_FIRST
    s.close()


def test_a_read_that_raises_makes_its_warehouse_error_and_leaves_others_alone() -> None:
    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        if cs[0].warehouse == "broken":
            raise ConnectionError("connection refused")
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, _, store = make([contract("a", "broken"), contract("b", "ok")], read)
    step(s, T0)
    assert store.status == {"a": Status.ERROR, "b": Status.FRESH}
    [failed] = [v for v in store.saved if v.contract == "a"]
    assert failed.error is not None and "connection refused" in failed.error
    assert [v.error for v in store.saved if v.contract == "b"] == [None]
    s.close()


def test_a_slow_warehouse_does_not_delay_another() -> None:
    release = threading.Event()

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        if cs[0].warehouse == "slow":
            release.wait(10)
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, _, store = make([contract("a", "slow"), contract("b", "fast")], read)

    async def go() -> None:
        tasks = s.dispatch(T0)
        _done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        assert store.status == {"b": Status.FRESH}
        release.set()
        await asyncio.gather(*tasks)

    asyncio.run(go())
    assert store.status == {"a": Status.FRESH, "b": Status.FRESH}
    s.close()


def test_the_hook_gets_the_status_changes_after_each_save() -> None:
    seen: list[Any] = []

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name) for c in cs}

    s, _, _ = make([contract("a")], read, after_save=lambda ch, now: seen.append(ch))
    step(s, T0)
    assert seen == [[("a", None, Status.STALE)]]
    s.close()


def test_a_failing_store_retries_later_and_the_loop_survives() -> None:
    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    store = MemoryStore()
    store.fail = True
    s, clock, _ = make([contract("a")], read, store=store)
    step(s, T0)
    assert s.plan.due_at("a") == T0 + RETRY_FIRST
    store.fail = False
    clock.set(T0 + RETRY_FIRST)
    step(s, clock.now())
    assert store.status == {"a": Status.FRESH}
    s.close()


def test_a_reload_checks_new_contracts_now_and_forgets_removed_ones() -> None:
    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, clock, _ = make([contract("a"), contract("b")], read)
    step(s, T0)
    clock.set(T0 + timedelta(seconds=1))
    removed = s.set_contracts([contract("a"), contract("c")])
    assert removed == ["b"]
    assert "b" not in s.plan
    assert s.plan.pop_due(clock.now()) == ["c"]
    s.close()


def test_a_poke_checks_a_contract_at_once() -> None:
    calls: list[str] = []

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        calls.extend(c.name for c in cs)
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, clock, _ = make([contract("a", error=timedelta(hours=5))], read)
    step(s, T0)
    clock.set(T0 + timedelta(seconds=2))
    s.poke("a")
    s.poke("unknown")
    step(s, clock.now())
    assert calls == ["a", "a"]
    s.close()


def test_run_returns_after_stop_once_in_flight_reads_are_saved() -> None:
    started = threading.Event()

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        started.set()
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    s, _, store = make([contract("a")], read)

    async def go() -> None:
        task = asyncio.create_task(s.run())
        while not started.is_set():
            await asyncio.sleep(0)
        s.stop()
        await asyncio.wait_for(task, 5)

    asyncio.run(go())
    assert store.status == {"a": Status.FRESH}
    s.close()


def test_heartbeat_contracts_are_scheduled_like_any_other() -> None:
    c = Contract(
        name="job",
        owner="ops",
        warehouse="main",
        source=HeartbeatSource(),
        expectation=Expectation(error_after=timedelta(minutes=10)),
    )
    s, _, _ = make([c], lambda cs, now: {})
    assert s.plan.due_at("job") == T0
    s.close()


def test_a_big_round_is_read_in_batches_and_a_deadline_check_does_not_wait_for_it() -> None:
    calls: list[list[str]] = []
    lock = threading.Lock()

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        with lock:
            calls.append([c.name for c in cs])
        return {c.name: Reading(c.name, last_update=T0) for c in cs}

    many = [contract(f"c{i:04d}", error=timedelta(hours=2)) for i in range(25)]
    urgent = contract("a-urgent", error=timedelta(seconds=3))
    s, clock, store = make([urgent, *many], read, max_batch=10)
    step(s, T0)  # one round batch: `a-urgent` and nine others
    assert calls == [["a-urgent", *(f"c{i:04d}" for i in range(9))]]
    assert s.plan.due_at("a-urgent") == T0 + timedelta(seconds=3)
    clock.set(T0 + timedelta(seconds=3))
    step(s, clock.now())  # the deadline check has its own lane beside the next round batch
    assert sorted(calls[1:]) == [["a-urgent"], [f"c{i:04d}" for i in range(9, 19)]]
    while any(s._pending.values()):
        step(s, clock.now())
    assert sum(len(c) for c in calls) == len(many) + 2
    assert store.status["a-urgent"] is Status.STALE
    s.close()


def test_check_every_counts_from_start_to_start_so_slow_reads_do_not_stretch_the_rounds() -> None:
    """A loaded replica whose reads take 10 s of a 60 s interval still polls every 60 s
    (it polled every 70 s: the next round counted from the end of the save)."""
    every = timedelta(seconds=60)
    clock_box: list[FakeClock] = []

    def slow_read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        clock_box[0].advance(timedelta(seconds=10))  # the read takes 10 s
        return {c.name: Reading(c.name, last_update=clock_box[0].now()) for c in cs}

    c = contract("a", every=every, error=timedelta(hours=1))
    s, clock, _ = make([c], slow_read)
    clock_box.append(clock)
    starts = []
    for _ in range(3):
        due = s.plan.next_wake()
        assert due is not None
        clock.set(due)
        starts.append(due)
        step(s, due)
    assert [b - a for a, b in itertools.pairwise(starts)] == [every, every]
    s.close()


def test_a_round_slower_than_half_its_interval_still_pauses_half_an_interval() -> None:
    every = timedelta(seconds=60)
    started = T0
    saved = T0 + timedelta(seconds=50)
    assert round_after(saved + every, every, started, saved) == saved + every / 2
    assert round_after(T0 + timedelta(seconds=5) + every, every, T0, T0 + timedelta(seconds=5)) == (
        T0 + every
    )
    deadline = T0 + timedelta(seconds=20)  # a deadline before the next round still comes first
    assert round_after(deadline, every, T0, T0 + timedelta(seconds=5)) == deadline


def test_a_poke_that_arrives_while_the_batch_is_being_saved_is_not_lost() -> None:
    """An event or ping that lands while the previous check of its contract is being saved
    (a slow save on a loaded machine) must still be checked at once, not a round later."""

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    class SlowStore(MemoryStore):
        def save_verdicts(
            self, verdicts: Sequence[Verdict], contracts: Mapping[str, Contract], now: datetime
        ) -> list[Any]:
            clock.advance(timedelta(seconds=1))  # the save takes a second...
            s.poke("a")  # ...and a ping arrives meanwhile
            return super().save_verdicts(verdicts, contracts, now)

    s, clock, _ = make([contract("a", error=timedelta(hours=2))], read, store=SlowStore())
    step(s, T0)
    assert s.plan.due_at("a") == T0 + timedelta(seconds=1)
    s.close()


def test_each_batch_logs_one_line_spanning_its_read_and_its_save(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`batch_done` is how a log reader (bench/scale.py) knows when this process was reading:
    the line's time minus `seconds` is at or before the read began, and the line comes after
    the save ended; a batch whose save failed is logged too."""
    marks: dict[str, float] = {}

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        marks.setdefault("read", time.time())
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    class TimedStore(MemoryStore):
        def save_verdicts(
            self, verdicts: Sequence[Verdict], contracts: Mapping[str, Contract], now: datetime
        ) -> list[Any]:
            try:
                return super().save_verdicts(verdicts, contracts, now)
            finally:
                marks["saved"] = time.time()

    store = TimedStore()
    three = [contract("a", "x"), contract("b", "x"), contract("c", "y")]
    s, clock, _ = make(three, read, store=store)
    with caplog.at_level(logging.INFO, logger="fresh.scheduler"):
        step(s, T0)
    lines = [r for r in caplog.records if getattr(r, "event", None) == "batch_done"]
    assert sorted((r.batch, r.contracts, r.urgent) for r in lines) == [  # type: ignore[attr-defined]
        ("x", 2, False),
        ("y", 1, False),
    ]
    first = min(r.created - r.seconds for r in lines)  # type: ignore[attr-defined]
    assert first <= marks["read"] + 0.001  # rounded to the millisecond
    assert max(r.created for r in lines) >= marks["saved"]
    assert all(0 <= r.read_seconds <= r.seconds for r in lines)  # type: ignore[attr-defined]

    caplog.clear()
    store.fail = True
    clock.set(T0 + timedelta(hours=1))
    with caplog.at_level(logging.INFO, logger="fresh.scheduler"):
        step(s, clock.now())
    assert len([r for r in caplog.records if getattr(r, "event", None) == "batch_done"]) == 2
    s.close()


def test_contracts_whose_lease_moved_while_they_waited_are_not_read() -> None:
    """A replica claims what falls due, then reads it in batches of `max_batch`; when its
    leases move meanwhile (the first replica up held all of them until the others joined),
    it reads only what it still holds and looks at the rest again one interval later. It
    read them all before, and its fence dropped the verdicts."""
    calls: list[list[str]] = []

    def read(cs: list[Contract], now: datetime) -> dict[str, Reading]:
        calls.append([c.name for c in cs])
        return {c.name: Reading(c.name, last_update=now) for c in cs}

    every = timedelta(minutes=5)
    names = [f"c{i}" for i in range(6)]
    held = set(names)
    s, _, store = make(
        [contract(n, every=every, error=timedelta(hours=2)) for n in names],
        read,
        max_batch=2,
        claim=lambda due, now: [c for c in due if c.name in held],
    )
    step(s, T0)  # all six claimed; the first batch of two is read
    assert calls == [["c0", "c1"]]
    held -= {"c2", "c3", "c5"}  # another replica joined and took these
    while any(s._pending.values()):
        step(s, T0)
    assert calls == [["c0", "c1"], ["c4"]]
    assert {v.contract for v in store.saved} == {"c0", "c1", "c4"}
    for n in ("c2", "c3", "c5"):
        assert s.plan.due_at(n) == T0 + every
    s.close()
