"""The backfill of learned histories from SQL warehouses (SPEC 13) on real PostgreSQL,
MariaDB and SQLite: a first `fresh check --at` of a `learn` contract reads the distinct
minutes of its column (with `where`, cut at --at, naive values in the warehouse's zone) and
gives a learned verdict; the same contract with `backfill: false` is still learning; a
later check reads only what came after the coverage marker."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from monitor.core.models import Contract, Expectation, Learn, TableSource
from monitor.sources.sql.alchemy import dispose_engines
from monitor.sources.sql.backfill import minutes_sql
from tests.integration.learn_helpers import (
    AT,
    D,
    H,
    M,
    assert_learned,
    assert_learning,
    check,
    hourly,
    kept,
    project,
)

BERLIN = ZoneInfo("Europe/Berlin")
LOADS = hourly(AT - 10 * D, AT + D)  # rows after AT exist: --at must cut them
NOISE = hourly(AT - 2 * D, AT, minute=37)  # rows the `where` leaves out


def expected(until: datetime = AT) -> list[datetime]:
    return [t for t in LOADS if AT - 35 * D < t <= until]


CONTRACTS = """\
- {name: orders, table: shop.orders, column: loaded_at, where: "kind = 'load'", learn: true}
- name: orders_observed
  table: shop.orders
  column: loaded_at
  where: "kind = 'load'"
  learn: {backfill: false}
"""


@pytest.fixture(autouse=True)
def _engines() -> object:
    yield
    dispose_engines()  # each test's warehouse is gone after it


def test_postgresql_naive_column_in_the_warehouse_zone_with_where(
    pg_module_url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(pg_module_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA shop")
        conn.exec_driver_sql("CREATE TABLE shop.orders (kind text, loaded_at timestamp)")
        rows = [("load", t) for t in LOADS] + [("noise", t) for t in NOISE]
        conn.exec_driver_sql(
            "INSERT INTO shop.orders VALUES (%s, %s)",
            [(k, t.astimezone(BERLIN).replace(tzinfo=None)) for k, t in rows],
        )
    config = project(
        tmp_path,
        f'warehouses:\n  main: {{url: "{pg_module_url}", timezone: Europe/Berlin}}',
        CONTRACTS,
    )
    out = check(config, AT)
    assert_learned(out["orders"])
    assert_learning(out["orders_observed"])
    assert kept(config, "orders") == expected()  # the where, the zone and the cut at AT

    # The coverage marker: the rows already read may go; only what came after AT is read.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM shop.orders WHERE loaded_at <= %s",
            [(AT.astimezone(BERLIN).replace(tzinfo=None),)],
        )
        late = AT + H + 30 * M
        conn.exec_driver_sql(
            "INSERT INTO shop.orders VALUES ('load', %s)",
            [(late.astimezone(BERLIN).replace(tzinfo=None),)],
        )
    engine.dispose()
    out = check(config, AT + 2 * H)
    assert_learned(out["orders"])
    assert kept(config, "orders") == sorted([*expected(AT + 2 * H), late])


def test_mariadb_datetime_and_epoch_columns(mariadb_url: str, tmp_path: Path) -> None:
    import pymysql

    port = int(mariadb_url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    con = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    with con.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS fresh_learn")
        cur.execute("CREATE DATABASE fresh_learn")
        cur.execute("CREATE TABLE fresh_learn.orders (kind VARCHAR(8), loaded_at DATETIME(6))")
        cur.execute("CREATE TABLE fresh_learn.events (s BIGINT)")
        rows = [("load", t) for t in LOADS] + [("noise", t) for t in NOISE]
        cur.executemany(
            "INSERT INTO fresh_learn.orders VALUES (%s, %s)",
            [(k, t.replace(tzinfo=None)) for k, t in rows],
        )
        cur.executemany(
            "INSERT INTO fresh_learn.events VALUES (%s)",
            [(int(t.timestamp()) + 11,) for t in LOADS],  # 11 s into the minute
        )
    con.close()
    url = mariadb_url.rsplit("/", 1)[0] + "/fresh_learn"
    config = project(
        tmp_path,
        f'warehouses:\n  main: {{url: "{url}"}}',
        CONTRACTS.replace("shop.orders", "orders")
        + "- {name: events, table: events, column: s, column_format: epoch_s, learn: true}\n",
    )
    out = check(config, AT)
    assert_learned(out["orders"])
    assert_learned(out["events"])
    assert_learning(out["orders_observed"])
    assert kept(config, "orders") == expected()
    assert kept(config, "events") == expected()  # whole minutes


def test_sqlite_iso_text_in_the_warehouse_zone(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "wh.sqlite")
    db.execute("CREATE TABLE orders (kind TEXT, loaded_at TEXT)")
    rows = [("load", t) for t in LOADS] + [("noise", t) for t in NOISE]
    db.executemany(
        "INSERT INTO orders VALUES (?, ?)",
        [(k, t.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M:%S")) for k, t in rows],
    )
    db.commit()
    db.close()
    config = project(
        tmp_path,
        'warehouses:\n  main: {url: "sqlite:///wh.sqlite", timezone: Europe/Berlin}',
        CONTRACTS.replace("shop.orders", "orders"),
    )
    out = check(config, AT)
    assert_learned(out["orders"])
    assert_learning(out["orders_observed"])
    assert kept(config, "orders") == expected()


def _contract(column_format: str | None = None) -> Contract:
    return Contract(
        "c",
        "ops",
        "main",
        TableSource("db.orders", "loaded_at", "kind = 'load'", column_format),  # type: ignore[arg-type]
        Expectation(learn=Learn()),
    )


def _plain(part: str, was_quoted: bool) -> str:
    return part


@pytest.mark.parametrize(
    ("backend", "minute"),
    [
        ("snowflake", "DATE_TRUNC('minute', loaded_at)"),
        ("bigquery", "TIMESTAMP_TRUNC(CAST(loaded_at AS TIMESTAMP), MINUTE)"),
        ("mssql", "DATEADD(minute, DATEDIFF(minute, 0, loaded_at), 0)"),
        ("oracle", "TRUNC(loaded_at, 'MI')"),
        ("redshift", "DATE_TRUNC('minute', loaded_at)"),
    ],
)
def test_other_dialects_get_the_same_statement_in_their_words(backend: str, minute: str) -> None:
    sql = minutes_sql(_contract(), backend, _plain, AT - 35 * D, AT, "UTC")
    assert sql == (
        f"SELECT DISTINCT {minute} FROM db.orders WHERE (\n(kind = 'load') AND "
        "NOT (loaded_at <= CAST('2026-10-20 10:00:00.000000' AS TIMESTAMP)) AND "
        "(loaded_at <= CAST('2026-11-24 10:00:00.000000' AS TIMESTAMP))\n)"
    )
    epoch = minutes_sql(_contract("epoch_ms"), backend, _plain, AT - 35 * D, AT, "UTC")
    assert epoch.startswith("SELECT DISTINCT FLOOR(loaded_at / 60000) * 60000 FROM db.orders")
    assert f"loaded_at <= {AT.timestamp() * 1000:.3f}" in epoch
