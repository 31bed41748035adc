"""table+column and query sources on real SQLite files (through SQLAlchemy, read-only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.config.settings import Warehouse
from monitor.sources import explain_contract
from tests.integration.sql_helpers import query, read, settings, table, utc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE orders (id INTEGER, source TEXT, loaded_at TIMESTAMP);
        INSERT INTO orders VALUES
            (1, 'web', '2026-11-27 09:00:00.123456'),
            (2, 'pos', '2026-11-27 11:00:00');
        CREATE TABLE iso (at_utc TEXT);
        INSERT INTO iso VALUES ('2026-07-01T08:00:00Z'), ('2026-07-01T07:00:00Z');
        CREATE TABLE days (d DATE);
        INSERT INTO days VALUES ('2026-11-25'), ('2026-11-26');
        CREATE TABLE epochs (s INTEGER, ms INTEGER);
        INSERT INTO epochs VALUES (1782907200, 1782907200123), (1700000000, 1700000000000);
        CREATE TABLE empty (loaded_at TIMESTAMP);
        CREATE TABLE "select" ("from" TIMESTAMP);
        INSERT INTO "select" VALUES ('2026-01-02 03:04:05');
        """
    )
    con.commit()
    con.close()
    return path


def wh(path: Path, **kw: object) -> Warehouse:
    return Warehouse(url=f"sqlite:///{path.name}", **kw)  # type: ignore[arg-type]


def test_every_column_type_sqlite_has_reads_as_aware_utc(db: Path) -> None:
    s = settings(db.parent, main=wh(db))
    got = read(
        [
            table("ts", "orders", "loaded_at"),
            table("iso", "iso", "at_utc"),
            table("date", "days", "d"),
            table("epoch_s", "epochs", "s", column_format="epoch_s"),
            table("epoch_ms", "epochs", "ms", column_format="epoch_ms"),
            table("reserved", '"select"', "from"),
        ],
        s,
    )
    assert {k: (r.error, r.last_update) for k, r in got.items()} == {
        "ts": (None, utc(2026, 11, 27, 11)),
        "iso": (None, utc(2026, 7, 1, 8)),
        "date": (None, utc(2026, 11, 26)),
        "epoch_s": (None, utc(2026, 7, 1, 12)),
        "epoch_ms": (None, utc(2026, 7, 1, 12, 0, 0, 123000)),
        "reserved": (None, utc(2026, 1, 2, 3, 4, 5)),
    }


def test_naive_text_is_read_in_the_warehouse_timezone(db: Path) -> None:
    s = settings(db.parent, main=wh(db, timezone="America/New_York"))
    got = read([table("ts", "orders", "loaded_at"), table("iso", "iso", "at_utc")], s)
    assert got["ts"].last_update == utc(2026, 11, 27, 16)  # 11:00 EST
    assert got["iso"].last_update == utc(2026, 7, 1, 8)  # 'Z' says UTC


def test_where_and_query(db: Path) -> None:
    s = settings(db.parent, main=wh(db))
    got = read(
        [
            table("web", "orders", "loaded_at", where="source = 'web' AND id < 10"),
            table("like", "orders", "loaded_at", where="source LIKE 'p%'"),
            query("q", "SELECT max(loaded_at) FROM orders WHERE id = 1"),
        ],
        s,
    )
    assert got["web"].last_update == utc(2026, 11, 27, 9, 0, 0, 123456)
    assert got["like"].last_update == utc(2026, 11, 27, 11)
    assert got["q"].last_update == utc(2026, 11, 27, 9, 0, 0, 123456)


def test_an_empty_table_is_no_data(db: Path) -> None:
    got = read([table("e", "empty", "loaded_at")], settings(db.parent, main=wh(db)))
    assert (got["e"].last_update, got["e"].error) == (None, None)


def test_a_missing_table_or_column_fails_only_that_contract(db: Path) -> None:
    s = settings(db.parent, main=wh(db))
    got = read(
        [
            table("ok", "orders", "loaded_at"),
            table("no_table", "nope", "loaded_at"),
            table("no_column", "orders", "nope"),
            table("also_ok", "days", "d"),
        ],
        s,
    )
    assert got["ok"].error is None and got["also_ok"].error is None
    assert got["no_table"].error is not None and "no such table: nope" in got["no_table"].error
    assert got["no_column"].error is not None and "nope" in got["no_column"].error


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM orders RETURNING loaded_at",
        "SELECT 1; DELETE FROM orders",
        "WITH x AS (SELECT 1) DELETE FROM orders",
    ],
)
def test_a_query_that_writes_is_refused_at_run_time(db: Path, sql: str) -> None:
    got = read([query("w", sql)], settings(db.parent, main=wh(db)))
    assert got["w"].error is not None
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (2,)
    con.close()


def test_the_connection_itself_is_read_only(db: Path) -> None:
    from monitor.sources.sql.alchemy import engine_for

    engine = engine_for(f"sqlite:///{db}", Warehouse(url=f"sqlite:///{db}"), db.parent)
    with engine.connect() as conn, pytest.raises(Exception, match=r"readonly|read-only|query_only"):
        conn.exec_driver_sql("DELETE FROM orders")
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (2,)
    con.close()


def test_a_missing_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url="sqlite:///missing.db"))
    got = read([table("t", "x", "y")], s)
    assert got["t"].error is not None and "unable to open" in got["t"].error
    assert not (tmp_path / "missing.db").exists()


def test_explain_shows_dialect_quoting(db: Path) -> None:
    text = explain_contract(table("t", '"select"', "from"), settings(db.parent, main=wh(db)))
    assert 'SELECT max("from") FROM "select"' in text
