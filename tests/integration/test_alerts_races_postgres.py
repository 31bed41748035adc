"""Replicas recording the same contracts' alerts at the same moment, on a real PostgreSQL
(found by bench/soak.py: at start every replica reconciles every contract, and the
after-save hooks and reconcile rounds of three replicas overlap all the time). A lost race
must mean "read again and decide again", never a failed round."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.alerts import record
from monitor.alerts.lifecycle import AlertState
from monitor.alerts.sender import FakeSender
from monitor.config.alert_settings import Alerts, Owner
from monitor.config.settings import Settings
from monitor.core.models import Status
from monitor.store import alert_state as alert_rows
from monitor.store.schema import alert_state, transitions
from tests import servers
from tests.integration.alerting_helpers import T0, contract, rig, verdict

SETTINGS = Settings(
    owners={"ops": Owner(notify=("json://rx/ops",))},
    alerts=Alerts(group_wait=timedelta(seconds=0)),
)


def _in_thread(fn: object) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def test_two_replicas_seeing_a_new_contract_at_once_both_succeed(
    tmp_path: Path, pg_url: str
) -> None:
    c = contract("shop.orders")
    r = rig(tmp_path, SETTINGS, [c], FakeSender(), store_url=servers.create_database(pg_url))
    stale = record.Observation(c, verdict(c, Status.STALE, T0))
    # replica A writes its first sight of the contract (fresh) and has not committed yet;
    # replica B observes it stale meanwhile: its insert waits for A's, then finds the row
    with r.store.write() as conn_a:
        first = AlertState(c.name, status=Status.FRESH, version=1)
        assert alert_rows.write(conn_a, None, first)
        t, errors = _in_thread(lambda: record.advance(r.store, SETTINGS, [stale], T0))
        time.sleep(1.5)  # B is inside its INSERT, waiting for A's row
    t.join(30)
    assert errors == []
    with r.store.read() as conn:
        kinds = conn.execute(sa.select(transitions.c.kind, transitions.c.to_status)).all()
        state = conn.execute(sa.select(alert_state.c.status, alert_state.c.open)).one()
    assert [tuple(k) for k in kinds] == [("fired", "stale")]
    assert tuple(state) == ("stale", True)
    r.store.close()


def test_replicas_advancing_the_same_contracts_in_different_orders_do_not_deadlock(
    tmp_path: Path, pg_url: str
) -> None:
    a, b = contract("a.one"), contract("b.two")
    r = rig(tmp_path, SETTINGS, [a, b], FakeSender(), store_url=servers.create_database(pg_url))
    record.advance(
        r.store, SETTINGS, [record.Observation(x, verdict(x, Status.FRESH, T0)) for x in (a, b)], T0
    )
    later = T0 + timedelta(minutes=5)
    # replica B's hook saw them in the order of its save: b first, then a
    observed = [record.Observation(x, verdict(x, Status.STALE, later)) for x in (b, a)]
    bump = alert_state.update().values(version=alert_state.c.version + 1)
    errors_a: list[BaseException] = []
    # replica A steps a, then b (name order), in one transaction
    with r.store.write() as conn_a:
        conn_a.execute(bump.where(alert_state.c.contract == a.name))
        t, errors_b = _in_thread(lambda: record.advance(r.store, SETTINGS, observed, later))
        time.sleep(1.5)  # B has taken what it could and waits for a's row
        try:
            conn_a.execute(bump.where(alert_state.c.contract == b.name))
        except sa.exc.DBAPIError as exc:  # PostgreSQL chose A as the deadlock victim
            errors_a.append(exc)
            raise
    t.join(30)
    assert errors_a == [] and errors_b == []
    with r.store.read() as conn:
        fired = conn.execute(
            sa.select(transitions.c.contract).where(transitions.c.kind == "fired")
        ).scalars()
        assert sorted(fired) == [a.name, b.name]
    r.store.close()
