"""table+column and query sources on a real MariaDB (read-only session, per-query timeout)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.settings import Warehouse
from tests.integration.sql_helpers import query, read, settings, table, utc


@pytest.fixture(scope="module")
def maria(mariadb_url: str) -> Iterator[str]:
    """A database `fresh_sql` on the session's MariaDB, one table per column type."""
    import pymysql

    port = int(mariadb_url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    con = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    with con.cursor() as cur:
        for sql in [
            "DROP DATABASE IF EXISTS fresh_sql",
            "CREATE DATABASE fresh_sql",
            "USE fresh_sql",
            "CREATE TABLE orders (id INT, source VARCHAR(10), loaded_at DATETIME(6))",
            "INSERT INTO orders VALUES (1, 'web', '2026-11-27 09:00:00.123456'),"
            " (2, 'pos', '2026-11-27 11:00:00')",
            "CREATE TABLE days (d DATE)",
            "INSERT INTO days VALUES ('2026-11-25'), ('2026-11-26')",
            "CREATE TABLE epochs (s BIGINT, ms BIGINT)",
            "INSERT INTO epochs VALUES (1782907200, 1782907200123), (1, 1)",
            "CREATE TABLE iso (v VARCHAR(40))",
            "INSERT INTO iso VALUES ('2026-07-01T08:00:00Z'), ('2026-07-01T07:00:00Z')",
            "CREATE TABLE stamps (at TIMESTAMP(6) NULL)",
            "SET time_zone = '+00:00'",
            "INSERT INTO stamps VALUES ('2026-11-27 10:15:00')",
            "CREATE TABLE empty (at DATETIME)",
        ]:
            cur.execute(sql)
    con.close()
    yield mariadb_url.rsplit("/", 1)[0] + "/fresh_sql"


def test_mariadb_column_types_where_and_query(maria: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url=maria))
    got = read(
        [
            table("dt", "orders", "loaded_at"),
            table("web", "orders", "loaded_at", where="source = 'web'"),
            table("date", "days", "d"),
            table("epoch_s", "epochs", "s", column_format="epoch_s"),
            table("epoch_ms", "epochs", "ms", column_format="epoch_ms"),
            table("iso", "iso", "v"),
            table("stamp", "stamps", "at"),
            table("empty", "empty", "at"),
            table("missing", "nope", "at"),
            query("q", "SELECT max(loaded_at) FROM orders WHERE id = 2"),
        ],
        s,
    )
    assert {k: (r.error, r.last_update) for k, r in got.items() if k != "missing"} == {
        "dt": (None, utc(2026, 11, 27, 11)),
        "web": (None, utc(2026, 11, 27, 9, 0, 0, 123456)),
        "date": (None, utc(2026, 11, 26)),
        "epoch_s": (None, utc(2026, 7, 1, 12)),
        "epoch_ms": (None, utc(2026, 7, 1, 12, 0, 0, 123000)),
        "iso": (None, utc(2026, 7, 1, 8)),
        "stamp": (None, utc(2026, 11, 27, 10, 15)),
        "empty": (None, None),
        "q": (None, utc(2026, 11, 27, 11)),
    }
    assert got["missing"].error is not None and "nope" in got["missing"].error


def test_mariadb_refuses_writes_at_run_time(maria: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url=maria))
    got = read(
        [
            query("del", "SELECT 1; DELETE FROM orders"),
            query("ins", "INSERT INTO orders VALUES (3, 'x', NOW())"),
        ],
        s,
    )
    assert got["del"].error is not None and got["ins"].error is not None
    from monitor.sources.sql.alchemy import engine_for

    engine = engine_for(maria, Warehouse(url=maria), tmp_path)
    with engine.connect() as conn:
        with pytest.raises(Exception, match="READ ONLY"):
            conn.exec_driver_sql("DELETE FROM orders")
        assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 2


def test_a_slow_mariadb_query_is_stopped_at_the_timeout(maria: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url=maria, timeout=timedelta(seconds=1)))
    t0 = time.monotonic()
    got = read([query("slow", "SELECT max(loaded_at) FROM orders WHERE SLEEP(10) = 0")], s)
    assert got["slow"].error is not None and "timed out" in got["slow"].error
    assert time.monotonic() - t0 < 8
