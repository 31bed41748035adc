"""Alerts through apprise to real endpoints: an HTTP receiver (json:// webhooks), Slack's
real `slack://` URL captured through a local TLS-terminating proxy, and an SMTP server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.alerts.sender import AppriseSender
from monitor.config.alert_settings import Alerts, Owner
from monitor.config.settings import Server, Settings
from monitor.core.models import Severity, Status
from tests.integration.alert_receivers import HttpReceiver, SlackProxy, smtp_server
from tests.integration.alerting_helpers import Rig, contract, rig

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS",
    "ignore:Session.login_data is deprecated",
)

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#ops-data"
SERVER = Server(
    public_url="https://fresh.example.com",
    dashboard_url="https://grafana.example.com/d/fresh-contract",
)


def settings_for(*urls: str, **alerts: object) -> Settings:
    return Settings(
        owners={"ops": Owner(notify=urls)},
        server=SERVER,
        alerts=Alerts(group_wait=timedelta(seconds=30), **alerts),
    )  # type: ignore[arg-type]


CONTRACTS = [
    contract(
        "raw_shopify.orders",
        severity=Severity.CRITICAL,
        tags=("shopify", "revenue"),
        pii=False,
        runbook="https://wiki.example.com/orders",
    ),
    contract("raw_shopify.customers", tags=("shopify",)),
    contract("ops.export_job"),
]


def break_orders(r: Rig) -> None:
    r.save([("raw_shopify.orders", Status.STALE)])
    r.advance(timedelta(seconds=30))


def test_a_webhook_receives_the_exact_alert(tmp_path: Path, receiver: HttpReceiver) -> None:
    r = rig(tmp_path, settings_for(receiver.url()), CONTRACTS, AppriseSender())
    break_orders(r)
    [got] = receiver.wait_for(1)
    assert got.path == "/hook"
    payload = got.json()
    assert payload["type"] == "failure"
    assert payload["title"] == "STALE: raw_shopify.orders — data 2h old, limit 1h"
    assert payload["message"] == (
        "STALE: raw_shopify.orders — data 2h old, limit 1h\n"
        "  Last update: 2026-11-24 08:00:00 UTC (2h ago)\n"
        "  Deadline:    2026-11-24 09:00:00 UTC (1h ago)\n"
        "  Limits:      warn after 20m, stale after 1h\n"
        "  Owner:       ops\n"
        "  Severity:    critical\n"
        "  Warehouse:   main\n"
        "  Tags:        shopify, revenue\n"
        "  Runbook:     https://wiki.example.com/orders\n"
        "  pii:         false\n"
        "  Status page: https://fresh.example.com/contracts/raw_shopify.orders\n"
        "  Dashboard:   https://grafana.example.com/d/fresh-contract"
        "?var-contract=raw_shopify.orders"  # apprise trims the final newline
    )
    assert r.results == [("ops", "sent")]
    r.store.close()


def test_slack_gets_compact_mrkdwn_through_its_real_url(
    tmp_path: Path, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = SlackProxy(tmp_path, receiver)
    for k, v in proxy.env().items():
        monkeypatch.setenv(k, v)
    r = rig(tmp_path, settings_for(SLACK), CONTRACTS, AppriseSender())
    break_orders(r)
    [got] = receiver.wait_for(1)
    proxy.close()
    assert proxy.connects == ["CONNECT hooks.slack.com:443 HTTP/1.0"]
    assert got.path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    payload = got.json()
    assert payload["channel"] == "#ops-data"
    assert payload["mrkdwn"] is True
    [att] = payload["attachments"]
    assert att["title"] == "STALE: raw_shopify.orders — data 2h old, limit 1h"
    assert att["text"] == (
        "STALE: *raw_shopify.orders* — data 2h old, limit 1h\n"
        "Last update 2026-11-24 08:00:00 UTC (2h ago) · critical · owner ops"
        " · warehouse main\n"
        "Tags: shopify, revenue · <https://wiki.example.com/orders|Runbook> · pii: false\n"
        "<https://fresh.example.com/contracts/raw_shopify.orders|Status page> · "
        "<https://grafana.example.com/d/fresh-contract?var-contract=raw_shopify.orders|Dashboard>"
    )
    r.store.close()


def test_email_arrives_as_plain_text_over_real_smtp_with_login(tmp_path: Path) -> None:
    with smtp_server(password="s3cret-pass") as (port, box):
        url = (
            f"mailto://alerts:s3cret-pass@127.0.0.1:{port}"
            "?from=fresh@example.com&to=ops-data@example.com"
        )
        r = rig(tmp_path, settings_for(url), CONTRACTS, AppriseSender())
        break_orders(r)
        [mail] = box.wait_for(1)
    assert box.logins == ["alerts"]
    assert mail["Subject"] == "STALE: raw_shopify.orders — data 2h old, limit 1h"
    assert mail["To"] == "ops-data@example.com"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert body.startswith(
        "STALE: raw_shopify.orders — data 2h old, limit 1h\n"
        "  Last update: 2026-11-24 08:00:00 UTC (2h ago)\n"
    )
    assert "  Runbook:     https://wiki.example.com/orders\n" in body
    assert "s3cret-pass" not in mail.as_string()
    r.store.close()


def test_contracts_breaking_together_arrive_as_one_message_then_resolve(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    r = rig(tmp_path, settings_for(receiver.url()), CONTRACTS, AppriseSender())
    r.save([("raw_shopify.orders", Status.STALE)])
    r.advance(timedelta(seconds=12))
    r.save(
        [("raw_shopify.customers", Status.STALE), ("ops.export_job", Status.ERROR)],
        error="connection refused",
    )
    r.advance(timedelta(seconds=18))
    [group] = receiver.wait_for(1)
    g = group.json()
    assert g["title"] == "3 contracts of ops: 1 error, 2 stale"
    blocks = g["message"].split("\n\n")
    assert [b.splitlines()[0] for b in blocks[:3]] == [
        "ERROR: ops.export_job — the source could not be read",
        "STALE: raw_shopify.customers — data 2h old, limit 1h",
        "STALE: raw_shopify.orders — data 2h old, limit 1h",
    ]
    assert "  Error:       connection refused" in blocks[0]
    assert blocks[3] == (
        "Status page: https://fresh.example.com/?owner=ops\n"
        "Dashboard: https://grafana.example.com/d/fresh-contract?var-owner=ops"
    )
    r.advance(timedelta(minutes=10))
    r.save([(c.name, Status.FRESH) for c in CONTRACTS])
    r.advance(timedelta(seconds=30))
    received = receiver.wait_for(2)
    assert len(received) == 2
    resolved = received[1].json()
    assert resolved["type"] == "success"
    assert resolved["title"] == "3 contracts of ops: 3 resolved"
    assert "RESOLVED: raw_shopify.orders is fresh again — data 1m old" in resolved["message"]
    r.store.close()


def test_a_receiver_failing_n_times_gets_exactly_one_delivery_after_recovery(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    n = 4
    receiver.behaviour.fail_first = n
    r = rig(tmp_path, settings_for(receiver.url()), CONTRACTS, AppriseSender())
    break_orders(r)
    for _ in range(30):  # back-off 5 s, 10 s, 20 s, 40 s: walk the fake clock past them
        r.advance(timedelta(seconds=5))
    attempts, delivered = len(receiver.attempts), len(receiver.received)
    print(
        f"\nreceiver 500 x{n}: attempts={attempts} delivered={delivered} "
        f"counted={r.results.count(('ops', 'failed'))} failed + "
        f"{r.results.count(('ops', 'sent'))} sent"
    )
    assert (attempts, delivered) == (n + 1, 1)
    assert r.results == [("ops", "failed")] * n + [("ops", "sent")]
    assert r.alerting.waiting() == 0
    r.store.close()


def test_a_permanent_4xx_stops_retrying(tmp_path: Path, receiver: HttpReceiver) -> None:
    receiver.behaviour.fail_first, receiver.behaviour.fail_status = 100, 404
    r = rig(tmp_path, settings_for(receiver.url()), CONTRACTS, AppriseSender())
    break_orders(r)
    for _ in range(10):
        r.advance(timedelta(minutes=5))
    assert len(receiver.attempts) == 1 and r.results == [("ops", "failed")]
    assert r.alerting.waiting() == 0
    r.store.close()


def test_a_receiver_down_for_an_hour_while_100_contracts_go_stale_loses_nothing(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    owners = {f"team-{i}": Owner(notify=(receiver.url(f"/team-{i}"),)) for i in range(10)}
    s = Settings(owners=owners, alerts=Alerts(group_wait=timedelta(seconds=30)))
    cs = [contract(f"t{i}.table_{j}", f"team-{i}") for i in range(10) for j in range(10)]
    r = rig(tmp_path, s, cs, AppriseSender())
    receiver.stop()
    # they break over 10 minutes, in 5 waves of 20
    for wave in range(5):
        r.save([(c.name, Status.STALE) for c in cs[wave * 20 : (wave + 1) * 20]])
        r.advance(timedelta(minutes=2))
    waiting_while_down = r.alerting.waiting()
    for _ in range(12):  # an hour down: retries back off to the 5-minute cap
        r.advance(timedelta(minutes=5))
    failed_attempts = r.results.count(("team-0", "failed"))
    receiver.start()
    for _ in range(3):
        r.advance(timedelta(minutes=5))
    got = receiver.wait_for(waiting_while_down)
    mentioned = {
        line.split(" — ")[0].split(": ", 1)[1]
        for g in got
        for line in g.json()["message"].splitlines()
        if line.startswith("STALE: ")
    }
    print(
        f"\nreceiver down 1h: {len(cs)} contracts stale, {waiting_while_down} grouped messages "
        f"queued, {failed_attempts} failed attempts for team-0, {len(got)} delivered, "
        f"{len(cs) - len(mentioned)} contracts lost"
    )
    assert len(got) == waiting_while_down and len(mentioned) == 100
    assert r.alerting.waiting() == 0
    r.store.close()


def test_apprise_own_retries_are_off_so_the_outbox_sees_every_failure(
    receiver: HttpReceiver,
) -> None:
    from monitor.alerts.render import Message

    receiver.behaviour.fail_first = 10
    result = AppriseSender().send(receiver.url() + "?retry=3", Message("t", "b", "text", "info"))
    assert not result.ok and result.status == 500 and not result.permanent
    assert len(receiver.attempts) == 1
