"""The outbox and lifecycle on a real PostgreSQL with several workers (SPEC 9): every
transition recorded once, every message claimed (`FOR UPDATE SKIP LOCKED`) and sent once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.alerts import outbox
from monitor.alerts.sender import FakeSender
from monitor.config.alert_settings import Alerts, Owner
from monitor.config.settings import Settings
from monitor.core.models import Status
from monitor.store.schema import transitions
from tests import servers
from tests.integration.alerting_helpers import contract, rig

SETTINGS = Settings(
    owners={f"team-{i}": Owner(notify=(f"json://rx/team-{i}",)) for i in range(20)},
    alerts=Alerts(group_wait=timedelta(seconds=0)),
)
# each owner also has an Alertmanager: its lane (at once) and the grouped one, both raced
MIXED = Settings(
    owners={
        f"team-{i}": Owner(notify=(f"alertmanager://am/team-{i}", f"json://rx/team-{i}"))
        for i in range(20)
    },
    alerts=Alerts(group_wait=timedelta(seconds=0)),
)
CONTRACTS = [contract(f"t{i}.c{j}", f"team-{i}") for i in range(20) for j in range(5)]


@pytest.mark.parametrize("mixed", [False, True], ids=["webhooks", "alertmanager-and-webhooks"])
def test_two_workers_on_postgres_record_and_send_each_alert_once(
    tmp_path: Path, pg_url: str, mixed: bool
) -> None:
    url = servers.create_database(pg_url, "fresh_alerts")
    sender = FakeSender()
    settings = MIXED if mixed else SETTINGS
    a = rig(tmp_path, settings, CONTRACTS, sender, store_url=url, worker="replica-a")
    b = rig(tmp_path, settings, CONTRACTS, sender, store_url=url, worker="replica-b")
    b.clock = a.clock
    b.alerting.clock = a.clock
    a.save([(c.name, Status.STALE) for c in CONTRACTS])  # saved once, by one replica
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(r: object) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                r.alerting.run_once()  # type: ignore[attr-defined]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with a.store.read() as conn:
        kinds = conn.execute(
            sa.select(
                transitions.c.contract,
                transitions.c.kind,
                transitions.c.outcome,
                transitions.c.am_outcome,
            )
        ).all()
    by_url = sorted(u for u, _ in sender.sent)
    print(
        f"\ntwo workers on PostgreSQL: {len(kinds)} transitions recorded for "
        f"{len(CONTRACTS)} contracts, {len(sender.sent)} messages sent for 20 owners "
        f"(attempts {len(sender.attempts)})"
    )
    assert len(kinds) == len(CONTRACTS) and {k.outcome for k in kinds} == {"sent"}
    expected = [f"json://rx/team-{i}" for i in range(20)]
    if mixed:
        assert {k.am_outcome for k in kinds} == {"sent"}
        expected += [f"alertmanager://am/team-{i}" for i in range(20)]
    assert by_url == sorted(expected)
    assert outbox.waiting(a.store) == 0
    a.store.close()
    b.store.close()


def test_a_claim_on_postgres_is_exclusive_until_it_expires(tmp_path: Path, pg_url: str) -> None:
    url = servers.create_database(pg_url, "fresh_alerts")
    r = rig(tmp_path, SETTINGS, CONTRACTS[:1], FakeSender(), store_url=url)
    r.save([(CONTRACTS[0].name, Status.STALE)])
    r.alerting.evaluate(r.clock.now())
    r.alerting.flush(r.clock.now())
    now = r.clock.now()
    assert len(outbox.claim(r.store, "x", now)) == 1
    assert outbox.claim(r.store, "y", now + timedelta(seconds=59)) == []
    assert len(outbox.claim(r.store, "y", now + timedelta(seconds=60))) == 1
    r.store.close()
