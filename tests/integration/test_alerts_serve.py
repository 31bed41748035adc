"""Alerts from a real `fresh serve` subprocess: delivery, metrics, `kill -9` between claim
and send, and a restart with open alerts."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.store import Store
from monitor.store.schema import transitions
from tests.integration.alert_receivers import HttpReceiver, Received
from tests.integration.serving import sample, start, wait_for, write_duckdb, write_project

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
state:
  url: sqlite:///state.db
server:
  replica: alerts-test
  public_url: https://fresh.example.com
owners:
  ops:
    notify: ["json://127.0.0.1:{port}/ops"]
  fin:
    notify: ["json://127.0.0.1:{port}/fin"]
    repeat_every: {repeat}
alerts:
  group_wait: 1s
"""

CHECKS = """\
defaults:
  warehouse: main
contracts:
  - name: shop.orders
    owner: ops
    table: orders
    column: t
    error_after: 1h
  - name: finance.ledger
    owner: fin
    table: ledger
    column: t
    error_after: 1h
"""


def setup(tmp: Path, port: int, *, ledger_stale_in: timedelta, repeat: str = "4h") -> None:
    now = datetime.now(UTC)
    write_duckdb(
        tmp / "warehouse.duckdb",
        {
            "orders": now - timedelta(hours=2),  # stale from the first check
            "ledger": now - timedelta(hours=1) + ledger_stale_in,
        },
    )
    write_project(tmp, FRESH_YML.format(port=port, repeat=repeat), {"c.yml": CHECKS})


def titles(rx: HttpReceiver, path: str) -> list[str]:
    return [r.json()["title"] for r in list(rx.received) if r.path == path]


def recorded(tmp: Path) -> list[tuple[str, str, str | None]]:
    with Store.open("sqlite:///state.db", tmp) as store, store.read() as conn:
        rows = conn.execute(
            sa.select(transitions.c.contract, transitions.c.kind, transitions.c.outcome).order_by(
                transitions.c.id
            )
        ).all()
    return [(r.contract, r.kind, r.outcome) for r in rows]


def test_serve_delivers_alerts_and_counts_them(tmp_path: Path, receiver: HttpReceiver) -> None:
    setup(tmp_path, receiver.port, ledger_stale_in=timedelta(hours=1))
    served = start(tmp_path)
    try:
        wait_for(lambda: titles(receiver, "/ops"), timeout=30)
        assert titles(receiver, "/ops") == ["STALE: shop.orders — data 2h old, limit 1h"]
        metrics = wait_for(
            lambda: (
                (m := served.metrics())
                and sample(m, "fresh_notifications_total", owner="ops", result="sent") == 1.0
                and m
            ),
            timeout=10,
        )
        assert sample(metrics, "fresh_outbox_messages") == 0.0
    finally:
        assert served.stop() == 0, served.log()
    assert "Traceback" not in served.log()


def test_kill_9_between_claim_and_send_delivers_after_restart_and_nothing_else_twice(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    setup(tmp_path, receiver.port, ledger_stale_in=timedelta(seconds=6))
    in_flight = threading.Event()

    def hold_ledger(got: Received) -> None:
        if got.path == "/fin" and not in_flight.is_set():
            in_flight.set()  # the ledger alert is being sent: the sender is mid-send
            receiver.behaviour.hold = 3.0

    receiver.behaviour.on_request = hold_ledger
    served = start(tmp_path)
    # Kill as soon as the ledger alert is mid-send. shop.orders is delivered normally: before
    # it, or (a loaded machine checking both for the first time after the ledger's deadline)
    # after it, in the same batch, by the restarted replica. Waiting for shop.orders before
    # the kill could instead kill that second send between its POST and its mark.
    assert in_flight.wait(30), served.log()
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait(10)
    receiver.behaviour.hold = 0.0
    receiver.behaviour.on_request = None
    before = len(receiver.attempts)
    again = start(tmp_path, port=served.port)  # same replica: its old claim is released
    try:
        wait_for(
            lambda: len(titles(receiver, "/fin")) >= 2 and titles(receiver, "/ops"), timeout=30
        )
        wait_for(lambda: again.metrics() and True, timeout=5)
        threading.Event().wait(3)  # time for anything wrongly sent twice to arrive
    finally:
        assert again.stop() == 0, again.log()
    ops, fin = titles(receiver, "/ops"), titles(receiver, "/fin")
    print(
        f"\nkill -9 mid-send: requests before kill={before}, after restart="
        f"{len(receiver.attempts) - before}; shop.orders messages={len(ops)}, "
        f"finance.ledger messages={len(fin)} (1 cut off by the kill + 1 after restart)"
    )
    assert ops == ["STALE: shop.orders — data 2h old, limit 1h"]
    assert fin == ["STALE: finance.ledger — data 1h old, limit 1h"] * 2
    assert sorted(recorded(tmp_path)) == [
        ("finance.ledger", "fired", "sent"),
        ("shop.orders", "fired", "sent"),
    ]


def test_a_restart_with_open_alerts_repeats_nothing_and_repeats_on_schedule(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    setup(tmp_path, receiver.port, ledger_stale_in=timedelta(seconds=0), repeat="12s")
    served = start(tmp_path)
    first = wait_for(lambda: [r for r in receiver.received if r.path == "/fin"], timeout=30)
    fired_at = datetime.now(UTC)
    assert first[0].json()["title"].startswith("STALE: finance.ledger")
    assert served.stop() == 0, served.log()
    again = start(tmp_path, port=served.port)
    try:
        wait_for(lambda: len(titles(receiver, "/fin")) >= 2, timeout=40)
        repeated_at = datetime.now(UTC)
    finally:
        assert again.stop() == 0, again.log()
    fin = titles(receiver, "/fin")
    gap = (repeated_at - fired_at).total_seconds()
    print(f"\nrestart with open alerts: fin messages={fin}, repeat after {gap:.1f}s (12s asked)")
    assert fin[0].startswith("STALE: finance.ledger") and fin[1].startswith("still STALE")
    assert gap >= 11.0
    assert titles(receiver, "/ops") == ["STALE: shop.orders — data 2h old, limit 1h"]
