"""Maintenance windows in a real `fresh serve` (SPEC 15): alerts held during a window and
sent once at its end, a break that mends inside a window unheard, the resolve of an alert
announced before the window sent; `maintenance_until`, `fresh_maintenance`, the page."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.report.results import iso_z
from monitor.store import Store
from monitor.store.schema import transitions
from tests.integration.alert_receivers import HttpReceiver, Received
from tests.integration.cli_project import clean_env, fresh
from tests.integration.serving import sample, start, wait_for, write_duckdb, write_project

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
state:
  url: sqlite:///state.db
owners:
  ops:
    notify: ["json://127.0.0.1:{port}/ops"]
  jobs:
    notify: ["json://127.0.0.1:{port}/jobs"]
alerts:
  group_wait: 1s
  maintenance:
    - match: {{contract: shop.orders}}
      start: {w1_start}
      end: {w1_end}
      reason: warehouse upgrade
    - match: {{contract: hb.flap}}
      start: {w1_start}
      end: {w2_end}
{more}"""

BEFORE_WINDOW = """\
    - match: {{contract: hb.before}}
      start: {start}
      end: {end}
"""

CHECKS = """\
contracts:
  - name: shop.orders
    owner: ops
    warehouse: main
    table: orders
    column: t
    error_after: 1h
  - name: hb.before
    owner: jobs
    tags: [jobs]
    heartbeat: {}
    error_after: 1h
  - name: hb.flap
    owner: jobs
    tags: [jobs]
    heartbeat: {}
    error_after: 8s
"""


def kinds(tmp: Path, contract: str) -> list[tuple[str, str | None]]:
    with Store.open("sqlite:///state.db", tmp) as store, store.read() as conn:
        rows = conn.execute(
            sa.select(transitions.c.kind, transitions.c.outcome)
            .where(transitions.c.contract == contract)
            .order_by(transitions.c.seq)
        ).all()
    return [(r.kind, r.outcome) for r in rows]


def test_a_window_holds_alerts_until_its_end_and_lets_resolves_of_announced_ones_through(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    arrived: list[tuple[float, str, str]] = []  # (wall time, path, title)
    lock = threading.Lock()

    def note(got: Received) -> None:
        with lock:
            arrived.append((time.time(), got.path, got.json()["title"]))

    receiver.behaviour.on_request = note

    def titles(path: str) -> list[str]:
        with lock:
            return [t for _, p, t in arrived if p == path]

    now = datetime.now(UTC).replace(microsecond=0)
    w1_end = now + timedelta(seconds=30)  # shop.orders is stale throughout
    fmt = {"port": receiver.port, "w1_start": iso_z(now - timedelta(hours=1))}
    fmt["w1_end"] = iso_z(w1_end)
    w2_end = now + timedelta(hours=1)  # hb.flap: in a window throughout
    fmt["w2_end"] = iso_z(w2_end)
    write_duckdb(tmp_path / "warehouse.duckdb", {"orders": now - timedelta(hours=2)})
    write_project(tmp_path, FRESH_YML.format(**fmt, more=""), {"c.yml": CHECKS})
    env = clean_env()
    assert fresh("ping", "hb.flap", cwd=tmp_path, env=env).returncode == 0  # hb.before: none

    served = start(tmp_path, env=env)
    try:
        # hb.before (never pinged) is stale before any window: announced as usual
        wait_for(lambda: titles("/jobs"), timeout=40)
        assert titles("/jobs") == ["STALE: hb.before — no data at all"]

        # shop.orders is stale, but in its window: the API, the metrics and the page say so
        _, one = served.get_json("/api/v1/contracts/shop.orders")
        assert one["status"] == "stale" and one["maintenance_until"] == iso_z(w1_end)
        _, every = served.get_json("/api/v1/contracts")
        ends = {r["contract"]: r["maintenance_until"] for r in every["results"]}
        assert ends == {
            "shop.orders": iso_z(w1_end),
            "hb.before": None,
            "hb.flap": iso_z(w2_end),
        }
        metrics = served.metrics()
        assert sample(metrics, "fresh_maintenance", contract="shop.orders") == 1.0
        assert sample(metrics, "fresh_maintenance", contract="hb.before") == 0.0
        page = served.request("/")[1].decode()
        assert f"in maintenance until {w1_end:%Y-%m-%d %H:%M} UTC" in page

        # a window for hb.before opens after its alert went out (fresh.yml edited: reload)
        more = BEFORE_WINDOW.format(
            start=iso_z(now - timedelta(hours=1)), end=iso_z(now + timedelta(hours=1))
        )
        (tmp_path / "fresh.yml").write_text(FRESH_YML.format(**fmt, more=more))
        wait_for(
            lambda: served.get_json("/api/v1/contracts/hb.before")[1]["maintenance_until"],
            timeout=30,
        )
        # hb.flap breaks inside its window (no ping for 8 s): recorded, held
        wait_for(lambda: ("fired", "silenced") in kinds(tmp_path, "hb.flap"), timeout=30)
        # ... and mends inside it; hb.before (announced before the window) mends too
        assert served.request("/api/v1/ping/hb.flap", "POST")[0] == 200
        assert served.request("/api/v1/ping/hb.before", "POST")[0] == 200
        wait_for(lambda: len(titles("/jobs")) >= 2, timeout=30)
        assert titles("/jobs")[1].startswith("RESOLVED: hb.before")

        # shop.orders speaks once, when its window ends
        assert titles("/ops") == []
        wait_for(lambda: titles("/ops"), timeout=(w1_end - datetime.now(UTC)).seconds + 30)
        time.sleep(3)  # time for anything wrongly sent twice to arrive
    finally:
        assert served.stop() == 0, served.log()
    ops = [(t, title) for t, p, title in arrived if p == "/ops"]
    assert len(ops) == 1 and "shop.orders" in ops[0][1]
    assert ops[0][0] >= w1_end.timestamp()
    assert len(titles("/jobs")) == 2  # nothing about hb.flap
    flap = kinds(tmp_path, "hb.flap")  # (it breaks again 8 s after the last ping: held too)
    assert ("resolved", "suppressed") in flap
    assert {outcome for _, outcome in flap} <= {"silenced", "suppressed", "superseded", None}
    print(f"\nmaintenance: ops message {ops[0][0] - w1_end.timestamp():.1f}s after the window")
