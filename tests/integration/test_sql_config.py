"""End to end from YAML: fresh.yml + checks/*.yml → load_project → read_contracts."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import duckdb
import psycopg

from monitor.config.loader import load_project
from monitor.sources import explain_contract, read_contracts
from tests.integration.sql_helpers import NOW, utc


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_contracts_from_yaml_read_every_warehouse(tmp_path: Path, pg_url: str) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        """
        CREATE SCHEMA raw_shopify;
        CREATE TABLE raw_shopify.orders (source VARCHAR, _loaded_at TIMESTAMP, ms BIGINT);
        INSERT INTO raw_shopify.orders VALUES
            ('web', '2026-11-27 09:00:00', 1782907200123), ('pos', '2026-11-27 10:00:00', 0);
        """
    )
    con.close()
    lite = sqlite3.connect(tmp_path / "ops.db")
    lite.executescript(
        "CREATE TABLE runs (finished_at TEXT); INSERT INTO runs VALUES ('2026-11-27T11:00:00Z');"
    )
    lite.commit()
    lite.close()
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS yaml_events (at timestamptz)")
        c.execute("TRUNCATE yaml_events")
        c.execute("INSERT INTO yaml_events VALUES ('2026-11-27 11:30:00+00')")
    pg_with_password = pg_url.replace("postgres@", "postgres:${PG_PASSWORD}@")

    write(
        tmp_path / "fresh.yml",
        f"""
        warehouses:
          main:
            url: duckdb:///warehouse.duckdb
            timezone: Europe/Berlin
          ops:
            url: sqlite:///ops.db
          analytics:
            url: {pg_with_password}
            timeout: 5s
        """,
    )
    write(
        tmp_path / "checks" / "shop.yml",
        """
        defaults:
          warehouse: main
          owner: ops-data-team
        contracts:
          - name: raw_shopify.orders
            table: raw_shopify.orders
            column: _loaded_at
            where: "source = 'web'"
            error_after: 1h
          - name: orders_ms
            table: raw_shopify.orders
            column: ms
            column_format: epoch_ms
            error_after: 1h
          - name: newest_order
            query: "SELECT max(_loaded_at) FROM raw_shopify.orders"
            error_after: 1h
          - name: runs
            warehouse: ops
            table: runs
            column: finished_at
            error_after: 1h
          - name: events
            warehouse: analytics
            table: yaml_events
            column: at
            error_after: 1h
          - name: missing
            warehouse: analytics
            table: no_such_table
            column: at
            error_after: 1h
        """,
    )
    secret = "Yaml-S3cret-Pw"
    project = load_project(cwd=tmp_path, env={"PG_PASSWORD": secret})
    got = read_contracts(project.contracts, project.settings, NOW)

    assert got["raw_shopify.orders"].last_update == utc(2026, 11, 27, 8)  # 09:00 in Berlin
    assert got["orders_ms"].last_update == utc(2026, 7, 1, 12, 0, 0, 123000)
    assert got["newest_order"].last_update == utc(2026, 11, 27, 9)
    assert got["runs"].last_update == utc(2026, 11, 27, 11)
    assert got["events"].last_update == utc(2026, 11, 27, 11, 30)
    assert got["missing"].error is not None and "no_such_table" in got["missing"].error
    assert all(secret not in (r.error or "") for r in got.values())

    by_name = project.by_name()
    text = explain_contract(by_name["events"], project.settings)
    assert "FROM yaml_events" in text and secret not in text and "***" in text
