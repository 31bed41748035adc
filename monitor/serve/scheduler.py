"""When each contract is checked, and the loop that checks it.

Why asyncio (and threads for reads): `fresh serve` already runs an asyncio loop for
uvicorn, and the scheduler is mostly waiting — for the next deadline, a SIGHUP, a ping.
One loop owns every piece of scheduling state (the heap, what is in flight), so none of it
needs a lock. Everything that blocks — warehouse reads, the state store — runs in worker
threads: one small pool per warehouse, so a slow or failing warehouse only ever delays its
own contracts, and one store thread, so writes to an SQLite store are serialised. DuckDB
and the database drivers release the GIL while a query runs, so reads on different
warehouses really overlap.

The pure part (`Plan`, `retry_at` in monitor/serve/plan.py; `next_check_at` in
monitor/core/evaluate.py) decides *what is due at `now`* and *when to wake next*; it takes
`now` as a value and is unit-tested with a FakeClock. What a worker thread does with one
batch (read, judge, never let one bad contract stop the rest) is `Judge` in judge.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.core.clock import Clock
from monitor.core.evaluate import next_check_at
from monitor.core.models import Contract, Verdict
from monitor.serve.judge import EvaluateFn, HistoryFn, Judge, Observer, ReadFn
from monitor.serve.plan import Plan, retry_at, round_after  # the pure part

log = logging.getLogger("fresh.scheduler")

#: a woken loop never sleeps longer than this (a safety net against clock jumps)
MAX_SLEEP = 30.0
#: contracts read in one call at most. Opening a warehouse costs a fixed price per call
#: (DuckDB loads its catalog: 0.4 s for 10,000 tables), so rounds go in big batches; deadline
#: checks never wait for them, they have their own lane (see `Scheduler.dispatch`).
MAX_BATCH = 5000
#: how often history older than `state.retention` is pruned
PRUNE_EVERY = timedelta(hours=1)


def release_memory() -> None:
    """Hand memory freed after a big batch back to the OS (glibc keeps it otherwise, and a
    long-running service's RSS would stay at its largest batch)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# --- The ports the loop talks to ------------------------------------------------------------


class VerdictStore(Protocol):
    """What the scheduler needs of the state store."""

    def save_verdicts(
        self, verdicts: Sequence[Verdict], contracts: Mapping[str, Contract], now: datetime
    ) -> list[Any]: ...


SaveHook = Callable[[list[Any], datetime], None]


@dataclass
class _Batch:
    key: str  # the warehouse, by default: what is read in one call and one thread
    contracts: list[Contract]
    urgent: bool = False  # the lane of deadline checks and pings
    started: datetime | None = None  # when it was dispatched: the next round counts from it


def _log_batch(batch: _Batch, read_seconds: float | None, seconds: float) -> None:
    """One line per batch, when it is done: what was read, how long reading (and judging)
    and the whole batch (saving included) took. The line's time minus `seconds` is when the
    batch started, so a log reader (bench/scale.py) knows exactly when this process was
    reading, which the per-read metrics, counted only once a batch is judged, cannot say."""
    log.info(
        f"checked {len(batch.contracts)} contract(s) of {batch.key} in {seconds:.2f} s",
        extra={
            "event": "batch_done",
            "batch": batch.key,
            "contracts": len(batch.contracts),
            "urgent": batch.urgent,
            "read_seconds": None if read_seconds is None else round(read_seconds, 3),
            "seconds": round(seconds, 3),
        },
    )


# --- The loop -------------------------------------------------------------------------------


class Scheduler:
    """Checks contracts when due: batched per warehouse, reads in threads, saves in one.

    `read` reads a batch of one warehouse; `evaluate` judges one reading; `save` records
    verdicts in the store (returns the status changes) and `after_save` gets those changes
    (the alerts hook). `observe` sees every reading and verdict (metrics).
    """

    def __init__(
        self,
        contracts: Sequence[Contract],
        *,
        clock: Clock,
        read: ReadFn,
        evaluate: EvaluateFn,
        store: VerdictStore,
        after_save: SaveHook | None = None,
        observe: Observer | None = None,
        prune: Callable[[datetime], None] | None = None,
        batch_key: Callable[[Contract], str] | None = None,
        max_batch: int = MAX_BATCH,
        claim: Callable[[list[Contract], datetime], list[Contract]] | None = None,
        history: HistoryFn | None = None,
    ) -> None:
        self.clock = clock
        self._judge = Judge(clock, read, evaluate, observe, history)
        self._claim = claim  # replicas: the lease filter (monitor/serve/leases.py)
        self._store = store
        self._after_save = after_save
        self._prune = prune
        self._key = batch_key or (lambda c: c.warehouse)
        self.max_batch = max_batch
        self._contracts: dict[str, Contract] = {}
        self.plan = Plan()
        self._failures: dict[str, int] = {}
        self._pending: dict[str, dict[str, Contract]] = {}  # batch key → due, not yet read
        # (batch key, urgent lane) → running batch: per key, one round batch and one batch
        # of deadline checks and pings may run at once
        self._in_flight: dict[tuple[str, bool], asyncio.Task[None]] = {}
        self._urgent: set[str] = set()  # due at a deadline or poked: read before the rest
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self.store_pool = ThreadPoolExecutor(1, thread_name_prefix="fresh-store")
        self._wake = asyncio.Event()
        self._stopping = False
        self._next_prune = clock.now()
        self.rounds = 0  # batches completed (for tests and the bench)
        self.set_contracts(contracts)

    # -- configuration --

    @property
    def contracts(self) -> Mapping[str, Contract]:
        """The contracts being checked, by name."""
        return self._contracts

    def set_contracts(self, contracts: Sequence[Contract]) -> list[str]:
        """Swap in a new set of contracts (a reload); returns the names removed.

        New and changed contracts are checked at once; unchanged ones keep their plan.
        """
        now = self.clock.now()
        new = {c.name: c for c in contracts}
        removed = [n for n in self._contracts if n not in new]
        for name in removed:
            self.plan.remove(name)
            self._failures.pop(name, None)
            self._urgent.discard(name)
        for name, c in new.items():
            if self._contracts.get(name) != c:
                self.plan.schedule(name, now)
        self._contracts = new
        self._wake.set()
        return removed

    def poke(self, name: str) -> None:
        """Check `name` as soon as possible (a ping arrived)."""
        if name in self._contracts:
            self.plan.schedule(name, self.clock.now())
            self._urgent.add(name)
            self._wake.set()

    # -- which contracts this replica checks (scale-out puts leases here) --

    def claim(self, due: list[Contract], now: datetime) -> list[Contract]:
        """Of the due contracts, the ones this process checks now.

        A single replica checks all of them; with several replicas on PostgreSQL this is
        the one place that asks the store for leases (SPEC section 9).
        """
        return due if self._claim is None else self._claim(due, now)

    # -- the loop --

    def dispatch(self, now: datetime) -> list[asyncio.Task[None]]:
        """Start a read for every warehouse with due contracts and none in flight."""
        names = self.plan.pop_due(now)
        due = [self._contracts[n] for n in names if n in self._contracts]
        claimed = self.claim(due, now)
        mine = {c.name for c in claimed}
        for c in due:
            if c.name not in mine:  # another replica has it: look again one interval later
                self.plan.schedule(c.name, now + c.check_every)
        for c in claimed:
            self._pending.setdefault(self._key(c), {})[c.name] = c
        started = []
        for key, waiting in list(self._pending.items()):
            for urgent in (True, False):
                if not waiting or (key, urgent) in self._in_flight:
                    continue
                contracts = self._take(waiting, urgent, now)
                if not contracts:
                    continue
                batch = _Batch(key, contracts, urgent, started=now)
                task = asyncio.get_running_loop().create_task(self._run_batch(batch))
                self._in_flight[(key, urgent)] = task
                started.append(task)
        return started

    def _take(
        self, waiting: dict[str, Contract], urgent_only: bool, now: datetime
    ) -> list[Contract]:
        """The next batch of one key: urgent contracts (a deadline, a ping) first, then —
        unless `urgent_only` — the rest in the order they fell due; at most `max_batch`.

        The urgent lane is why a status flips on time while a round of thousands of
        contracts is being read from the same warehouse: it does not queue behind it.
        """
        batch: list[Contract] = []
        while len(batch) < self.max_batch:
            more = self._candidates(waiting, urgent_only, self.max_batch - len(batch))
            if not more:
                break
            batch += self._still_claimed(more, now)
        return batch

    def _candidates(
        self, waiting: dict[str, Contract], urgent_only: bool, limit: int
    ) -> list[Contract]:
        """Up to `limit` waiting contracts, urgent ones first, taken out of `waiting`."""
        batch = [c for n, c in waiting.items() if n in self._urgent][:limit]
        if not urgent_only and len(batch) < limit:
            for name, c in waiting.items():
                if len(batch) >= limit:
                    break
                if name not in self._urgent:
                    batch.append(c)
        for c in batch:
            del waiting[c.name]
            self._urgent.discard(c.name)
        return batch

    def _still_claimed(self, batch: list[Contract], now: datetime) -> list[Contract]:
        """Of contracts claimed when they fell due, those this replica still holds.

        A batch may wait in `_pending` for minutes behind the one before it, and leases move
        meanwhile: the first replica up holds every lease for a few seconds, claims all
        100,000 contracts, then hands two thirds to the replicas that join. Reading those
        anyway cost it a whole round of reads whose verdicts its fence then dropped, while
        their new holders read them too. The others are looked at again one interval later,
        as `dispatch` does with what it does not claim.
        """
        if self._claim is None:
            return batch
        kept = self._claim(batch, now)
        if len(kept) < len(batch):
            mine = {c.name for c in kept}
            for c in batch:
                if c.name not in mine:
                    self.plan.schedule(c.name, now + c.check_every)
        return kept

    async def run(self) -> None:
        """Check contracts until `stop()`; in-flight batches finish before it returns."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = self.clock.now()
            self.dispatch(now)
            if self._prune is not None and now >= self._next_prune:
                self._next_prune = now + PRUNE_EVERY
                loop.run_in_executor(self.store_pool, self._safe_prune, now)
            wake = self.plan.next_wake()
            delay = MAX_SLEEP if wake is None else (wake - self.clock.now()).total_seconds()
            self._wake.clear()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(delay, MAX_SLEEP))
        await self.drain()

    async def drain(self) -> None:
        """Wait for every batch in flight (each ends with its verdicts saved)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    def stop(self) -> None:
        """Ask `run()` to return once in-flight batches have finished."""
        self._stopping = True
        self._wake.set()

    def close(self) -> None:
        """Release the worker threads (after `run()` returned)."""
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self.store_pool.shutdown(wait=True)

    # -- one batch --

    def _pool(self, key: str) -> ThreadPoolExecutor:
        pool = self._pools.get(key)
        if pool is None:
            # two threads: a round batch and an urgent batch may read at once
            pool = ThreadPoolExecutor(2, thread_name_prefix=f"fresh-read-{key}")
            self._pools[key] = pool
        return pool

    async def _run_batch(self, batch: _Batch) -> None:
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()  # durations, not instants: never the clock (a FakeClock)
        read_seconds: float | None = None
        try:
            verdicts, raised = await loop.run_in_executor(
                self._pool(batch.key), self._judge, batch.contracts
            )
            read_seconds = time.perf_counter() - t0
            now = self.clock.now()
            await loop.run_in_executor(self.store_pool, self._save, verdicts, now, not batch.urgent)
            self._plan_next(batch.contracts, verdicts, raised, now, batch.started or now)
        except Exception as exc:  # the store refused: try again soon, keep the loop alive
            log.error(
                "saving verdicts failed",
                extra={"event": "save_failed", "batch": batch.key, "error": str(exc)},
            )
            now = self.clock.now()
            for c in batch.contracts:
                self._failures[c.name] = self._failures.get(c.name, 0) + 1
                if c.name in self._contracts:
                    self.plan.schedule(c.name, retry_at(c, self._failures[c.name], now))
        finally:
            del self._in_flight[(batch.key, batch.urgent)]
            self.rounds += 1
            self._wake.set()
            _log_batch(batch, read_seconds, time.perf_counter() - t0)

    def _save(self, verdicts: list[Verdict], now: datetime, bulk: bool = False) -> None:
        """In the store thread: record verdicts, then hand the changes to the hook."""
        live = [v for v in verdicts if v.contract in self._contracts]
        changes = self._store.save_verdicts(live, self._contracts, now)
        if bulk:
            release_memory()
        if changes and self._after_save is not None:
            try:
                self._after_save(changes, now)
            except Exception:  # the alerts hook must never stop checking
                log.exception("status-change hook failed", extra={"event": "hook_failed"})

    def _plan_next(
        self,
        contracts: list[Contract],
        verdicts: list[Verdict],
        raised: set[str],
        now: datetime,
        started: datetime,
    ) -> None:
        by_name = {v.contract: v for v in verdicts}
        for c in contracts:
            if c.name not in self._contracts or c.name in self._pending.get(self._key(c), {}):
                continue  # removed by a reload, or due again already (poked while read)
            if self.plan.due_at(c.name) is not None:
                # Dispatching took it out of the plan, so it was poked or changed while read
                # or saved: that plan stands. (Only `<= now` used to count: a poke during the
                # save, later than `now`, was overwritten by the next round, check_every away.)
                continue
            current = self._contracts[c.name]
            if c.name in raised:
                self._failures[c.name] = self._failures.get(c.name, 0) + 1
                self.plan.schedule(c.name, retry_at(current, self._failures[c.name], now))
            else:
                self._failures.pop(c.name, None)
                natural = next_check_at(by_name[c.name], current.check_every, now)
                self.plan.schedule(c.name, round_after(natural, current.check_every, started, now))
                if natural < now + current.check_every:  # a deadline: flip on time
                    self._urgent.add(c.name)
                else:
                    self._urgent.discard(c.name)

    def _safe_prune(self, now: datetime) -> None:
        try:
            assert self._prune is not None
            self._prune(now)
        except Exception as exc:
            log.warning("pruning failed", extra={"event": "prune_failed", "error": str(exc)})

