"""The demo project behind `fresh demo` (and `make demo`): a DuckDB warehouse whose tables
are fresh, late and stale, a job run log, a landing folder of files and a heartbeat, with
owners and metadata, all relative to `now` so the statuses are the same on every run.

`build_demo` writes it; `advance_demo` plays the loaders: called now and then by a running
demo, it keeps the healthy tables fresh and lets `shop.payments` cycle through
fresh → warn → stale → fresh every 20 minutes, so alerts fire and resolve while you watch.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.core.errors import UsageError
from monitor.sources.duck_guard import NO_EXTENSIONS

MARKER = "# fresh demo project"
WAREHOUSE = "warehouse.duckdb"
PAYMENTS_EVERY = timedelta(minutes=20)  # the payments loader's cycle in advance_demo

FRESH_YML = (
    MARKER
    + """ — written by `fresh demo`; rebuilt (and overwritten) on every run.
warehouses:
  main:
    url: duckdb:///warehouse.duckdb    # relative to this file
    timeout: 10s

state:
  url: sqlite:///.fresh/state.db      # history, alert state, outbox, pings

owners:
  ops-data-team:
    notify: []                        # e.g. slack://TokenA/TokenB/TokenC/#ops-data
  finance-analytics:
    notify: []
    repeat_every: 1h
  marketing-analytics:
    notify: []

alerts:
  notify_on: [stale, error]
  repeat_every: 4h
  group_wait: 5s
  fallback: {fallback}

server:
  listen: {listen}

metric_labels: [domain]

imports:                              # contracts from where they already live (dbt here)
  - dbt: dbt/                         # a dbt project folder: its sources .yml, read without dbt
    owner: marketing-analytics        # for sources with no meta.owner
"""
)

# A dbt project as its team wrote it: `fresh.yml` imports its source freshness in place.
DBT_PROJECT_YML = """\
name: demo_analytics
version: "1.0.0"
profile: demo
vars:
  crm_schema: crm
"""
DBT_SOURCES_YML = """\
version: 2
sources:
  - name: crm
    schema: "{{ var('crm_schema') }}"
    loaded_at_field: synced_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 6, period: hour}
    meta: {domain: sales}
    tables:
      - name: customers
        description: Customers synced from the CRM every 15 minutes.
"""

CHECKS_YML = """\
# The demo's freshness contracts. `fresh explain NAME` shows what each one reads.
defaults:
  warehouse: main
  owner: ops-data-team
  check_every: 30s

contracts:
  - name: shop.orders
    description: Orders landed by the 5-minute loader.
    severity: critical
    tags: [shop, revenue]
    metadata: {domain: sales, runbook: "https://wiki.example.com/runbooks/orders"}
    table: shop.orders
    column: _loaded_at
    warn_after: 20m
    error_after: 1h

  - name: shop.payments
    description: Card payments; the loader runs every 20 minutes, so this one goes late.
    severity: critical
    tags: [shop, revenue]
    metadata: {domain: sales, runbook: "https://wiki.example.com/runbooks/payments"}
    table: shop.payments
    column: paid_at
    warn_after: 10m
    error_after: 15m

  - name: shop.products
    description: Product catalogue, read with a query.
    tags: [shop]
    metadata: {domain: catalogue}
    query: SELECT max(updated_at) FROM shop.products
    warn_after: 1d
    error_after: 2d

  - name: web.events
    description: Click stream from the web site only (the app feed is separate).
    tags: [web]
    metadata: {domain: marketing}
    table: web.events
    column: event_time
    where: "source = 'web'"
    warn_after: 15m
    error_after: 45m

  - name: finance.invoices
    description: Invoices exported by the ERP; usually an hour behind.
    owner: finance-analytics
    tags: [finance]
    metadata: {domain: finance, pii: true, runbook: "https://wiki.example.com/runbooks/erp"}
    table: finance.invoices
    column: created_ms
    column_format: epoch_ms
    warn_after: 30m
    error_after: 2h

  - name: marketing.campaign_stats
    description: Daily campaign statistics from the ad platforms.
    owner: marketing-analytics
    severity: info
    tags: [marketing]
    metadata: {domain: marketing, source_system: adwords}
    table: marketing.campaign_stats
    column: loaded_at                  # ISO-8601 text
    warn_after: 12h
    error_after: 1d

  - name: landing.partner_feed
    description: CSV files dropped by a partner over SFTP.
    tags: [landing]
    metadata: {domain: partners}
    files: landing/partner_feed/*.csv
    warn_after: 1h
    error_after: 3h

  - name: jobs.export_orders
    description: The hourly export job, from its run log.
    tags: [jobs]
    metadata: {domain: sales}
    run_log:
      table: ops.job_runs
      job: export_orders
    warn_after: 2h
    error_after: 4h

  - name: jobs.nightly_rollup
    description: The nightly rollup, from the same run log; it has been failing.
    owner: finance-analytics
    severity: critical
    tags: [jobs, finance]
    metadata: {domain: finance}
    run_log:
      table: ops.job_runs
      job: nightly_rollup
    warn_after: 25h
    error_after: 26h

  - name: backup.nightly
    description: A backup job that reports itself with `fresh ping backup.nightly`.
    tags: [ops]
    metadata: {domain: platform}
    heartbeat: {}
    error_after: 25h
"""


def build_demo(
    directory: Path,
    now: datetime,
    *,
    notify: str | None = None,
    listen: str = "127.0.0.1:9184",
) -> Path:
    """Write the demo project into `directory` (rebuilt if it holds an earlier demo) and
    return the path of its fresh.yml. Statuses at `now`: orders, payments, products, events,
    partner feed, the export job and the dbt-imported crm.customers fresh; invoices warn;
    campaign stats and the nightly rollup stale; the backup heartbeat stale (never pinged)."""
    directory = Path(directory)
    config = directory / "fresh.yml"
    _claim(directory, config)
    now = _utc(now)

    fallback = f"[{_yaml_str(notify)}]" if notify else "[]"
    config.write_text(FRESH_YML.format(fallback=fallback, listen=listen), encoding="utf-8")
    (directory / "checks").mkdir(exist_ok=True)
    (directory / "checks" / "demo.yml").write_text(CHECKS_YML, encoding="utf-8")
    (directory / "dbt" / "models").mkdir(parents=True, exist_ok=True)
    (directory / "dbt" / "dbt_project.yml").write_text(DBT_PROJECT_YML, encoding="utf-8")
    (directory / "dbt" / "models" / "sources.yml").write_text(DBT_SOURCES_YML, encoding="utf-8")

    _write_warehouse(directory / WAREHOUSE, now)
    feed = directory / "landing" / "partner_feed"
    feed.mkdir(parents=True, exist_ok=True)
    for hours_ago in (26, 2, 0):
        _drop_file(feed, now - timedelta(hours=hours_ago, minutes=10))
    return config


def advance_demo(directory: Path, now: datetime) -> None:
    """Play the demo's loaders up to `now`: orders, events, products, the partner feed and
    the export job stay fresh, invoices stay about 50 minutes behind (warn), and payments
    get a row only every 20 minutes, so it goes warn, then stale, then fresh again."""
    directory = Path(directory)
    now = _utc(now)
    with _connect(directory / WAREHOUSE) as con:
        naive = now.replace(tzinfo=None)
        con.execute("INSERT INTO shop.orders VALUES (nextval('shop.order_ids'), ?, 42.0)", [naive])
        con.execute(
            "INSERT INTO web.events VALUES (?, 'web', 'page_view'), (?, 'app', 'tap')",
            [naive, naive - timedelta(hours=5)],
        )
        con.execute("UPDATE shop.products SET updated_at = ? WHERE id = 1", [naive])
        con.execute("UPDATE crm.customers SET synced_at = ? WHERE id = 1", [naive])
        newest = con.execute("SELECT max(paid_at) FROM shop.payments").fetchone()
        if newest is None or newest[0] is None or _utc(newest[0]) <= now - PAYMENTS_EVERY:
            con.execute("INSERT INTO shop.payments VALUES (?, 19.99)", [now])
        behind = now - timedelta(minutes=50)
        newest_invoice = con.execute("SELECT max(created_ms) FROM finance.invoices").fetchone()
        if newest_invoice is None or (newest_invoice[0] or 0) < _ms(behind):
            con.execute("INSERT INTO finance.invoices VALUES (?, 100.0)", [_ms(behind)])
        last_run = con.execute(
            "SELECT max(finished_at) FROM ops.job_runs WHERE job = 'export_orders'"
        ).fetchone()
        if last_run is None or last_run[0] is None or last_run[0] <= naive - timedelta(hours=1):
            con.execute("INSERT INTO ops.job_runs VALUES ('export_orders', 'success', ?)", [naive])
    _drop_file(directory / "landing" / "partner_feed", now)


# --- helpers --------------------------------------------------------------------------------


def _claim(directory: Path, config: Path) -> None:
    """Create `directory`, or clear an earlier demo in it; never touch anything else."""
    if directory.exists() and any(directory.iterdir()):
        head = config.read_text(encoding="utf-8")[: len(MARKER)] if config.is_file() else ""
        if head != MARKER:
            raise UsageError(
                f"{directory} is not empty and holds no earlier demo: choose another --dir"
            )
        for name in (WAREHOUSE, f"{WAREHOUSE}.wal", "landing", ".fresh"):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)


def _write_warehouse(path: Path, now: datetime) -> None:
    n = now.replace(tzinfo=None)  # TIMESTAMP columns hold naive UTC
    with _connect(path) as con:
        con.execute("CREATE SCHEMA shop; CREATE SCHEMA web; CREATE SCHEMA finance")
        con.execute("CREATE SCHEMA marketing; CREATE SCHEMA ops; CREATE SCHEMA crm")
        con.execute("CREATE TABLE crm.customers (id INTEGER, synced_at TIMESTAMP)")
        con.execute(
            "INSERT INTO crm.customers VALUES (1, ?), (2, ?)",
            [n - timedelta(minutes=12), n - timedelta(days=2)],
        )
        con.execute("CREATE SEQUENCE shop.order_ids START 1000")
        con.execute(
            "CREATE TABLE shop.orders AS SELECT i AS id, "
            "$now::TIMESTAMP - to_minutes(2 + 5 * i) AS _loaded_at, round(random() * 200, 2) "
            "AS amount FROM range(0, 288) r(i)",
            {"now": n},
        )
        con.execute("CREATE TABLE shop.payments (paid_at TIMESTAMPTZ, amount DOUBLE)")
        con.execute(
            "INSERT INTO shop.payments VALUES (?, 12.5), (?, 30.0)",
            [now - timedelta(minutes=28), now - timedelta(minutes=8)],
        )
        con.execute("CREATE TABLE shop.products (id INTEGER, name VARCHAR, updated_at TIMESTAMP)")
        con.execute(
            "INSERT INTO shop.products VALUES (1, 'mug', ?), (2, 'teapot', ?)",
            [n - timedelta(hours=3), n - timedelta(days=9)],
        )
        con.execute(
            "CREATE TABLE web.events AS SELECT $now::TIMESTAMP - to_seconds(30 * i) AS "
            "event_time, 'web' AS source, 'page_view' AS kind FROM range(1, 200) r(i)",
            {"now": n},
        )
        # The app feed stopped five hours ago; `where: source = 'web'` keeps it out.
        con.execute("INSERT INTO web.events VALUES (?, 'app', 'tap')", [n - timedelta(hours=5)])
        con.execute("CREATE TABLE finance.invoices (created_ms BIGINT, amount DOUBLE)")
        con.execute(
            "INSERT INTO finance.invoices VALUES (?, 250.0), (?, 80.0)",
            [_ms(now - timedelta(hours=3)), _ms(now - timedelta(minutes=50))],
        )
        con.execute("CREATE TABLE marketing.campaign_stats (campaign VARCHAR, loaded_at VARCHAR)")
        con.execute(
            "INSERT INTO marketing.campaign_stats VALUES ('winter-sale', ?), ('brand', ?)",
            [_iso(now - timedelta(hours=54)), _iso(now - timedelta(hours=30))],
        )
        con.execute(
            "CREATE TABLE ops.job_runs (job VARCHAR, status VARCHAR, finished_at TIMESTAMP)"
        )
        runs = [
            ("export_orders", "success", n - timedelta(hours=2, minutes=5)),
            ("export_orders", "success", n - timedelta(hours=1, minutes=5)),
            ("export_orders", "failed", n - timedelta(minutes=5)),
            ("export_orders", "running", n - timedelta(minutes=1)),
            ("nightly_rollup", "success", n - timedelta(hours=50)),
            ("nightly_rollup", "failed", n - timedelta(hours=26)),
            ("nightly_rollup", "error", n - timedelta(hours=2)),
        ]
        con.executemany("INSERT INTO ops.job_runs VALUES (?, ?, ?)", runs)


class _connect:
    """A short read-write DuckDB connection, retried while a reader holds the file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._con: Any = None

    def __enter__(self) -> Any:
        import duckdb

        for attempt in range(50):
            try:
                self._con = duckdb.connect(str(self._path), config=dict(NO_EXTENSIONS))
                break
            except duckdb.IOException:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        self._con.execute("SET TimeZone = 'UTC'")
        return self._con

    def __exit__(self, *exc: object) -> None:
        self._con.close()


def _drop_file(folder: Path, when: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"feed_{when:%Y%m%dT%H%M%S}.csv"
    path.write_text(f"id,received_at\n1,{_iso(when)}\n", encoding="utf-8")
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ms(moment: datetime) -> int:
    return int(_utc(moment).timestamp() * 1000)


def _iso(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
