"""`alertmanager://` destinations against a REAL Alertmanager (Debian's
prometheus-alertmanager, API v2), fed by a real `fresh serve`, routing by `owner` to two
local webhook receivers (SPEC 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.store import Store
from monitor.store.schema import outbox
from tests import servers
from tests.integration.alert_receivers import HttpReceiver
from tests.integration.cli_project import clean_env, fresh
from tests.integration.serving import (
    SQLITE_SERVE_YML,
    put_table,
    start,
    wait_for,
    write_project,
)

AM_CONFIG = """\
global:
  resolve_timeout: 10s
route:
  receiver: nobody
  group_by: [alertname, contract]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['owner="ops"']
      receiver: ops
    - matchers: ['owner="fin"']
      receiver: fin
receivers:
  - name: nobody
  - name: ops
    webhook_configs: [{{url: "http://127.0.0.1:{port}/ops", send_resolved: true}}]
  - name: fin
    webhook_configs: [{{url: "http://127.0.0.1:{port}/fin", send_resolved: true}}]
"""

FRESH_YML = SQLITE_SERVE_YML + """\
owners:
  ops:
    notify: ["alertmanager://127.0.0.1:{am_port}"]
  fin:
    notify: ["alertmanager://127.0.0.1:{am_port}/"]
alerts:
  group_wait: 1s
metric_labels: [domain]
"""

CHECKS = """\
defaults:
  warehouse: main
  check_every: 1s
contracts:
  - name: shop.orders
    owner: ops
    severity: critical
    table: orders
    column: t
    error_after: 1h
    metadata: {{domain: sales, runbook: "https://wiki.example.com/orders"}}
  - name: fin.ledger
    owner: fin
    table: ledger
    column: t
    error_after: {ledger_after}
    metadata: {{domain: finance}}
"""

RESEND = 2.0  # seconds between re-posts in these tests (endsAt 4 x that ahead)


@pytest.fixture
def am(receiver: HttpReceiver) -> Iterator[servers.Alertmanager]:
    why = servers.alertmanager_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    server = servers.Alertmanager(AM_CONFIG.format(port=receiver.port))
    yield server
    server.close()


def notified(rx: HttpReceiver, path: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(status, alertname, alert) of every alert in every webhook call to `path`."""
    out = []
    for got in list(rx.received):
        if got.path == path:
            for a in got.json()["alerts"]:
                out.append((a["status"], a["labels"]["alertname"], a))
    return out


def active(am: servers.Alertmanager, contract: str) -> list[dict[str, Any]]:
    found = am.api(f'/api/v2/alerts?filter=contract%3D%22{contract}%22')
    assert isinstance(found, list)
    return found


def project(tmp: Path, am: servers.Alertmanager, ledger_after: str) -> None:
    now = datetime.now(UTC)
    put_table(tmp / "wh.sqlite", "orders", now - timedelta(hours=2))  # stale from the start
    put_table(tmp / "wh.sqlite", "ledger", now)
    write_project(
        tmp,
        FRESH_YML.format(am_port=am.port),
        {"c.yml": CHECKS.format(ledger_after=ledger_after)},
    )


def test_alerts_reach_the_owners_receiver_through_alertmanager_and_follow_the_contract(
    tmp_path: Path, receiver: HttpReceiver, am: servers.Alertmanager
) -> None:
    # an Alertmanager silence on fin.ledger, set through its API before anything fires
    now = datetime.now(UTC)
    am.api(
        "/api/v2/silences",
        {
            "matchers": [{"name": "contract", "value": "fin.ledger", "isRegex": False}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "test",
            "comment": "muted in Alertmanager",
        },
        "POST",
    )
    project(tmp_path, am, ledger_after="12s")
    served = start(tmp_path, env=clean_env(FRESH_AM_RESEND_SECONDS=str(RESEND)))
    try:
        # 1. stale: the ops receiver gets FreshContractStale with fresh's labels
        firing = wait_for(lambda: notified(receiver, "/ops"), timeout=40)
        status, name, alert = firing[0]
        assert (status, name) == ("firing", "FreshContractStale")
        labels = alert["labels"]
        assert labels == {
            "alertname": "FreshContractStale",
            "fresh_status": "stale",
            "contract": "shop.orders",
            "owner": "ops",
            "severity": "critical",
            "warehouse": "main",
            "domain": "sales",
        }
        notes = alert["annotations"]
        assert notes["summary"].startswith("STALE: shop.orders")
        assert "Last update:" in notes["description"] and "Status page:" in notes["description"]
        assert notes["runbook_url"] == "https://wiki.example.com/orders"
        assert alert["generatorURL"] == "https://fresh.example.com/contracts/shop.orders"
        fired_at = time.monotonic()

        # 2. it stays active far longer than one endsAt (4 x RESEND) thanks to re-posts
        time.sleep(6 * RESEND)
        alive = active(am, "shop.orders")
        assert [a["status"]["state"] for a in alive] == ["active"]
        assert [s for s, _, _ in notified(receiver, "/ops")] == ["firing"]

        # 3. the Alertmanager silence mutes fin.ledger (stale after 12 s): received, held
        wait_for(lambda: active(am, "fin.ledger"), timeout=40)
        muted = active(am, "fin.ledger")[0]
        assert muted["status"]["state"] == "suppressed" and muted["status"]["silencedBy"]
        assert muted["labels"]["alertname"] == "FreshContractStale"

        # 4. stale -> error: the stale alert ends, the error alert starts
        put_table(tmp_path / "wh.sqlite", "orders", None)
        def pairs() -> list[tuple[str, str]]:
            return [(s, n) for s, n, _ in notified(receiver, "/ops")]

        wait_for(
            lambda: {("firing", "FreshContractError"), ("resolved", "FreshContractStale")}
            <= set(pairs()),
            timeout=40,
        )

        # 5. fixed: the error alert resolves (through the outbox)
        put_table(tmp_path / "wh.sqlite", "orders", datetime.now(UTC))
        wait_for(lambda: ("resolved", "FreshContractError") in pairs(), timeout=40)
        held_for = time.monotonic() - fired_at
    finally:
        assert served.stop() == 0, served.log()
    ops = [(s, n) for s, n, _ in notified(receiver, "/ops")]
    print(f"\nalertmanager: ops notifications {ops}; stale alert lived {held_for:.0f}s")
    assert ops.count(("firing", "FreshContractStale")) == 1
    assert notified(receiver, "/fin") == []  # silenced in Alertmanager


def test_alertmanager_destinations_do_not_wait_for_group_wait(
    tmp_path: Path, receiver: HttpReceiver, am: servers.Alertmanager
) -> None:
    # an hour of group_wait: a message would wait that long; Alertmanager groups by itself
    project(tmp_path, am, ledger_after="1h")
    (tmp_path / "fresh.yml").write_text(
        FRESH_YML.format(am_port=am.port).replace("group_wait: 1s", "group_wait: 1h")
    )
    fired_after, rows, _ = fire_and_resolve_at_once(tmp_path, receiver)
    assert len(rows) == 2  # fired and resolved, each through the outbox
    print(f"\nalertmanager with group_wait 1h: fired after {fired_after:.1f}s")


def test_a_contract_also_routed_to_a_webhook_reaches_alertmanager_at_once_the_webhook_waits(
    tmp_path: Path, receiver: HttpReceiver, am: servers.Alertmanager
) -> None:
    """SPEC 15: fresh's grouping does not apply to Alertmanager destinations, even for a
    contract whose other destinations keep it (here a webhook with an hour of group_wait)."""
    project(tmp_path, am, ledger_after="1h")
    (tmp_path / "fresh.yml").write_text(
        FRESH_YML.format(am_port=am.port)
        .replace("group_wait: 1s", "group_wait: 1h")
        .replace(
            f'["alertmanager://127.0.0.1:{am.port}"]',
            f'["alertmanager://127.0.0.1:{am.port}", "{receiver.url("/hook")}"]',
        )
    )
    fired_after, rows, waiting = fire_and_resolve_at_once(tmp_path, receiver)
    assert len(rows) == 2  # fired and resolved, to the Alertmanager alone
    assert [g.path for g in receiver.received if g.path == "/hook"] == []  # group_wait holds
    # the webhook's part waits for its group; Alertmanager's was decided at once
    assert [(t.kind, t.am_outcome, t.outcome) for t in waiting] == [
        ("fired", "sent", None),
        ("resolved", "sent", None),
    ]
    print(f"\nalertmanager + webhook, group_wait 1h: alertmanager fired after {fired_after:.1f}s")


def fire_and_resolve_at_once(
    tmp_path: Path, receiver: HttpReceiver
) -> tuple[float, list[Any], list[Any]]:
    """Serve the project until shop.orders' stale alert reached Alertmanager (/ops), then
    freshen the table until the resolve did too — both through the outbox at once, however
    long group_wait is. Returns the seconds to the first alert, the outbox rows once all
    sent, and shop.orders' transitions."""
    served = start(tmp_path, env=clean_env(FRESH_AM_RESEND_SECONDS=str(RESEND)))
    try:
        t0 = time.monotonic()
        firing = wait_for(lambda: notified(receiver, "/ops"), timeout=40)
        fired_after = time.monotonic() - t0
        assert [(s, n) for s, n, _ in firing] == [("firing", "FreshContractStale")]
        put_table(tmp_path / "wh.sqlite", "orders", datetime.now(UTC))
        wait_for(
            lambda: ("resolved", "FreshContractStale")
            in [(s, n) for s, n, _ in notified(receiver, "/ops")],
            timeout=40,
        )
        rows = wait_for(lambda: (r := outbox_rows(tmp_path)) and all(x.sent_at for x in r) and r,
                        timeout=40)  # fmt: skip
        transitions = transitions_of(tmp_path, "shop.orders")
    finally:
        assert served.stop() == 0, served.log()
    return fired_after, rows, transitions


def transitions_of(tmp: Path, contract: str) -> list[Any]:
    from monitor.store.schema import transitions as t

    with Store.open("sqlite:///state.db", tmp) as store, store.read() as conn:
        return list(
            conn.execute(
                sa.select(t.c.kind, t.c.am_outcome, t.c.outcome)
                .where(t.c.contract == contract)
                .order_by(t.c.seq)
            ).all()
        )


def outbox_rows(tmp: Path) -> list[Any]:
    with Store.open("sqlite:///state.db", tmp) as store, store.read() as conn:
        return list(conn.execute(sa.select(outbox.c.attempts, outbox.c.sent_at)).all())


def test_alertmanager_down_for_ten_seconds_loses_nothing(
    tmp_path: Path, receiver: HttpReceiver, am: servers.Alertmanager
) -> None:
    project(tmp_path, am, ledger_after="8s")
    put_table(tmp_path / "wh.sqlite", "orders", datetime.now(UTC))  # both fresh at first
    served = start(tmp_path, env=clean_env(FRESH_AM_RESEND_SECONDS=str(RESEND)))
    try:
        am.stop()
        down_at = time.monotonic()
        time.sleep(10)  # fin.ledger goes stale meanwhile; its alert waits in the outbox
        am.start()
        up_after = time.monotonic() - down_at
        got = wait_for(lambda: notified(receiver, "/fin"), timeout=60)
        # the outbox's own message (the fired alert) is delivered too, after its retries
        rows = wait_for(lambda: (r := outbox_rows(tmp_path)) and all(x.sent_at for x in r) and r,
                        timeout=90)  # fmt: skip
    finally:
        assert served.stop() == 0, served.log()
    assert [(s, n, a["labels"]["contract"]) for s, n, a in got][:1] == [
        ("firing", "FreshContractStale", "fin.ledger")
    ]
    assert max(r.attempts for r in rows) >= 2  # it failed while Alertmanager was down
    print(f"\nalertmanager down {up_after:.0f}s: outbox attempts {[r.attempts for r in rows]}")


def test_notify_test_sends_a_fresh_test_alert_that_ends_by_itself(
    tmp_path: Path, receiver: HttpReceiver, am: servers.Alertmanager
) -> None:
    project(tmp_path, am, ledger_after="1h")
    res = fresh("notify-test", "ops", cwd=tmp_path, env=clean_env())
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"ok      alertmanager://127.0.0.1:{am.port}" in res.stdout
    found = am.api('/api/v2/alerts?filter=alertname%3D%22FreshTest%22')
    assert isinstance(found, list) and len(found) == 1
    test = found[0]
    ends = datetime.fromisoformat(test["endsAt"].replace("Z", "+00:00"))
    starts = datetime.fromisoformat(test["startsAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=50) <= ends - starts <= timedelta(seconds=70)
    assert test["labels"]["owner"] == "ops"
    wait_for(lambda: notified(receiver, "/ops"), timeout=20)  # routed by owner


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for Alertmanager's web config (the libc's, through `crypt`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # crypt leaves Python in 3.13
        import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def test_basic_auth_reaches_an_alertmanager_that_requires_it(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    why = servers.alertmanager_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    server = servers.Alertmanager(
        AM_CONFIG.format(port=receiver.port),
        web_config=f"basic_auth_users:\n  fresh: '{bcrypt_hash('s3cret')}'\n",
    )
    try:
        write_project(
            tmp_path,
            FRESH_YML.replace(
                '["alertmanager://127.0.0.1:{am_port}"]',
                '["alertmanager://fresh:s3cret@127.0.0.1:{am_port}"]',
            )
            .replace(
                '["alertmanager://127.0.0.1:{am_port}/"]',
                '["alertmanager://fresh:wrongpw@127.0.0.1:{am_port}/"]',
            )
            .format(am_port=server.port),
            {"c.yml": CHECKS.format(ledger_after="1h")},
        )
        ok = fresh("notify-test", "ops", cwd=tmp_path, env=clean_env())
        assert ok.returncode == 0, ok.stdout + ok.stderr
        refused = fresh("notify-test", "fin", cwd=tmp_path, env=clean_env())
        assert refused.returncode == 1 and "401" in refused.stdout
        assert "s3cret" not in ok.stdout + refused.stdout
        assert "wrongpw" not in refused.stdout + refused.stderr
        got = wait_for(lambda: notified(receiver, "/ops"), timeout=20)
        assert got[0][1] == "FreshTest"
    finally:
        server.close()


def test_an_alert_is_re_sent_only_once_delivered_not_once_queued(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    """The re-send loop counts an alert announced when its outbox row reached the
    Alertmanager, so it never posts ahead of the queued fired alert."""
    from monitor.config.alert_settings import Owner
    from monitor.config.settings import Settings
    from monitor.core.models import Status
    from tests.integration.alerting_helpers import contract, rig

    settings = Settings(owners={"ops": Owner(notify=(f"alertmanager://127.0.0.1:{receiver.port}",))})
    r = rig(tmp_path, settings, [contract("a")], None)  # type: ignore[arg-type]  # its own
    r.save([("a", Status.STALE)])
    now = r.clock.now()
    assert r.alerting.flush(now) == 1  # queued, not yet delivered
    assert r.alerting.refresh_alertmanagers(now) == {"sent": 0, "failed": 0}
    assert receiver.received == []
    assert r.alerting.deliver()  # the fired alert reaches the Alertmanager
    assert len(receiver.received) == 1
    assert r.alerting.refresh_alertmanagers(now) == {"sent": 1, "failed": 0}
    assert len(receiver.received) == 2
    r.store.close()


def test_https_with_basic_auth_delivers_when_the_ca_is_trusted_and_refuses_it_otherwise(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    """`alertmanagers://` against a real Alertmanager serving TLS (`--web.config.file` with
    `tls_server_config`) and basic auth: fresh trusts the CA named by SSL_CERT_FILE (as
    OpenSSL's default verify paths do), and refuses an untrusted certificate."""
    from tests.integration.alert_receivers import mint_tls

    why = servers.alertmanager_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, cert, key = mint_tls(certs, "localhost")
    server = servers.Alertmanager(
        AM_CONFIG.format(port=receiver.port),
        web_config=(
            f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
            f"basic_auth_users:\n  fresh: '{bcrypt_hash('s3cret')}'\n"
        ),
        ca_file=ca,
    )
    url = f"alertmanagers://fresh:s3cret@localhost:{server.port}"
    try:
        now = datetime.now(UTC)
        put_table(tmp_path / "wh.sqlite", "orders", now - timedelta(hours=2))  # stale
        put_table(tmp_path / "wh.sqlite", "ledger", now)
        write_project(
            tmp_path,
            FRESH_YML.replace('["alertmanager://127.0.0.1:{am_port}"]', f'["{url}"]').format(
                am_port=server.port
            ),
            {"c.yml": CHECKS.format(ledger_after="1h")},
        )
        # 1. the CA is not trusted: refused, nothing reaches Alertmanager, no secret shown
        untrusted = fresh("notify-test", "ops", cwd=tmp_path, env=clean_env())
        assert untrusted.returncode == 1, untrusted.stdout + untrusted.stderr
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout
        assert "s3cret" not in untrusted.stdout + untrusted.stderr
        # 2. trusted through SSL_CERT_FILE: notify-test and a real serve deliver over https
        trusted = clean_env(SSL_CERT_FILE=str(ca), FRESH_AM_RESEND_SECONDS=str(RESEND))
        ok = fresh("notify-test", "ops", cwd=tmp_path, env=trusted)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert f"ok      alertmanagers://fresh:***@localhost:{server.port}" in ok.stdout
        served = start(tmp_path, env=trusted)
        try:
            got = wait_for(
                lambda: [a for a in notified(receiver, "/ops") if a[1] == "FreshContractStale"],
                timeout=40,
            )
        finally:
            assert served.stop() == 0, served.log()
        assert got[0][0] == "firing" and got[0][2]["labels"]["contract"] == "shop.orders"
        assert "FreshTest" in [n for _, n, _ in notified(receiver, "/ops")]
        assert "s3cret" not in served.log()
    finally:
        server.close()
