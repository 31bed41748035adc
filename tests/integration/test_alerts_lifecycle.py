"""The alert pipeline over a real SQLite store, with the in-memory sender."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.alerts.sender import FakeSender, SendResult
from monitor.config.alert_settings import Alerts, Owner, Route
from monitor.config.settings import Settings
from monitor.core.models import Severity, Status
from tests.integration.alerting_helpers import Rig, contract, rig

SETTINGS = Settings(
    owners={"ops": Owner(notify=("json://ops/hook",)), "fin": Owner(notify=("json://fin/hook",))},
    alerts=Alerts(
        group_wait=timedelta(seconds=30),
        repeat_every=timedelta(hours=4),
        routes=(Route(match={"severity": "critical"}, notify=("json://pager/p",)),),
    ),
)


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Rig]:
    cs = [
        contract("a"),
        contract("b"),
        contract("c", "fin"),
        contract("d", severity=Severity.CRITICAL),
    ]
    x = rig(tmp_path, SETTINGS, cs, FakeSender())
    yield x
    x.store.close()


def sent(r: Rig) -> list[tuple[str, str]]:
    return [(url, m.title) for url, m in r.alerting.sender.sent]  # type: ignore[attr-defined]


def test_contracts_that_break_together_arrive_in_one_message_after_group_wait(r: Rig) -> None:
    r.save([("a", Status.FRESH), ("b", Status.FRESH), ("c", Status.FRESH)])
    r.advance(timedelta(minutes=1))
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=10))
    r.save([("b", Status.ERROR), ("c", Status.STALE)])
    assert r.advance(timedelta(seconds=19)) == {"sent": 0, "retry": 0, "failed": 0}
    r.advance(timedelta(seconds=1))  # a's group is 30 s old
    assert sent(r) == [("json://ops/hook", "2 contracts of ops: 1 error, 1 stale")]
    r.advance(timedelta(seconds=10))
    assert sent(r)[1:] == [("json://fin/hook", "STALE: c — data 2h old, limit 1h")]
    assert r.results == [("ops", "sent"), ("fin", "sent")]


def test_a_critical_contract_also_pages_its_route(r: Rig) -> None:
    r.save([("d", Status.STALE)])
    r.advance(timedelta(seconds=30))
    assert [u for u, _ in sent(r)] == ["json://ops/hook", "json://pager/p"]


def test_it_repeats_on_schedule_and_resolves_once(r: Rig) -> None:
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=30))
    r.advance(timedelta(hours=3))
    assert len(sent(r)) == 1
    r.advance(timedelta(hours=1))  # 4h after the transition: the repeat is recorded
    r.advance(timedelta(seconds=30))
    assert sent(r)[1][1].startswith("still STALE: a")
    r.save([("a", Status.FRESH)])
    r.advance(timedelta(seconds=30))
    r.advance(timedelta(hours=5))
    titles = [t for _, t in sent(r)]
    assert titles[2] == "RESOLVED: a is fresh again — data 1m old"
    assert len(titles) == 3


def test_flapping_within_group_wait_sends_nothing(r: Rig) -> None:
    r.save([("a", Status.FRESH)])
    r.advance(timedelta(seconds=1))
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=10))
    r.save([("a", Status.FRESH)])
    r.advance(timedelta(minutes=5))
    assert sent(r) == []


def test_a_restart_forgets_no_open_alert_and_repeats_nothing(r: Rig, tmp_path: Path) -> None:
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=30))
    r.alerting.run_once()
    # a new process over the same store: nothing is sent again, the repeat comes on time
    again = rig(tmp_path, SETTINGS, r.contracts, r.alerting.sender, worker="test-1")
    again.clock.set(r.clock.now())
    again.alerting.run_once()
    again.advance(timedelta(hours=3, minutes=59))
    assert len(sent(r)) == 1
    again.advance(timedelta(seconds=30))
    again.advance(timedelta(seconds=30))
    assert len(sent(r)) == 2 and sent(r)[1][1].startswith("still STALE")
    again.store.close()


def test_a_failing_channel_is_retried_with_backoff_until_it_accepts(r: Rig) -> None:
    failures = {"left": 3}

    def fail(url: str, msg: object) -> SendResult | None:
        if failures["left"]:
            failures["left"] -= 1
            return SendResult(False, "HTTP 500", status=500)
        return None

    r.alerting.sender.fail = fail  # type: ignore[attr-defined]
    r.save([("a", Status.STALE)])
    counts = [r.advance(timedelta(seconds=30))]
    for _ in range(20):
        counts.append(r.advance(timedelta(seconds=5)))
    assert len(sent(r)) == 1
    assert sum(c["retry"] for c in counts) == 3 and sum(c["sent"] for c in counts) == 1
    assert r.alerting.waiting() == 0


def test_a_permanent_4xx_stops_retrying_and_is_counted(r: Rig) -> None:
    r.alerting.sender.fail = lambda url, msg: SendResult(False, "gone", status=404)  # type: ignore[attr-defined]
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=30))
    for _ in range(10):
        r.advance(timedelta(minutes=5))
    assert len(r.alerting.sender.attempts) == 1  # type: ignore[attr-defined]
    assert r.results == [("ops", "failed")]
    assert r.alerting.waiting() == 0


def test_a_removed_contract_closes_its_alert_silently(r: Rig) -> None:
    r.save([("a", Status.STALE)])
    r.advance(timedelta(seconds=30))
    r.alerting.set_project(SETTINGS, [c for c in r.contracts if c.name != "a"])
    r.advance(timedelta(seconds=1))
    r.advance(timedelta(hours=5))
    assert len(sent(r)) == 1


def test_a_claim_whose_sender_died_is_retried_after_it_expires(r: Rig) -> None:
    from monitor.alerts import outbox

    r.save([("a", Status.STALE)])
    r.clock.advance(timedelta(seconds=30))
    r.alerting.evaluate(r.clock.now())
    r.alerting.flush(r.clock.now())
    dead = outbox.claim(r.store, "dead-worker", r.clock.now())
    assert len(dead) == 1  # ...and that worker never sends
    r.advance(timedelta(seconds=59))
    assert sent(r) == []
    r.advance(timedelta(seconds=1))
    assert len(sent(r)) == 1


def test_a_silenced_alert_is_recorded_not_sent_and_speaks_once_when_the_silence_ends(
    r: Rig,
) -> None:
    import sqlalchemy as sa

    from monitor.alerts import silences
    from monitor.store.schema import transitions

    now = r.clock.now()
    s = silences.add(
        r.store,
        (("contract", "a*"),),
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        reason="maintenance",
    )
    r.save([("a", Status.STALE), ("b", Status.STALE)])
    r.advance(timedelta(seconds=30))
    assert [t for _, t in sent(r)] == ["STALE: b — data 2h old, limit 1h"]
    with r.store.read() as conn:
        rows = conn.execute(sa.select(transitions.c.contract, transitions.c.outcome)).all()
    assert ("a", "silenced") in [tuple(x) for x in rows]
    r.advance(timedelta(hours=1))
    assert len(sent(r)) == 1
    assert [x.id for x in silences.active(r.store, r.clock.now())] == [s.id]
    r.advance(timedelta(hours=1))  # the silence ends while a is still stale
    r.advance(timedelta(seconds=30))
    assert [t for _, t in sent(r)][1].startswith("still STALE: a")
    r.advance(timedelta(minutes=30))
    assert len(sent(r)) == 2


def test_removing_a_silence_ends_it_at_once(r: Rig) -> None:
    from monitor.alerts import silences

    now = r.clock.now()
    s = silences.add(r.store, (("owner", "ops"),), starts_at=now, ends_at=now + timedelta(days=1))
    assert silences.remove(r.store, s.id, now)
    assert not silences.remove(r.store, s.id, now)
    assert silences.active(r.store, now) == []


def test_a_failed_heartbeat_alert_carries_its_exit_code_and_output_tail(tmp_path: Path) -> None:
    job = contract("nightly.export", heartbeat=True)
    x = rig(tmp_path, SETTINGS, [job], FakeSender())
    x.store.record_ping(
        job.name,
        "fail",
        x.clock.now(),
        exit_code=3,
        output="starting\n" + "".join(f"row {i}\n" for i in range(40)) + "KeyError: 'sku'\n",
    )
    x.save(
        [(job.name, Status.ERROR)],
        error="the job reported a failure",
        detail="last ping was /fail, exit code 3",
    )
    x.advance(timedelta(seconds=30))
    [(_, msg)] = x.alerting.sender.sent  # type: ignore[attr-defined]
    assert "last ping was /fail, exit code 3" in msg.body
    assert msg.body.rstrip().endswith("KeyError: 'sku'")
    assert "row 39" in msg.body and "starting" not in msg.body  # only the tail
    x.store.close()
