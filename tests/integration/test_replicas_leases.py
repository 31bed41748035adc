"""Leases on a real PostgreSQL (monitor/serve/leases.py): spread, renewal, takeover with a new
epoch, fencing of verdicts and sends. The whole service is in test_replicas_serve.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.alerts import outbox
from monitor.core.errors import StoreError
from monitor.core.models import Status
from monitor.serve.leases import FencedStore, LeaseKeeper
from monitor.store import Store
from monitor.store.schema import contract_state, leases
from tests import servers
from tests.integration.alerting_helpers import contract, verdict

NAMES = [f"sales.table_{i}" for i in range(300)]
TTL = timedelta(seconds=15)


class Ticker:
    """A monotonic clock the test moves by hand (the keeper's local deadline)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[Store]:
    with Store.open(servers.create_database(pg_url, "fresh_leases"), tmp_path) as s:
        yield s


def keeper(
    store: Store, name: str, ticker: Ticker | None = None, names: list[str] = NAMES
) -> LeaseKeeper:
    return LeaseKeeper(store, name, TTL, lambda: names, monotonic=ticker or Ticker())


def expire(store: Store, holder: str) -> None:
    """What lease_ttl without renewal does, without waiting for it."""
    with store.write() as conn:
        conn.execute(
            sa.text("UPDATE leases SET expires_at = now() - interval '1 second' WHERE holder = :h"),
            {"h": holder},
        )
        conn.execute(
            sa.text("UPDATE replicas SET heartbeat_at = now() - interval '1 hour' WHERE id = :h"),
            {"h": holder},
        )


def holders(store: Store) -> dict[str, tuple[str, int]]:
    with store.read() as conn:
        return {r.contract: (r.holder, r.epoch) for r in conn.execute(sa.select(leases))}


def test_three_replicas_split_the_contracts_without_overlap(store: Store) -> None:
    ks = [keeper(store, f"replica-{i}") for i in range(3)]
    for _ in range(2):  # the first round of each sees only those started before it
        for k in ks:
            k.run_round()
    held = [set(k.held()) for k in ks]
    assert sum(len(h) for h in held) == len(NAMES)
    assert set().union(*held) == set(NAMES)
    assert max(len(h) for h in held) < 0.5 * len(NAMES)
    assert all(len(k.live) == 3 for k in ks)
    assert {h for h, _ in holders(store).values()} == {k.replica for k in ks}


def test_a_dead_replicas_leases_are_taken_over_with_a_new_epoch(store: Store) -> None:
    a, b, c = (keeper(store, n) for n in ("a", "b", "c"))
    for _ in range(2):
        for k in (a, b, c):
            k.run_round()
    c_held = c.held()
    expire(store, "c")  # c stopped renewing lease_ttl ago
    a.run_round()
    b.run_round()
    after = holders(store)
    assert set(a.held()) | set(b.held()) == set(NAMES)
    for name, epoch in c_held.items():
        holder, new_epoch = after[name]
        assert holder in ("a", "b")
        assert new_epoch == epoch + 1


def test_a_live_lease_is_never_taken_even_by_its_rightful_holder(store: Store) -> None:
    a = keeper(store, "a")
    a.run_round()
    assert set(a.held()) == set(NAMES)  # alone: everything
    b = keeper(store, "b")
    b.run_round()
    assert b.held() == {}  # a's leases are live: b waits for a to hand them back
    a.run_round()  # a sees b and releases b's share
    b.run_round()
    assert set(a.held()).isdisjoint(b.held())
    assert set(a.held()) | set(b.held()) == set(NAMES)


def test_a_replica_stops_checking_once_its_local_deadline_passes(store: Store) -> None:
    ticker = Ticker()
    a = keeper(store, "a", ticker)
    a.run_round()
    due = [contract(n) for n in NAMES[:10]]
    assert a.claim(due, datetime.now(UTC)) == due
    assert a.may_act()
    ticker.t += TTL.total_seconds()  # no renewal for lease_ttl (store unreachable)
    assert not a.may_act()
    assert a.claim(due, datetime.now(UTC)) == []
    a.run_round()  # the store answers again: same leases, checking resumes
    assert a.claim(due, datetime.now(UTC)) == due


def test_verdicts_of_a_lease_taken_over_are_not_saved(store: Store) -> None:
    names = NAMES[:4]
    cs = {n: contract(n) for n in names}
    a = keeper(store, "a", names=names)
    a.run_round()
    now = datetime.now(UTC)
    saved = store.save_verdicts(
        [verdict(cs[n], Status.FRESH, now) for n in names], cs, now, fence=a.fence
    )
    assert len(saved) == 4
    expire(store, "a")  # a was partitioned; b took over
    b = keeper(store, "b", names=names)
    b.run_round()
    assert set(b.held()) == set(names)
    later = now + timedelta(seconds=1)
    # a, still believing in its leases (its local deadline not yet passed), writes late
    changes = store.save_verdicts(
        [verdict(cs[n], Status.STALE, later) for n in names], cs, later, fence=a.fence
    )
    assert changes == []
    with store.read() as conn:
        statuses = set(conn.execute(sa.select(contract_state.c.status)).scalars())
    assert statuses == {"fresh"}
    changes = store.save_verdicts(
        [verdict(cs[n], Status.STALE, later) for n in names], cs, later, fence=b.fence
    )
    assert len(changes) == 4


def test_a_replica_without_live_leases_claims_and_sends_nothing(store: Store) -> None:
    from monitor.alerts.render import Message
    from monitor.alerts.sender import FakeSender
    from monitor.store.schema import outbox as outbox_table

    now = datetime.now(UTC)
    with store.write() as conn:
        conn.execute(
            outbox_table.insert().values(
                transition_ids=[1],
                group_key="ops",
                owner="ops",
                url_id="u1",
                payload={
                    "title": "t",
                    "body": "b",
                    "body_format": "text",
                    "notify_type": "failure",
                },
                created_at=now,
                next_attempt_at=now,
            )
        )
    sender = FakeSender()
    got = outbox.deliver(
        store, sender, {"u1": "json://x"}, "a", lambda: now, may_send=lambda: False
    )
    assert got == {"sent": 0, "retry": 0, "failed": 0} and sender.sent == []
    # a claim that lapsed before the send (expired, or taken by another replica) is not sent
    claimed = outbox.claim(store, "a", now)
    assert len(claimed) == 1
    assert outbox.still_claimed(store, claimed[0], "a", now)
    assert not outbox.still_claimed(store, claimed[0], "b", now)
    assert not outbox.still_claimed(store, claimed[0], "a", now + outbox.CLAIM_TTL)
    assert isinstance(claimed[0].message, Message)


def test_a_stopped_replica_hands_its_leases_back_at_once(store: Store) -> None:
    a, b = keeper(store, "a"), keeper(store, "b")
    for _ in range(2):
        a.run_round()
        b.run_round()
    a.stop()
    b.run_round()
    assert set(b.held()) == set(NAMES)


def test_a_slow_save_never_holds_up_its_own_renewal_but_keeps_a_takeover_off(
    store: Store,
) -> None:
    """A save holds its lease rows locked for as long as it runs (hundreds of UPDATEs on a
    loaded machine). The replica's own renewal must not wait for it: it did (FOR SHARE
    against the renewal's FOR UPDATE), so a healthy replica missed its local deadline and
    dropped every lease ("renewal overdue" in test_replicas_serve under load). A takeover
    must still keep off the rows until the save commits."""
    names = NAMES[:4]
    a = keeper(store, "a", names=names)
    a.run_round()
    renewed = threading.Event()

    def renew() -> None:
        if a.run_round() is not None:
            renewed.set()

    thread = threading.Thread(target=renew)
    try:
        with store.write() as conn:  # a's save, fenced, still writing
            assert a.fence(conn, names) == set(names)
            thread.start()
            assert renewed.wait(20), "the renewal waited for the replica's own save"
            expire(store, "a")  # then a is cut off and its leases lapse, mid-save
            b = keeper(store, "b", names=names)
            b.run_round()
            assert b.held() == {}  # rows under a save in progress are skipped, not taken
        b.run_round()  # the save has committed: now b takes over, with a new epoch
        assert set(b.held()) == set(names)
        assert all(epoch == 2 for _, epoch in holders(store).values())
    finally:
        thread.join(30)


def test_a_replica_past_its_local_deadline_does_not_even_try_to_save(store: Store) -> None:
    """A batch read while the leases lapse (the store cut off) ends with a save: with no
    live lease every verdict would be fenced out, so the store is not asked at all."""
    names = NAMES[:2]
    cs = {n: contract(n) for n in names}
    ticker = Ticker()
    a = keeper(store, "a", ticker, names=names)
    a.run_round()
    asked: list[int] = []

    class CutOff:  # the store, seen from a replica that can no longer reach it
        def save_verdicts(self, verdicts: object, *args: object, **kw: object) -> list[object]:
            asked.append(1)
            raise StoreError("state store: connection refused")

    fenced = FencedStore(CutOff(), a)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    verdicts = [verdict(cs[n], Status.FRESH, now) for n in names]
    with pytest.raises(StoreError):  # leases still valid: it tries, and the store fails
        fenced.save_verdicts(verdicts, cs, now)
    ticker.t += TTL.total_seconds()  # lease_ttl without a renewal
    assert fenced.save_verdicts(verdicts, cs, now) == []
    assert asked == [1]


def test_a_lease_round_longer_than_its_period_is_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    class Slow(Ticker):
        """Each reading is 10 s after the previous: a round takes ~20 s."""

        def __call__(self) -> float:
            self.t += 10
            return self.t

    caplog.set_level("WARNING", logger="fresh.leases")
    keeper(store, "fast").run_round()
    assert not [r for r in caplog.records if getattr(r, "event", "") == "lease_round_slow"]
    keeper(store, "slow", Slow()).run_round()
    slow = [r for r in caplog.records if getattr(r, "event", "") == "lease_round_slow"]
    assert len(slow) == 1 and slow[0].levelname == "ERROR"
    assert "longer than lease_ttl (15 s)" in slow[0].getMessage()
    assert "raise state.lease_ttl" in slow[0].getMessage()
