"""A small real project for the `fresh check` tests: fresh.yml, checks/shop.yml and a DuckDB
file whose tables are fresh, warn, stale and missing as of AT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

AT = "2026-11-24T10:00:00Z"
AT_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
owners:
  ops-data-team: {notify: []}
  finance-analytics: {notify: []}
"""

SHOP_YML = """\
defaults:
  warehouse: main
  owner: ops-data-team
  tags: [shop]

contracts:
  - name: shop.orders
    severity: critical
    tags: [revenue]
    metadata: {pii: false, runbook: "https://wiki.example.com/orders"}
    table: shop.orders
    column: loaded_at
    warn_after: 20m
    error_after: 1h

  - name: shop.payments
    table: shop.payments
    column: loaded_at
    warn_after: 20m
    error_after: 1h

  - name: shop.refunds
    owner: finance-analytics
    table: shop.refunds
    column: loaded_at
    warn_after: 20m
    error_after: 1h

  - name: shop.missing
    owner: finance-analytics
    tags: [broken]
    table: shop.no_such_table
    column: loaded_at
    error_after: 1h
"""


def make_project(root: Path, extra_contracts: int = 0) -> Path:
    """Write the project under `root`; returns the path of fresh.yml.

    As of AT: orders fresh (5 min old), payments warn (30 min), refunds stale (2 h),
    missing error (no such table). `extra_contracts` adds that many fresh contracts on
    one more table, for the progress-bar and scale tests.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "fresh.yml").write_text(FRESH_YML)
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "shop.yml").write_text(SHOP_YML)
    if extra_contracts:
        lines = ["defaults: {owner: ops-data-team}", "contracts:"]
        for i in range(extra_contracts):
            lines += [
                f"  - name: bulk.t{i:04d}",
                "    table: shop.orders",
                "    column: loaded_at",
                "    warn_after: 20m",
                "    error_after: 1h",
            ]
        (root / "checks" / "bulk.yml").write_text("\n".join(lines) + "\n")
    at = AT_TIME.replace(tzinfo=None)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        con.execute("CREATE SCHEMA shop")
        for table, age in (("orders", 5), ("payments", 30), ("refunds", 120)):
            con.execute(f"CREATE TABLE shop.{table} (id INTEGER, loaded_at TIMESTAMP)")
            con.execute(
                f"INSERT INTO shop.{table} VALUES (1, ?), (2, ?)",
                [at - timedelta(minutes=age + 60), at - timedelta(minutes=age)],
            )
    finally:
        con.close()
    return root / "fresh.yml"
