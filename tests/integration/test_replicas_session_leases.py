"""Session leases on a real PostgreSQL (monitor/serve/leases.py, monitor/store/leases.py): a
replica's leases live as long as its one heartbeat row. A settled round writes one row and
runs the same few statements whether the replica holds 100 leases or 4,000 (renewing every
lease row took ~30 s per round at 100,000 contracts over three replicas, longer than
lease_ttl, so every lease expired); a replica whose heartbeat is older than lease_ttl loses
its leases at the survivors' next round, and can no longer save."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.core.models import Status
from monitor.serve.leases import LeaseKeeper
from monitor.store import Store
from monitor.store import leases as lease_rows
from tests import servers
from tests.integration.alerting_helpers import contract, verdict

TTL = timedelta(seconds=15)
SMALL = [f"gen.small_{i:05d}" for i in range(300)]
LARGE = [f"gen.table_{i:05d}" for i in range(12_000)]


class Ticker:
    """A monotonic clock the test moves by hand (the keepers' local deadlines)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Counter:
    """Statements sent to the store, and rows they wrote (INSERT/UPDATE/DELETE)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = 0
        self.written = 0
        self.engine = engine
        sa.event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements += 1
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "WITH"):
            self.written += max(cursor.rowcount, 0)

    def reset(self) -> None:
        self.statements = self.written = 0

    def close(self) -> None:
        sa.event.remove(self.engine, "after_cursor_execute", self._seen)


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[Store]:
    with Store.open(servers.create_database(pg_url, "fresh_session"), tmp_path) as s:
        yield s


def keepers(store: Store, names: list[str], ticker: Ticker) -> list[LeaseKeeper]:
    ks = [
        LeaseKeeper(store, f"replica-{i}", TTL, lambda: names, monotonic=ticker) for i in range(3)
    ]
    for _ in range(2):  # the first round of each sees only those started before it
        for k in ks:
            assert k.run_round() is not None
    assert_disjoint_and_complete(ks, names)
    return ks


def assert_disjoint_and_complete(ks: list[LeaseKeeper], names: list[str]) -> None:
    """No contract held (so checked) by two replicas, none by nobody."""
    held = [set(k.held()) for k in ks]
    assert sum(len(h) for h in held) == len(names)
    assert set().union(*held) == set(names)


def live_leases(store: Store, ttl: timedelta = TTL) -> dict[str, str]:
    """Contract → holder of each live lease, by the rule: unreleased, holder's heartbeat
    within lease_ttl of the database's now()."""
    with store.read() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT l.contract, l.holder FROM leases l JOIN replicas r ON r.id = l.holder "
                "WHERE l.expires_at > now() "
                "AND r.heartbeat_at > now() - make_interval(secs => :ttl)"
            ),
            {"ttl": ttl.total_seconds()},
        )
        return {r.contract: r.holder for r in rows}


def row_versions(store: Store) -> dict[str, tuple[str, str]]:
    """Each lease row's physical version: a row UPDATEd gets a new (ctid, xmin)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.text("SELECT contract, ctid::text AS c, xmin::text AS x FROM leases")
        )
        return {r.contract: (r.c, r.x) for r in rows}


def age_heartbeat(store: Store, replica: str, seconds: float) -> None:
    """What `seconds` without a heartbeat does (a kill -9), without waiting; lease rows are
    not touched."""
    with store.write() as conn:
        conn.execute(
            sa.text(
                "UPDATE replicas SET heartbeat_at = now() - make_interval(secs => :s) WHERE id = :r"
            ),
            {"s": seconds, "r": replica},
        )


def settled_round_cost(store: Store, names: list[str]) -> tuple[int, int, float]:
    """(statements, rows written) of one settled round of one replica, at this many
    contracts, and the share of leases it holds; asserts that no lease row was written."""
    ticker = Ticker()
    ks = keepers(store, names, ticker)
    before = row_versions(store)
    counter = Counter(store.engine)
    try:
        costs = set()
        for _ in range(3):
            ticker.t += TTL.total_seconds() / 3  # a round every lease_ttl / 3
            for k in ks:
                counter.reset()
                got = k.run_round()
                assert got is not None and not got.acquired and not got.released
                costs.add((counter.statements, counter.written))
                assert k.may_act()
            assert_disjoint_and_complete(ks, names)
    finally:
        counter.close()
    assert row_versions(store) == before, "a settled round rewrote lease rows"
    assert len(live_leases(store)) == len(names)  # none expired
    assert len(costs) == 1, costs
    ((statements, written),) = costs
    return statements, written, max(len(k.held()) for k in ks) / len(names)


def test_a_settled_round_costs_the_same_whatever_the_leases_held(
    pg_url: str, tmp_path: Path
) -> None:
    got = {}
    for label, names in (("small", SMALL), ("large", LARGE)):
        with Store.open(servers.create_database(pg_url, "fresh_session"), tmp_path) as s:
            got[label] = settled_round_cost(s, names)
    print(f"\nsettled round (statements, rows written, largest share): {got}")
    assert got["small"][:2] == got["large"][:2]  # ~100 leases held or ~4,000: the same work
    statements, written, share = got["large"]
    assert written == 1  # the heartbeat row, nothing else
    assert statements <= 3  # heartbeat, live replicas, the count of leases held
    assert share < 0.5


def test_a_stale_heartbeat_hands_every_lease_over_at_the_next_round(store: Store) -> None:
    ticker = Ticker()
    names = LARGE[:3000]
    a, b, c = keepers(store, names, ticker)
    c_held = c.held()
    age_heartbeat(store, c.replica, TTL.total_seconds() - 2)  # late, but within lease_ttl
    for k in (a, b):
        k.run_round()
    assert c.held() == c_held and len(live_leases(store)) == len(names)
    assert {h for n, h in live_leases(store).items() if n in c_held} == {c.replica}

    age_heartbeat(store, c.replica, TTL.total_seconds() + 0.5)  # c died lease_ttl ago
    assert set(live_leases(store)).isdisjoint(c_held)  # its leases died with its heartbeat
    for k in (a, b):  # one round of each survivor: lease_ttl + a round at most
        got = k.run_round()
        assert got is not None
    held = {**a.held(), **b.held()}
    assert set(held) == set(names) and set(a.held()).isdisjoint(b.held())
    with store.read() as conn:
        rows = conn.execute(sa.text("SELECT contract, epoch FROM leases"))
        epochs = {r.contract: r.epoch for r in rows}
    assert all(epochs[n] == e + 1 for n, e in c_held.items())  # fencing tokens moved on

    # c comes back before its local deadline passed (it was only slow): its next round sees
    # the leases it lost and gives them up instead of checking them beside a and b
    assert c.may_act() and c.held() == c_held
    got = c.run_round()
    assert got is not None and c.held() == {}
    for k in (a, b, c, a, b, c):  # then c's share moves back to it, each held once
        k.run_round()
        assert sum(len(x.held()) for x in (a, b, c)) <= len(names)
    assert_disjoint_and_complete([a, b, c], names)
    assert set(c.held()) == set(c_held)


def test_a_replica_whose_heartbeat_lapsed_cannot_save(store: Store) -> None:
    names = SMALL[:4]
    cs = {n: contract(n) for n in names}
    ticker = Ticker()
    a = LeaseKeeper(store, "a", TTL, lambda: names, monotonic=ticker)
    a.run_round()
    now = datetime.now(UTC)
    assert (
        len(
            store.save_verdicts(
                [verdict(cs[n], Status.FRESH, now) for n in names], cs, now, fence=a.fence
            )
        )
        == 4
    )
    age_heartbeat(store, "a", TTL.total_seconds() + 1)  # nobody took over yet
    later = now + timedelta(seconds=1)
    changes = store.save_verdicts(
        [verdict(cs[n], Status.STALE, later) for n in names], cs, later, fence=a.fence
    )
    assert changes == []


def test_a_takeover_leaves_a_holder_writing_its_heartbeat_alone(store: Store) -> None:
    """A stale-looking holder whose heartbeat is being written right now is alive: its
    leases are skipped, not taken (else it would check them beside the taker until its
    next round)."""
    names = SMALL[:50]
    ticker = Ticker()
    a = LeaseKeeper(store, "a", TTL, lambda: names, monotonic=ticker)
    a.run_round()
    age_heartbeat(store, "a", TTL.total_seconds() + 1)
    b = LeaseKeeper(store, "b", TTL, lambda: names, monotonic=ticker)
    with store.write() as conn:  # a's round, in flight: heartbeat written, not committed
        lease_rows.heartbeat(conn, "a", TTL.total_seconds())
        done = threading.Event()

        def b_round() -> None:
            b.run_round()
            done.set()

        thread = threading.Thread(target=b_round)
        thread.start()
        assert done.wait(30), "a takeover waited for a heartbeat"
        thread.join(5)
        assert b.held() == {}
    assert set(live_leases(store).values()) == {"a"}
    for k in (a, b, a, b):  # then b's share moves to it as usual, each held once
        k.run_round()
        assert set(a.held()).isdisjoint(b.held())
    assert_disjoint_and_complete([a, b], names)
