"""A contract routed to an Alertmanager AND to other channels (SPEC 15): the Alertmanager
hears each transition at once, the other channels keep fresh's grouping (group_wait) and
their own view of what was announced. Real SQLite store, fake clock, in-memory sender; the
minute re-sends go to a local HTTP receiver standing in for Alertmanager's API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.alerts.sender import FakeSender, SendResult
from monitor.config.settings import Alerts, Owner, Settings
from monitor.core.models import Status
from monitor.store.schema import transitions
from tests.integration.alert_receivers import HttpReceiver
from tests.integration.alerting_helpers import Rig, contract, rig
from tests.integration.store_helpers import migrate_up_to

WAIT = timedelta(seconds=30)


@pytest.fixture
def api() -> Iterator[HttpReceiver]:
    rx = HttpReceiver()
    yield rx
    rx.stop()


@pytest.fixture
def r(tmp_path: Path, api: HttpReceiver) -> Iterator[Rig]:
    am = f"alertmanager://127.0.0.1:{api.port}"
    settings = Settings(
        owners={"ops": Owner(notify=(am, "json://ops/hook")), "sre": Owner(notify=(am,))},
        alerts=Alerts(group_wait=WAIT, repeat_every=timedelta(hours=4)),
    )
    x = rig(tmp_path, settings, [contract("a"), contract("b"), contract("c", "sre")], FakeSender())
    yield x
    x.store.close()


def sent(r: Rig) -> list[tuple[str, Any]]:
    """(where, what): Alertmanager's alerts as (alertname, contract, ends), a webhook's title."""
    out: list[tuple[str, Any]] = []
    for url, m in r.alerting.sender.sent:  # type: ignore[attr-defined]
        if url.startswith("alertmanager://"):
            for a in json.loads(m.body):
                state = "ended" if "endsAt" in a else "firing"
                out.append(("am", (a["labels"]["alertname"], a["labels"]["contract"], state)))
        else:
            out.append((url, m.title))
    return out


def outcomes(r: Rig, name: str) -> list[tuple[str, str | None, str | None]]:
    t = transitions.c
    with r.store.read() as conn:
        rows = conn.execute(
            sa.select(t.kind, t.am_outcome, t.outcome).where(t.contract == name).order_by(t.seq)
        )
        return [(k, a, o) for k, a, o in rows]


def test_alertmanager_hears_at_once_and_the_webhook_its_group_after_group_wait(r: Rig) -> None:
    r.save([("a", Status.STALE)])
    r.advance(timedelta(0))
    assert sent(r) == [("am", ("FreshContractStale", "a", "firing"))]
    r.advance(timedelta(seconds=10))
    r.save([("b", Status.ERROR)])
    r.advance(timedelta(0))
    assert sent(r)[1:] == [("am", ("FreshContractError", "b", "firing"))]
    assert r.advance(timedelta(seconds=19)) == {"sent": 0, "retry": 0, "failed": 0}
    r.advance(timedelta(seconds=1))  # a's group is 30 s old: both in one message
    assert sent(r)[2:] == [("json://ops/hook", "2 contracts of ops: 1 error, 1 stale")]
    assert outcomes(r, "a") == [("fired", "sent", "sent")]


def test_a_resolve_reaches_alertmanager_at_once_and_the_webhook_after_group_wait(r: Rig) -> None:
    r.save([("a", Status.STALE)])
    r.advance(WAIT)
    assert [w for w, _ in sent(r)] == ["am", "json://ops/hook"]
    r.advance(timedelta(minutes=5))
    r.save([("a", Status.FRESH)])
    r.advance(timedelta(0))
    assert sent(r)[2:] == [("am", ("FreshContractStale", "a", "ended"))]
    r.advance(WAIT)
    assert sent(r)[3:] == [("json://ops/hook", "RESOLVED: a is fresh again — data 1m old")]


def test_flapping_within_group_wait_reaches_alertmanager_alone(r: Rig) -> None:
    """Alertmanager heard it fire, so it hears it resolve; the webhook never heard of it."""
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=5))
    r.save([("a", Status.FRESH)])
    r.advance(timedelta(0))
    assert sent(r) == [
        ("am", ("FreshContractStale", "a", "firing")),
        ("am", ("FreshContractStale", "a", "ended")),
    ]
    r.advance(WAIT)
    assert len(sent(r)) == 2  # nothing for the webhook
    assert outcomes(r, "a") == [("fired", "sent", "superseded"), ("resolved", "sent", "suppressed")]


def test_a_status_change_reaches_alertmanager_before_the_webhook(r: Rig) -> None:
    r.save([("a", Status.STALE)])
    r.advance(WAIT)
    r.advance(timedelta(minutes=5))
    r.save([("a", Status.ERROR)])
    r.advance(timedelta(0))
    assert sent(r)[2:] == [
        ("am", ("FreshContractStale", "a", "ended")),
        ("am", ("FreshContractError", "a", "firing")),
    ]
    r.advance(WAIT)
    assert [w for w, _ in sent(r)[4:]] == ["json://ops/hook"]


def test_the_open_alert_is_re_sent_to_alertmanager_while_the_webhook_still_waits(
    r: Rig, api: HttpReceiver
) -> None:
    r.save([("a", Status.STALE)])
    r.advance(timedelta(0))  # delivered to the Alertmanager; the webhook's part waits
    assert outcomes(r, "a") == [("fired", "sent", None)]
    assert r.alerting.refresh_alertmanagers(r.clock.now()) == {"sent": 1, "failed": 0}
    posted = json.loads(api.received[-1].body)
    assert [(p["labels"]["contract"], p["labels"]["alertname"]) for p in posted] == [
        ("a", "FreshContractStale")
    ]


def test_a_contract_bound_for_alertmanagers_alone_is_decided_once_for_both(r: Rig) -> None:
    r.save([("c", Status.STALE)])
    r.advance(timedelta(0))
    assert sent(r) == [("am", ("FreshContractStale", "c", "firing"))]
    assert outcomes(r, "c") == [("fired", "sent", "sent")]
    r.advance(WAIT)
    assert len(sent(r)) == 1


def test_a_failed_alertmanager_send_is_retried_while_the_webhook_keeps_its_group(
    r: Rig,
) -> None:
    """At-least-once per destination: each lane's outbox row retries on its own."""
    down = {"on": True}

    def fail(url: str, _msg: object) -> SendResult | None:
        return SendResult(False, "connection refused") if down["on"] and "alert" in url else None

    r.alerting.sender.fail = fail  # type: ignore[attr-defined]
    r.save([("a", Status.STALE)])
    assert r.advance(timedelta(0)) == {"sent": 0, "retry": 1, "failed": 0}
    down["on"] = False
    r.advance(timedelta(seconds=5))  # the first back-off
    assert sent(r) == [("am", ("FreshContractStale", "a", "firing"))]
    r.advance(WAIT)
    assert [w for w, _ in sent(r)] == ["am", "json://ops/hook"]


def test_migration_8_counts_decided_transitions_decided_for_alertmanager_too(
    tmp_path: Path,
) -> None:
    """Before it one decision covered every destination: a decided transition's
    Alertmanager part was decided alike; an undecided one waits for both lanes."""
    from monitor.store import Store

    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate_up_to(conn, 7)
        conn.execute(
            sa.text(
                "INSERT INTO transitions (contract, seq, to_status, at, kind, outcome) "
                "VALUES ('a', 1, 'stale', '2026-11-24 10:00:00', 'fired', 'sent'), "
                "('a', 2, 'fresh', '2026-11-24 10:05:00', 'resolved', NULL)"
            )
        )
    engine.dispose()
    with Store.open(url, tmp_path) as store, store.read() as conn:
        t = transitions.c
        got = conn.execute(sa.select(t.seq, t.am_outcome, t.outcome).order_by(t.seq)).all()
    assert [tuple(g) for g in got] == [(1, "sent", "sent"), (2, None, None)]


def test_a_silence_begun_after_the_alert_reached_alertmanager_does_not_end_it_there(
    r: Rig, api: HttpReceiver
) -> None:
    """SPEC 15: fresh's silences hold new alerts only (silence an open one in Alertmanager).
    A repeat held by a silence mutes the alert for fresh's own channels; Alertmanager keeps
    getting the alert it was told of, so it never reports it resolved while still stale."""
    from monitor.alerts import silences

    r.save([("c", Status.STALE)])
    r.advance(timedelta(0))  # fired, delivered to the Alertmanager
    now = r.clock.now()
    silences.add(r.store, (("contract", "c"),), starts_at=now, ends_at=now + timedelta(days=1))
    r.advance(timedelta(hours=4, minutes=1))  # a repeat falls due: held by the silence
    assert outcomes(r, "c")[-1] == ("repeated", "silenced", "silenced")
    assert r.alerting.refresh_alertmanagers(r.clock.now()) == {"sent": 1, "failed": 0}
    posted = json.loads(api.received[-1].body)
    assert [(p["labels"]["contract"], p["labels"]["alertname"]) for p in posted] == [
        ("c", "FreshContractStale")
    ]
    # a change held by the silence is a new alert: Alertmanager keeps the one it knows
    r.save([("c", Status.ERROR)])
    r.advance(timedelta(0))
    assert r.alerting.refresh_alertmanagers(r.clock.now()) == {"sent": 1, "failed": 0}
    posted = json.loads(api.received[-1].body)
    assert [p["labels"]["alertname"] for p in posted] == ["FreshContractStale"]
    # the resolve of the announced alert goes through the silence and ends the re-sends
    # (it names the newest status; the Stale alert, no longer re-sent, ends in 4 minutes)
    r.save([("c", Status.FRESH)])
    r.advance(timedelta(0))
    assert sent(r)[-1][1][1:] == ("c", "ended")
    assert r.alerting.refresh_alertmanagers(r.clock.now()) == {"sent": 0, "failed": 0}
