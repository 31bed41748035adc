"""Scale-out (SPEC section 9): which replica checks which contract, PostgreSQL the only
coordinator.

Each replica heartbeats into `replicas`; the live replicas are those seen within
`state.lease_ttl` by the database's clock. Each contract's rightful holder is chosen by
rendezvous (highest-random-weight) hashing of (contract, replica) over the live replicas:
every replica computes the same answer from the same membership, load spreads evenly, and
when a replica joins or leaves only the contracts it gains or loses move.

Rightful is not enough to check: a replica checks a contract only while it holds a live
*lease* on it (`leases`: holder, epoch, expires_at), as job queues on PostgreSQL do. Leases
are session leases (ZooKeeper's ephemeral nodes, Chubby's sessions): a lease is live while it
is not released and its holder's heartbeat is within `lease_ttl`, so a round keeps all of a
replica's leases alive with one UPDATE of its heartbeat row, whatever their number (renewing
each lease row took ~30 s per round for 33,000 leases, longer than lease_ttl). A lease is
taken only when it is released or its holder's heartbeat is stale (`epoch + 1`, the fencing
token), and released when the membership says it belongs elsewhere. Advisory locks alone
would not do: they break under transaction poolers, and a partitioned holder keeps believing
it holds them. Staleness is judged by the database's `now()`; the replica itself stops at a
*local monotonic* deadline (`lease_ttl` after the start of its last successful heartbeat,
never later than the database's judgement), so a replica cut off from the store stops
checking and sending on its own before anyone else takes over.

Fencing: verdicts are saved only for contracts whose lease row still names this replica,
with the epoch it acquired, unreleased, with this replica's heartbeat fresh, read `FOR KEY
SHARE` in the saving transaction (so a takeover skips a save in progress, while the
replica's own round never waits for it). Alert transitions follow from saved states by
compare-and-set, and each outbox send re-checks its claim (monitor/alerts/outbox).

SQLite serves one replica (a second `fresh serve` is refused), so none of this runs there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Connection

from monitor.core.models import Contract
from monitor.serve.rendezvous import cached_share
from monitor.store import leases as lease_rows

if TYPE_CHECKING:
    from monitor.config.project import Project
    from monitor.serve.scheduler import Scheduler
    from monitor.store import StatusChange, Store

log = logging.getLogger("fresh.leases")


# --- The database part: one transaction per round ------------------------------------------


@dataclass(frozen=True)
class Round:
    """What one lease round found: the live replicas and the leases now held (epochs)."""

    live: tuple[str, ...]
    held: Mapping[str, int]
    acquired: frozenset[str]
    released: frozenset[str]


def lease_round(
    conn: Connection,
    me: str,
    contracts: Collection[str],
    held: Mapping[str, int],
    ttl: float,
) -> Round:
    """Heartbeat, then (only when something moved) release and acquire, in the caller's
    transaction.

    The heartbeat alone keeps every lease `me` holds alive, so a settled round is three
    statements whatever the number of leases. It is settled when the leases held are
    exactly this replica's share and the store still counts as many naming it: only the
    replica itself adds leases under its name, so an equal count means none was taken
    over or deleted meanwhile. (A takeover locks the stale holder's heartbeat row, so that
    holder's heartbeat waits for it to commit and the count, a later statement, sees it;
    or it finds the row being written and leaves that holder's leases alone.)"""
    live = lease_rows.heartbeat(conn, me, ttl)
    mine = cached_share(me, tuple(contracts), tuple(live))
    if held.keys() == mine and lease_rows.count_held(conn, me) == len(held):
        return Round(live, dict(held), frozenset(), frozenset())
    in_store = lease_rows.held(conn, me)
    released = lease_rows.release(conn, me, sorted(set(in_store) - mine), ttl)
    # kept: ours in this life (same epoch); one from a previous life is taken again below,
    # so its epoch moves and fences the predecessor
    now_held = {n: e for n, e in in_store.items() if n in mine and held.get(n) == e}
    wanted = sorted(mine - set(now_held))
    acquired: set[str] = set()
    if wanted:
        got = lease_rows.insert(conn, me, wanted)
        rest = [n for n in wanted if n not in got]
        if rest:
            got.update(lease_rows.take(conn, me, rest, ttl))
        now_held.update(got)
        acquired.update(got)
    return Round(live, now_held, frozenset(acquired), frozenset(released | (set(held) - mine)))


def fenced_names(
    conn: Connection, me: str, held: Mapping[str, int], names: Sequence[str], ttl: float
) -> set[str]:
    """Of `names`, those whose lease still names `me` with the epoch we hold, unreleased,
    and `me`'s heartbeat within `ttl`, by the database's clock. The rows are read `FOR KEY
    SHARE`: a takeover skips them until this transaction ends, so a verdict saved here was
    saved under a live lease."""
    ask = sorted(n for n in set(names) if n in held)
    if not ask:
        return set()
    rows = lease_rows.fenced(conn, me, ask, ttl)
    return {name for name, epoch in rows.items() if held.get(name) == epoch}


# --- The keeper: a thread that runs the rounds, and the scheduler's filter -----------------


class LeaseKeeper:
    """Holds this replica's leases: heartbeats every `ttl / 3` on its own thread.

    `claim()` (the scheduler's filter) and `may_act()` (the outbox's gate) are in-memory
    and never block; `fence` runs inside the saving transaction.
    """

    def __init__(
        self,
        store: Store,
        replica: str,
        ttl: timedelta,
        contracts: Callable[[], Iterable[str]],
        *,
        on_acquired: Callable[[set[str]], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.replica = replica
        self.ttl = max(ttl.total_seconds(), 0.3)
        self.every = self.ttl / 3
        self._contracts = contracts
        self.on_acquired = on_acquired  # contracts newly held: check them now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}
        self._valid_until = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_valid = False
        self.live: tuple[str, ...] = ()
        self.rounds = 0

    # -- in-memory answers --

    def may_act(self) -> bool:
        """True while the last successful round is less than `ttl` old (local clock)."""
        return self._monotonic() < self._valid_until

    def held(self) -> dict[str, int]:
        """The leases held now (contract → epoch); empty once the local deadline passed."""
        with self._lock:
            return dict(self._held) if self.may_act() else {}

    def claim(self, due: list[Contract], now: datetime) -> list[Contract]:
        """The scheduler's filter: of the due contracts, those this replica holds."""
        held = self.held()
        return [c for c in due if c.name in held]

    def fence(self, conn: Connection, names: Sequence[str]) -> set[str]:
        """Inside a saving transaction: the names this replica may still write."""
        held = self.held()
        return fenced_names(conn, self.replica, held, names, self.ttl) if held else set()

    def fenced_store(self) -> FencedStore:
        """The store as the scheduler should see it: saves only under a live lease."""
        return FencedStore(self.store, self)

    # -- the rounds --

    def run_round(self) -> Round | None:
        """One heartbeat (and release/acquire) round; None when the store did not answer."""
        started = self._monotonic()
        with self._lock:
            held = dict(self._held) if started < self._valid_until else {}
        try:
            names = list(self._contracts())
            with self.store.write() as conn:
                result = lease_round(conn, self.replica, names, held, self.ttl)
        except Exception as exc:
            if self._was_valid and not self.may_act():
                self._lost(str(exc))
            else:
                log.warning(
                    "lease renewal failed",
                    extra={"event": "lease_renew_failed", "error": str(exc)},
                )
            return None
        with self._lock:
            previous = set(self._held) if self.may_act() else set()
            self._held = dict(result.held)
            self._valid_until = started + self.ttl
        self.live = result.live
        self.rounds += 1
        self._warn_if_slow(self._monotonic() - started, len(result.held))
        fresh = set(result.held) - previous
        if not self._was_valid:
            log.info(
                "leases held",
                extra={
                    "event": "leases_acquired",
                    "replica": self.replica,
                    "held": len(result.held),
                    "live_replicas": len(result.live),
                },
            )
        elif result.acquired or result.released:
            log.info(
                "leases moved",
                extra={
                    "event": "leases_moved",
                    "acquired": len(result.acquired),
                    "released": len(result.released),
                    "held": len(result.held),
                    "live_replicas": len(result.live),
                },
            )
        self._was_valid = True
        if fresh and self.on_acquired is not None:
            self.on_acquired(fresh)
        return result

    def _warn_if_slow(self, took: float, held: int) -> None:
        """Say so when a round outlasts its period: its leases lapse before the next one.

        A settled round is one heartbeat, whatever the leases held; a round that moves
        leases (start, a replica joining or leaving) touches each lease that moves, and
        the state store itself may be slow."""
        if took <= self.every:
            return
        lapsed = took >= self.ttl
        (log.error if lapsed else log.warning)(
            f"a lease round took {took:.1f} s for {held} leases, "
            + (
                f"longer than lease_ttl ({self.ttl:g} s): its heartbeat lapsed, and every "
                "lease with it: this replica checks nothing; "
                if lapsed
                else f"longer than lease_ttl / 3 ({self.every:g} s); "
            )
            + "raise state.lease_ttl (a few times the round) or run more replicas",
            extra={
                "event": "lease_round_slow",
                "seconds": round(took, 2),
                "held": held,
                "lease_ttl": self.ttl,
            },
        )

    def _lost(self, error: str) -> None:
        self._was_valid = False
        with self._lock:
            self._held = {}
        log.error(
            "leases lost: the state store has not answered for lease_ttl; checking and "
            "sending stop until they are acquired again",
            extra={"event": "leases_lost", "replica": self.replica, "error": error},
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_round()
            if self._was_valid and not self.may_act():
                self._lost("renewal overdue")
            self._stop.wait(self.every)

    def start(self) -> None:
        """Run the first round now (so checking starts at once), then keep renewing."""
        self.run_round()
        self._thread = threading.Thread(target=self._loop, name="fresh-leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and hand every lease back, so the others take over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.every + 5)
        with self._lock:
            self._held = {}
            self._valid_until = float("-inf")
        try:
            with self.store.write() as conn:
                lease_rows.leave(conn, self.replica, self.ttl)
        except Exception as exc:
            log.warning(
                "could not hand leases back: they expire on their own",
                extra={"event": "lease_release_failed", "error": str(exc)},
            )


class FencedStore:
    """The scheduler's view of the store on PostgreSQL: saves only under a live lease."""

    def __init__(self, store: Store, keeper: LeaseKeeper) -> None:
        self._store = store
        self._keeper = keeper

    def save_verdicts(
        self, verdicts: Sequence[Any], contracts: Mapping[str, Contract], now: datetime
    ) -> list[StatusChange]:
        """`Store.save_verdicts`, dropping verdicts whose lease is no longer ours.

        With no live lease at all (the local deadline passed while the batch was read),
        every verdict would be dropped: the store is not even asked, so a replica cut off
        from it makes no further attempts to write."""
        if not self._keeper.held():
            return []
        return self._store.save_verdicts(verdicts, contracts, now, fence=self._keeper.fence)


# --- Wiring into `fresh serve` (monitor/serve/service.py) -------------------------------


class _Service(Protocol):
    """The parts of `monitor.serve.service.Service` the leases use."""

    store: Store
    replica: str
    project: Project
    scheduler: Scheduler
    stopping: asyncio.Event
    leases: LeaseKeeper | None


def keeper_for(service: _Service) -> LeaseKeeper:
    """The lease keeper of one `fresh serve` replica on PostgreSQL."""
    return LeaseKeeper(
        service.store,
        service.replica,
        service.project.settings.state.lease_ttl,
        lambda: [c.name for c in service.project.contracts],
    )


async def hold_leases(service: _Service) -> None:
    """The service task: renew leases until shutdown, then hand them back.

    Contracts acquired (at start, or taken over from a replica that died) are checked at
    once, whatever their plan said: that is what bounds failover to lease_ttl + a round.
    """
    keeper = service.leases
    assert keeper is not None
    loop = asyncio.get_running_loop()
    scheduler = service.scheduler

    def poke(names: set[str]) -> None:
        for name in sorted(names):
            scheduler.poke(name)

    def on_acquired(names: set[str]) -> None:  # called on the keeper's thread
        loop.call_soon_threadsafe(poke, names)

    keeper.on_acquired = on_acquired
    await loop.run_in_executor(None, keeper.start)
    try:
        await service.stopping.wait()
    finally:
        await asyncio.shield(loop.run_in_executor(None, keeper.stop))
